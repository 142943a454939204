"""What every history backend does: keep a group's events in order and give back those
after a position, or say why it cannot.

The contract, which tests/test_history_store.py holds every backend to:

* ``append`` gives each event of a group the next offset of the group's stream; offsets
  start at 1 in every epoch and have no holes.
* ``since`` never returns a partial replay. Either every event after the position is
  still kept and they come back, oldest first, or the answer is ``Unrecoverable`` with
  the reason: the position is from another epoch (the stream was lost and started
  again), or events after it were trimmed (by size or by age).
* Losing the stored state (a restart, a flushed or evicted key) starts a new epoch.
* A backend that cannot be reached raises ``HistoryUnavailable`` from ``append`` and
  ``top``, and answers ``since`` with ``Unrecoverable(UNAVAILABLE)``.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

import attrs

__all__ = [
    "EPOCH_CHANGED",
    "TOO_OLD",
    "UNAVAILABLE",
    "Entry",
    "HistoryStore",
    "HistoryUnavailable",
    "Missed",
    "Position",
    "Retention",
    "Unrecoverable",
]

# Why a replay is impossible; these strings reach clients (docs/protocol.md).
EPOCH_CHANGED: Final = "epoch_changed"  # the stream was lost and started again
TOO_OLD: Final = "too_old"  # events after the position were trimmed (size or age)
UNAVAILABLE: Final = "unavailable"  # the backend cannot be reached


@attrs.frozen
class Retention:
    """How much of a group's stream is kept: at most ``size`` events, none older than
    ``ttl`` seconds. Both are hard bounds on the memory (or Redis) a group uses."""

    size: int
    ttl: float


@attrs.frozen
class Position:
    """A place in a group's stream: the offset of an event (0: before the first) in the
    stream named ``epoch``."""

    epoch: str
    offset: int


@attrs.frozen
class Entry:
    """One kept event: its offset and the layer message as it was group-sent."""

    offset: int
    message: dict[str, Any]


@attrs.frozen
class Missed:
    """Every kept event after the asked position, oldest first, and the stream's newest
    position when they were read."""

    entries: tuple[Entry, ...]
    top: Position


@attrs.frozen
class Unrecoverable:
    """Why the events after a position cannot be given back (``EPOCH_CHANGED``,
    ``TOO_OLD`` or ``UNAVAILABLE``), and the stream's newest position if it is known."""

    reason: str
    top: Position | None = None


class HistoryUnavailable(Exception):
    """The history backend cannot be reached (for Redis: a connection or timeout error)."""


class HistoryStore(Protocol):
    """Where the streams of a process's (or a deployment's) groups are kept."""

    async def append(self, group: str, message: dict[str, Any], retention: Retention) -> Position:
        """Keep ``message`` as the group's next event and return its position; trims the
        stream to ``retention``. Starts a new epoch when the group has no stream."""
        ...

    async def top(self, group: str, retention: Retention) -> Position:
        """The group's epoch and the offset of its newest event (0 when it has none),
        starting a new epoch when the group has no stream: where a socket that joins now
        starts."""
        ...

    async def since(
        self, group: str, after: Position, retention: Retention
    ) -> Missed | Unrecoverable:
        """The kept events after ``after`` (none when it is the newest), or why they
        cannot be given back; never a part of them."""
        ...
