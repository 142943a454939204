"""Which consumers keep an app event, and sending an app event that is kept.

A consumer's group events are kept in its own stream per group (``retention``). An app
event (``chgen.runtime.delivery.appevents``) reaches every member whose consumer lists
it, so it belongs in the stream of each such consumer that keeps history for the group:
a recovering socket then replays one ordered stream per consumer and group, the app
events in their place among the consumer's own events.

``AppEventHistory`` is that table, event -> the consumers listing it that keep history,
with their rules; the router builds it from the consumer classes it serves and gives it
to its sockets and workers. The sender appends the event to each of those streams, then
sends it once, with every position (``"kept": {consumer: [epoch, offset]}``); each
member's consumer adds its own ``pos`` as it delivers it. Events to groups that no
listing consumer keeps go out as before, at no cost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from .delivery import KEPT
from .history import HistoryStore, HistoryUnavailable, Retention
from .layers import LayerUnavailable
from .retention import HistoryRules, stream_key

__all__ = ["AppEventHistory", "send_kept_app_event"]

GroupSend = Callable[[str, dict[str, Any]], Awaitable[None]]


class AppEventHistory:
    """App event -> the consumers that list it and keep history, with their rules."""

    __slots__ = ("_keepers",)

    def __init__(self, keepers: Mapping[str, Iterable[tuple[str, HistoryRules]]]) -> None:
        self._keepers = {event: tuple(found) for event, found in keepers.items() if found}

    @classmethod
    def of(cls, consumers: Iterable[type[Any]]) -> AppEventHistory:
        """The table of ``consumers`` (consumer classes; their ``app_events`` and
        ``history_rules``). Several classes of one consumer name share its streams: the
        first one that keeps history speaks for the name."""
        keepers: dict[str, dict[str, HistoryRules]] = {}
        for consumer in consumers:
            rules = getattr(consumer, "history_rules", None)
            if rules is None:
                continue
            for event in sorted(getattr(consumer, "app_events", ())):
                keepers.setdefault(event, {}).setdefault(consumer.consumer_name, rules)
        return cls({event: tuple(found.items()) for event, found in keepers.items()})

    def __bool__(self) -> bool:
        return bool(self._keepers)

    def events(self) -> list[str]:
        """The app events some consumer keeps."""
        return sorted(self._keepers)

    def keepers(self, event: str, group: str) -> list[tuple[str, Retention]]:
        """The consumers that keep ``event`` sent to ``group``, with the retention each
        keeps it under; empty when none does."""
        found = self._keepers.get(event)
        if found is None:
            return []
        kept = []
        for name, rules in found:
            retention = rules(group)
            if retention is not None:
                kept.append((name, retention))
        return kept


async def send_kept_app_event(
    store: HistoryStore | None,
    group_send: GroupSend,
    group: str,
    message: dict[str, Any],
    keepers: list[tuple[str, Retention]],
) -> None:
    """Append an app event (its layer message) to the stream of each consumer in
    ``keepers``, then send it once with the position it got in each. Raises
    LayerUnavailable when the store or the layer failed: then no member gets it."""
    if store is None:
        raise LayerUnavailable("group history: the sender has no history store")
    kept = {"frame": message["frame"]}  # all a replay needs, as for a consumer's own
    positions: dict[str, list[Any]] = {}
    for name, retention in keepers:
        try:
            position = await store.append(stream_key(name, group), kept, retention)
        except HistoryUnavailable as exc:
            raise LayerUnavailable(f"group history unavailable: {exc}") from exc
        positions[name] = [position.epoch, position.offset]
    message[KEPT] = positions
    await group_send(group, message)
