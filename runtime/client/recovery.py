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
    """The last position seen of each group with history, per stream ("" on a socket
    served by one consumer), as the ``recover`` token carries them."""

    def __init__(self) -> None:
        self._streams: dict[str, dict[str, tuple[str, int]]] = {}

    def seen(self, stream: str | None, pos: Any) -> None:
        """An event's ``pos``, ``[group, epoch, offset]``: the stream is now there."""
        if type(pos) is list and len(pos) == 3:
            group, epoch, offset = pos
            if type(group) is str and type(epoch) is str and type(offset) is int:
                groups = self._streams.setdefault(stream or "", {})
                # The highest offset of an epoch: events the server held while it told
                # the socket where it is may follow with lower ones (docs/protocol.md).
                last = groups.get(group)
                if last is None or last[0] != epoch or last[1] < offset:
                    groups[group] = (epoch, offset)

    def told(self, stream: str | None, groups: Mapping[str, Any]) -> None:
        """A stream's recovery frame: each group's new position, or, where the server
        gave none (its store was unavailable), the old one, kept for the next try."""
        old = self._streams.get(stream or "", {})
        now: dict[str, tuple[str, int]] = {}
        for group, entry in groups.items():
            epoch = entry.get("epoch") if type(entry) is dict else None
            offset = entry.get("offset") if type(entry) is dict else None
            if type(epoch) is str and type(offset) is int:
                now[group] = (epoch, offset)
            elif group in old:
                now[group] = old[group]
        self._streams[stream or ""] = now

    def query(self) -> str:
        """The ``recover`` query parameter: empty without positions, else ``1.`` and the
        base64 of their JSON; empty too when that would be longer than the server reads."""
        if not any(self._streams.values()):
            return "recover="
        data = {
            stream: {g: list(p) for g, p in groups.items()}
            for stream, groups in self._streams.items()
        }
        token = "1." + base64.b64encode(orjson.dumps(data)).decode()
        return "recover=" + (quote(token, safe="") if len(token) <= TOKEN_LIMIT else "")
