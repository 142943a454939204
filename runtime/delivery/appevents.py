"""App events: group events of the app, not of one consumer, and those nobody took.

A group event names its ``source``: the consumer that sent it, whose members alone
receive it. An app event's source is its own name marked with ``@`` (``"@tick"``),
which no consumer name can be, so any consumer may send it and every member whose
consumer lists the event receives it, through the same forward tables and hooks as a
consumer's own events. A worker sends one too, straight to the layer.

A member whose consumers do not list the event ignores it. That is counted here, per
event, in this process (``ignored_app_events``), never logged per message: a group may
mix many sockets that do not care for an event with a few that do.

An app event kept in group history (``chgen.runtime.appretention``) carries ``KEPT``:
its position in the stream of each consumer that keeps it, which that consumer's members
add to the frame as they deliver it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final, Protocol

from ..history import Retention
from .forwarding import GROUP_EVENT

__all__ = [
    "APP_EVENT_MARK",
    "KEPT",
    "AppEventKeepers",
    "app_event_message",
    "app_event_source",
    "ignored",
    "ignored_app_events",
]

APP_EVENT_MARK: Final = "@"
# The key of a kept app event's layer message: consumer name -> [epoch, offset] in that
# consumer's stream of the group; None for a consumer whose socket had it already (a
# recovery's replay gave it).
KEPT: Final = "kept"

_ignored: Final[Counter[str]] = Counter()


class AppEventKeepers(Protocol):
    """Which consumers keep an app event sent to a group (``AppEventHistory``)."""

    def keepers(self, event: str, group: str) -> list[tuple[str, Retention]]:
        """(consumer name, retention) of each consumer that keeps ``event`` in ``group``."""
        ...


def app_event_source(event: str) -> str:
    """The ``source`` that app event ``event`` travels under."""
    return APP_EVENT_MARK + event


def app_event_message(group: str, event: str, frame_json: str) -> dict[str, Any]:
    """The layer message carrying app event ``event`` (its frame's JSON) to ``group``."""
    return {
        "type": GROUP_EVENT,
        "group": group,
        "source": app_event_source(event),
        "frame": frame_json,
    }


def ignored(source: object) -> None:
    """A group event from ``source`` reached a socket none of whose consumers take it:
    counted if it is an app event (a consumer's own events are for its members only)."""
    if type(source) is str and source[:1] == APP_EVENT_MARK:
        _ignored[source[1:]] += 1


def ignored_app_events() -> dict[str, int]:
    """App event -> how many times one reached a socket of this process whose consumers
    do not list it (one count per socket and event), since the process started."""
    return dict(_ignored)
