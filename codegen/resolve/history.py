"""A consumer's ``history`` -> the ``group_history`` rules of its generated class.

``History(size, ttl)`` keeps every group the consumer sends to; a mapping keeps the
groups of some of its ``connection_groups`` templates. Both bounds are checked here, so
that what reaches the runtime is a hard bound on a stream's memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .. import naming
from ..hints import did_you_mean, python_kind
from ..ir import Option
from ..spec import History, JsonWebsocketConsumer
from .context import AppContext

__all__ = ["MAX_SIZE", "MAX_TTL", "history_option"]

# The most events and seconds a group's stream may keep: a day of reconnects, and what a
# client could be sent in one replay.
MAX_SIZE: Final = 100_000
MAX_TTL: Final = 86_400.0
_EXAMPLE: Final = "write History(size=200, ttl=120)"


def history_option(context: AppContext, spec: JsonWebsocketConsumer) -> list[Option]:
    """``[("group_history", rules)]`` for a consumer with history, else ``[]``; every
    problem is reported to ``context``."""
    history: Any = spec.history
    if history is None:
        return []
    if isinstance(history, History):
        rule = _rule(context, spec, None, history, "$.history")
        return [] if rule is None else [("group_history", (rule,))]
    if not isinstance(history, Mapping):
        message = (
            "history must be a History, a mapping of connection_groups templates to "
            f"History, or None; got {python_kind(history)}"
        )
        context.error(spec.defined_at, "$.history", message, _EXAMPLE)
        return []
    rules = []
    for template, kept in history.items():
        path = f"$.history[{naming.py_str(str(template))}]"
        if template not in spec.connection_groups:
            known = [t for t in spec.connection_groups if isinstance(t, str)]
            hint = did_you_mean(str(template), known) or (
                f"use one of the consumer's connection_groups: {', '.join(map(repr, known))}"
                if known
                else "add the template to connection_groups first"
            )
            message = f"{template!r} is not one of the consumer's connection_groups templates"
            context.error(spec.defined_at, path, message, hint)
            continue
        rule = _rule(context, spec, template, kept, path)
        if rule is not None:
            rules.append(rule)
    # In the order of connection_groups: the first template a group matches decides.
    order: dict[str | None, int] = {t: i for i, t in enumerate(spec.connection_groups)}
    rules.sort(key=lambda r: order[r[0]])
    return [("group_history", tuple(rules))] if rules else []


def _rule(
    context: AppContext,
    spec: JsonWebsocketConsumer,
    template: str | None,
    kept: Any,
    path: str,
) -> tuple[str | None, int, float] | None:
    if not isinstance(kept, History):
        message = f"history is kept as History(size, ttl), got {python_kind(kept)}"
        context.error(spec.defined_at, path, message, _EXAMPLE)
        return None
    size, ttl, ok = kept.size, kept.ttl, True
    if type(size) is not int or not 1 <= size <= MAX_SIZE:
        message = f"size must be an int from 1 to {MAX_SIZE:,}, got {size!r}"
        context.error(spec.defined_at, f"{path}.size", message, "the events a group keeps")
        ok = False
    if type(ttl) not in (int, float) or not 0 < ttl <= MAX_TTL:
        message = f"ttl must be seconds above 0 and at most {MAX_TTL:,.0f}, got {ttl!r}"
        context.error(spec.defined_at, f"{path}.ttl", message, "how long a client may be away")
        ok = False
    return (template, size, float(ttl)) if ok else None
