"""Recovery after a reconnect, the client's side (docs/protocol.md, "Recovery"), without I/O.

The client keeps, per stream and group, the position (epoch, offset) of the last event it
saw of every group with history, and presents them when it reconnects, in the ``recover``
query parameter. The server replays what the socket missed, then says per stream, and for
the whole socket, whether it recovered: a ``ChgenRecovery``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

import attrs
import orjson

__all__ = ["ChgenGroupRecovery", "ChgenRecovery", "Positions", "read_recovery"]

# The longest token the server reads; a longer one would be refused as a whole, so the
# client then presents none (every group starts again, as after a refusal).
TOKEN_LIMIT: Final = 4096

# How many offsets of one group a socket remembers beyond the last unbroken run, waiting
# for a lower one sent by another server process (a few ms late at most).
AHEAD: Final = 64


@attrs.frozen
class ChgenGroupRecovery:
    """What became of one group's position when the socket (re)connected."""

    #: Every event after the presented position was replayed.
    recovered: bool
    #: Why not: ``new`` (no position presented), ``epoch_changed``, ``too_old``,
    #: ``unavailable``, ``history_off``; None when recovered.
    reason: str | None = None
    #: How many events were replayed, when recovered.
    replayed: int | None = None
    #: The position the socket is at now; None when the store could not be reached.
    epoch: str | None = None
    offset: int | None = None


@attrs.frozen
class ChgenRecovery:
    """What became of the events a stream (or the whole socket) missed while away, told
    once per connection after its replayed events reached their listeners. Not
    ``recovered``: resynchronise the state (a first connect never is)."""

    #: The stream; None for the whole socket (or an unmultiplexed socket).
    stream: str | None
    recovered: bool
    #: Per group; empty for the whole socket of a multiplexed connection.
    groups: Mapping[str, ChgenGroupRecovery] = attrs.field(factory=dict)


def read_recovery(body: Any, stream: str | None) -> tuple[ChgenRecovery, dict[str, Any]]:
    """The recovery a frame's ``recovery`` object says, and its groups as sent."""
    body = body if type(body) is dict else {}
    groups = body.get("groups")
    groups = groups if type(groups) is dict else {}
    told = {
        str(group): ChgenGroupRecovery(
            bool(entry.get("recovered")),
            entry.get("reason") if type(entry.get("reason")) is str else None,
            entry.get("replayed") if type(entry.get("replayed")) is int else None,
            entry.get("epoch") if type(entry.get("epoch")) is str else None,
            entry.get("offset") if type(entry.get("offset")) is int else None,
        )
        for group, entry in groups.items()
        if type(entry) is dict
    }
    return ChgenRecovery(stream, bool(body.get("recovered")), told), groups


class Positions:
    """Where the socket is in each stream of each group with history, per stream ("" on a
    socket served by one consumer), as the ``recover`` token carries them.

    A position is the last offset of an unbroken run from the start: the offset the
    token presents, after which the server replays. Two server processes may send a
    group's events a few ms out of offset order; one that arrives ahead of a lower one is
    remembered beside the run (at most ``AHEAD`` of them), so that a drop before the lower
    one arrives replays it rather than skipping it, and the replay's copy of the one
    already seen is dropped (docs/recovery.md, "Order across server processes").
    """

    def __init__(self) -> None:
        self._streams: dict[str, dict[str, tuple[str, int]]] = {}
        # stream -> group -> the offsets seen beyond the run, while a lower one is missing
        self._ahead: dict[str, dict[str, set[int]]] = {}
        # the streams the last token named: they get what they missed first, up to their
        # recovery frame
        self._replaying: set[str] = set()

    def seen(self, stream: str | None, pos: Any) -> bool:
        """An event's ``pos``, ``[group, epoch, offset]``: whether the event is new (its
        listeners get it) rather than a replayed copy of one the socket already has."""
        if not (type(pos) is list and len(pos) == 3):
            return True
        group, epoch, offset = pos
        if not (type(group) is str and type(epoch) is str and type(offset) is int):
            return True
        groups = self._streams.setdefault(stream or "", {})
        ahead = self._ahead.setdefault(stream or "", {})
        last = groups.get(group)
        if last is None or last[0] != epoch:
            groups[group] = (epoch, offset)
            ahead.pop(group, None)
            return True
        run = last[1]
        if offset <= run:
            # In a replay, a copy of an event seen ahead, since filled in; else an event
            # sent while the socket joined, held while the server told it where it is
            # (docs/protocol.md, "The recovery frames").
            return (stream or "") not in self._replaying
        beyond = ahead.setdefault(group, set())
        if offset in beyond:
            return False
        beyond.add(offset)
        if len(beyond) > AHEAD:
            # A hole that old is no reordering: give up on it rather than grow.
            run = min(beyond) - 1
        while run + 1 in beyond:
            run += 1
            beyond.discard(run)
        groups[group] = (epoch, run)
        return True

    def told(self, stream: str | None, groups: Mapping[str, Any]) -> None:
        """A stream's recovery frame: each group's new position, or, where the server
        gave none (its store was unavailable), the old one, kept for the next try."""
        old = self._streams.get(stream or "", {})
        old_ahead = self._ahead.get(stream or "", {})
        now: dict[str, tuple[str, int]] = {}
        ahead: dict[str, set[int]] = {}
        for group, entry in groups.items():
            epoch = entry.get("epoch") if type(entry) is dict else None
            offset = entry.get("offset") if type(entry) is dict else None
            if type(epoch) is str and type(offset) is int:
                # Every event up to it was replayed or is behind: nothing is missing below.
                now[group] = (epoch, offset)
            elif group in old:
                now[group] = old[group]
                if group in old_ahead:
                    ahead[group] = old_ahead[group]
        self._streams[stream or ""] = now
        self._ahead[stream or ""] = ahead
        self._replaying.discard(stream or "")

    def query(self) -> str:
        """The ``recover`` query parameter of a (re)connect: empty without positions, else
        ``1.`` and the base64 of their JSON; empty too when that would be longer than the
        server reads. The streams it names get what they missed first, up to their
        recovery frame."""
        token = self._token()
        self._replaying = set(self._streams) if token else set()
        return "recover=" + token

    def _token(self) -> str:
        if not any(self._streams.values()):
            return ""
        data = {
            stream: {g: list(p) for g, p in groups.items()}
            for stream, groups in self._streams.items()
        }
        token = "1." + base64.b64encode(orjson.dumps(data)).decode()
        return quote(token, safe="") if len(token) <= TOKEN_LIMIT else ""
