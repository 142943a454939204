"""Event names, and the app-wide events of ``App.events`` -> ``EventIR``.

An app event is declared once, on the App; a consumer whose clients receive it lists it
in its ``sends`` with the same payload, and every consumer gets its group send helper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import naming
from ..hints import python_kind
from ..ir import EventIR
from ..spec import App, Location
from .context import AppContext
from .handlers import member_name_ok
from .payloads import PayloadChecks
from .reserved import CONSUMER_ATTRIBUTES

__all__ = ["app_events", "event_name_ok", "unreceived_events"]


def event_name_ok(context: AppContext, name: Any, at: Location, path: str) -> bool:
    """An event name: a valid member name whose send helpers hide no consumer method."""
    if not member_name_ok(context, name, "event", at, path):
        return False
    clash = {f"send_{name}", f"group_send_{name}"} & CONSUMER_ATTRIBUTES
    if clash:
        context.error(
            at,
            path,
            f"event {name!r} would generate {min(clash)}(), a method every consumer has",
            "choose another event name",
        )
        return False
    return True


def app_events(context: AppContext, payloads: PayloadChecks, app: App) -> dict[str, EventIR]:
    """The app's events by name, each checked; refused ones are left out."""
    events = app.events
    if not isinstance(events, Mapping):
        message = f"events must map event names to @payload classes, got {python_kind(events)}"
        context.error(app.defined_at, "$.events", message, 'e.g. events={"tick": Tick}')
        return {}
    found: dict[str, EventIR] = {}
    for name, cls in events.items():
        path = f"$.events[{naming.py_str(str(name))}]"
        if not event_name_ok(context, name, app.defined_at, path):
            continue
        ref = payloads.ref(cls, app.defined_at, path)
        if ref is not None:
            found[name] = EventIR(name, ref, app_wide=True)
    return found


def unreceived_events(
    context: AppContext, app: App, events: Mapping[str, EventIR], received: set[str]
) -> None:
    """An app event no consumer lists in its ``sends`` would reach no client: refused."""
    for name in sorted(set(events) - received):
        payload = events[name].payload
        context.error(
            app.defined_at,
            f"$.events[{naming.py_str(name)}]",
            f"no consumer lists app event {name!r} in its sends, so no client would receive it",
            f'add "{name}": {payload} to the sends of the consumers whose clients receive it',
        )
