"""Group history: the recent events of a group, numbered, so that a socket that comes
back can be given exactly what it missed.

A group with history keeps its events in a stream: each event gets the next ``offset``
(1, 2, ...), and the stream has an ``epoch``, a name that changes whenever the stream
starts again from nothing (a restart of an in-process store, a flushed or evicted Redis
key). A position is therefore (epoch, offset), and a position from another epoch can
never be mistaken for one of this stream. Size and age are hard bounds: a stream keeps at
most ``Retention.size`` events, none older than ``Retention.ttl`` seconds.

``store`` says what every backend does (``HistoryStore``); the backends are separate
modules, so that a group without history, or an app without Redis, loads none of them.
"""

from .store import (
    EPOCH_CHANGED,
    TOO_OLD,
    UNAVAILABLE,
    Entry,
    HistoryStore,
    HistoryUnavailable,
    Missed,
    Position,
    Retention,
    Unrecoverable,
)

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
