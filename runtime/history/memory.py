"""Group history kept in this process: the store beside the in-memory layer.

Each group's stream is a deque of its kept events, oldest first, with the stream's epoch
(random, new for every stream, so a restarted process never reuses one) and the offset of
its newest event. Appending is O(1); ``since`` finds the first missed event by offset
arithmetic, since kept offsets have no holes.

Bounds. A stream keeps at most ``Retention.size`` events and none older than
``Retention.ttl`` seconds: trimmed on every append and read of the group, and, for
groups nobody touches, by a sweep (run on every call and by a timer) that empties a
stream once its newest event is older than its ttl. What is left of an idle stream is its
epoch and newest offset, kept ``meta_ttl`` seconds after the group was last used (so a
socket that saw the newest event of a quiet group can still recover, with nothing to
replay), then forgotten: a socket coming back after that is told the epoch changed.

Messages are kept as they were group-sent, by reference, as the in-memory layer hands
them to members: a sender must not change a message after sending it.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Final

from .store import EPOCH_CHANGED, TOO_OLD, Entry, Missed, Position, Retention, Unrecoverable

__all__ = ["META_TTL", "MemoryHistory", "new_epoch"]

# Seconds an idle stream's epoch and newest offset outlive its last use (as Centrifugo's
# history_meta_ttl): a few bytes a group, for sockets that come back to a quiet group.
META_TTL: Final = 3600.0
# The sweep timer waits at least this long between runs (seconds), to batch expiries.
_SWEEP_GRANULARITY: Final = 1.0


def new_epoch() -> str:
    """A fresh stream name: 64 random bits, so a restart never meets an old epoch."""
    return secrets.token_urlsafe(8)


class _Stream:
    """One group's kept events: (offset, expires at, message), oldest first."""

    __slots__ = ("epoch", "events", "top", "ttl")

    def __init__(self, ttl: float) -> None:
        self.epoch = new_epoch()
        self.top = 0  # offset of the newest event ever appended in this epoch
        self.ttl = ttl
        self.events: deque[tuple[int, float, dict[str, Any]]] = deque()

    def trim(self, size: int, now: float) -> None:
        events = self.events
        while len(events) > size:
            events.popleft()
        while events and events[0][1] <= now:
            events.popleft()

    def first(self) -> int:
        """The offset of the oldest kept event (top + 1 when none is kept)."""
        return self.events[0][0] if self.events else self.top + 1


class MemoryHistory:
    """A ``HistoryStore`` in this process's memory; one per layer, shared by its groups.

    ``clock`` gives seconds (monotonic); tests pass their own to age events.
    """

    def __init__(
        self, meta_ttl: float = META_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.meta_ttl = meta_ttl
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        # Groups with kept events, by ttl, in the order of their newest event: within
        # one ttl that is the order they expire in, so the sweep looks only at the fronts.
        self._holding: dict[float, OrderedDict[str, float]] = {}
        # Every group, in the order it was last used, with when its stream is forgotten.
        self._used: OrderedDict[str, float] = OrderedDict()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0
        self._next_due = math.inf  # nothing expires before this: the sweep can wait

    def __len__(self) -> int:
        """How many streams are known (kept events or only an epoch), for monitoring."""
        return len(self._streams)

    def kept(self, group: str | None = None) -> int:
        """How many events are kept for ``group`` (or over all groups), for monitoring."""
        if group is not None:
            stream = self._streams.get(group)
            return 0 if stream is None else len(stream.events)
        return sum(len(stream.events) for stream in self._streams.values())

    async def append(self, group: str, message: dict[str, Any], retention: Retention) -> Position:
        now = self._clock()
        self._sweep(now)
        stream = self._use(group, retention, now)
        stream.top += 1
        expires = now + retention.ttl
        stream.events.append((stream.top, expires, message))
        stream.trim(retention.size, now)
        holding = self._holding.get(retention.ttl)
        if holding is None:
            holding = self._holding[retention.ttl] = OrderedDict()
        holding[group] = expires
        holding.move_to_end(group)
        self._arm(expires)
        return Position(stream.epoch, stream.top)

    async def top(self, group: str, retention: Retention) -> Position:
        now = self._clock()
        self._sweep(now)
        stream = self._use(group, retention, now)
        return Position(stream.epoch, stream.top)

    async def since(
        self, group: str, after: Position, retention: Retention
    ) -> Missed | Unrecoverable:
        now = self._clock()
        self._sweep(now)
        stream = self._use(group, retention, now)
        stream.trim(retention.size, now)
        top = Position(stream.epoch, stream.top)
        if after.epoch != stream.epoch or not 0 <= after.offset <= stream.top:
            # An offset past the top cannot come from this epoch: treat it as another one.
            return Unrecoverable(EPOCH_CHANGED, top)
        if after.offset == stream.top:
            return Missed((), top)
        first = stream.first()
        if after.offset + 1 < first:
            return Unrecoverable(TOO_OLD, top)
        events = stream.events
        skip = after.offset + 1 - first
        return Missed(
            tuple(Entry(events[i][0], events[i][2]) for i in range(skip, len(events))), top
        )

    def _use(self, group: str, retention: Retention, now: float) -> _Stream:
        stream = self._streams.get(group)
        if stream is None:
            stream = self._streams[group] = _Stream(retention.ttl)
        elif stream.ttl != retention.ttl:
            self._move(group, stream, retention.ttl)
        forget = now + max(self.meta_ttl, retention.ttl)
        self._used[group] = forget
        self._used.move_to_end(group)
        self._arm(forget)
        return stream

    def _move(self, group: str, stream: _Stream, ttl: float) -> None:
        """The group's retention changed (a redeploy): file its events under the new ttl."""
        old = self._holding.get(stream.ttl)
        if old is not None:
            old.pop(group, None)
        stream.ttl = ttl
        stream.events.clear()  # their expiry was set by the old ttl; drop, not replay stale

    def _sweep(self, now: float) -> None:
        """Empty streams whose newest event expired; forget streams unused for meta_ttl."""
        if now < self._next_due:
            return
        for ttl, holding in tuple(self._holding.items()):
            while holding:
                group, expires = next(iter(holding.items()))
                if expires > now:
                    break
                del holding[group]
                stream = self._streams.get(group)
                if stream is not None:
                    stream.events.clear()
            if not holding:
                del self._holding[ttl]
        used = self._used
        while used:
            group, forget = next(iter(used.items()))
            if forget > now:
                break
            del used[group]
            stream = self._streams.pop(group, None)
            held = None if stream is None else self._holding.get(stream.ttl)
            if held is not None:
                held.pop(group, None)
        self._next_due = min(self._fronts(), default=math.inf)

    def _fronts(self) -> list[float]:
        """When the first of each ordering expires."""
        fronts = [next(iter(held.values())) for held in self._holding.values() if held]
        if self._used:
            fronts.append(next(iter(self._used.values())))
        return fronts

    def _arm(self, due: float) -> None:
        """Make sure a sweep runs by ``due`` even if no call comes before then."""
        if due < self._next_due:
            self._next_due = due
        if self._timer is not None and self._timer_due <= due + _SWEEP_GRANULARITY:
            return  # the armed sweep comes soon enough after ``due``
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - the store is used from async code
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = max(due - self._clock(), 0.0) + _SWEEP_GRANULARITY
        self._timer_due = due + _SWEEP_GRANULARITY
        self._timer = loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = self._clock()
        self._sweep(now)
        fronts = self._fronts()
        if fronts:
            self._arm(min(fronts))
