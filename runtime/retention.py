"""Which groups of a consumer keep history, and sending a group event that is kept.

A consumer's ``group_history`` (generated from the spec's ``history``) lists rules
``(template, size, ttl)``: the groups its ``connection_groups`` template makes, or every
group when the template is None. A kept group event is appended to the history store
first; it then goes out like any group event, its frame carrying its position
(``"pos"``, see ``chgen.runtime.positions``). Each consumer has its own stream per group,
so consumers sharing a group never trim each other's events.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from .delivery import Delivery
from .history import HistoryUnavailable, Retention
from .layers import LayerUnavailable
from .positions import with_position

__all__ = ["HistoryRules", "Rule", "send_kept", "stream_key"]

# (connection_groups template, or None for every group; size; ttl in seconds)
Rule = tuple[str | None, int, float]

# Group names remembered per consumer class, with the retention each one has.
_MEMO_LIMIT: Final = 4096
_PLACEHOLDER: Final = re.compile(r"\\\{[A-Za-z_][A-Za-z0-9_]*\\\}")


class HistoryRules:
    """The retention of a group a consumer sends to or joins, from its rules."""

    __slots__ = ("_every", "_memo", "_templates")

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._templates: list[tuple[re.Pattern[str], Retention]] = []
        self._every: Retention | None = None
        for template, size, ttl in rules:
            if template is None:
                self._every = Retention(size, ttl)
            else:
                self._templates.append((_matcher(template), Retention(size, ttl)))
        self._memo: dict[str, Retention | None] = {}

    def __call__(self, group: str) -> Retention | None:
        """The retention of ``group``: its template's first, else the consumer's."""
        try:
            return self._memo[group]
        except KeyError:
            pass
        found = next((r for m, r in self._templates if m.fullmatch(group)), self._every)
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[group] = found
        return found


def _matcher(template: str) -> re.Pattern[str]:
    """A pattern of the names ``template`` formats to: "room.{room}" -> room\\.(.+)."""
    return re.compile(_PLACEHOLDER.sub(lambda _: "(.+)", re.escape(template)))


def stream_key(source: str, group: str) -> str:
    """The name of ``source``'s stream in ``group``, as the history store knows it."""
    return f"{source}:{group}"


async def send_kept(
    delivery: Delivery, group: str, message: dict[str, Any], retention: Retention
) -> None:
    """Append a group event (a layer message with a ``frame``) to its stream, then send it
    with its position. Raises LayerUnavailable when the store or the layer failed: then
    no member gets it."""
    store = delivery.history
    if store is None:
        raise LayerUnavailable("group history: the router has no history store")
    frame = message["frame"]
    kept = {"frame": frame}  # all a replay needs; the source and group are in the key
    try:
        position = await store.append(stream_key(message["source"], group), kept, retention)
    except HistoryUnavailable as exc:
        raise LayerUnavailable(f"group history unavailable: {exc}") from exc
    if type(frame) is str and len(frame) > 2 and frame[-1] == "}":
        message["frame"] = with_position(frame, group, position.epoch, position.offset)
    message["epoch"] = position.epoch
    message["offset"] = position.offset
    await delivery.group_send(group, message)
