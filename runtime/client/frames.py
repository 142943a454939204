"""The client's side of wire protocol v1, without I/O: frames out, frames in.

``message_text`` writes a message (wrapped in its stream's envelope when multiplexed);
``read_frame`` tells what a frame from the server is: a reply, an error, an event or a gap
report, and for which stream. The connection (``connection``) feeds it the socket's text
and acts on what it returns; the tests need no socket.
"""

from __future__ import annotations

from typing import Any, Final

import attrs
import orjson

from ..protocol import GAP, Detail, MessageId, encode_json, wrap
from .errors import ChgenError, ChgenGap, GapReason

__all__ = [
    "ErrorReport",
    "Event",
    "GapReport",
    "Incoming",
    "RecoveryReport",
    "Reply",
    "Unreadable",
    "message_text",
    "read_frame",
]


def message_text(stream: str | None, msg_type: str, data: Any, msg_id: int | None) -> str:
    """The text of one message; ``data`` is already in its wire form."""
    frame: dict[str, Any] = {"type": msg_type, "data": data}
    if msg_id is not None:
        frame["id"] = msg_id
    return encode_json(frame if stream is None else wrap(stream, frame))


@attrs.frozen
class Reply:
    """The answer to the request ``id``."""

    stream: str | None
    type: str
    id: MessageId
    data: Any


@attrs.frozen
class ErrorReport:
    """An error frame: it answers a request when ``error.id`` is set. ``wrapped`` is False
    for an error outside any stream's envelope on a multiplexed socket (``bad_json``,
    ``unknown_stream``): the connection's, not a stream's."""

    error: ChgenError
    wrapped: bool


@attrs.frozen
class Event:
    stream: str | None
    type: str
    data: Any
    pos: Any = None  # [group, epoch, offset] of an event of a group with history


@attrs.frozen
class RecoveryReport:
    """What became of the events missed while away (its ``recovery`` object, as sent):
    a stream's, or, unwrapped (``stream`` None), the whole socket's."""

    stream: str | None
    body: Any


@attrs.frozen
class GapReport:
    gap: ChgenGap


@attrs.frozen
class Unreadable:
    """A frame that is not protocol v1: reported as ``bad_response``."""

    stream: str | None


Incoming = Reply | ErrorReport | Event | GapReport | RecoveryReport | Unreadable

_REASONS: Final[frozenset[str]] = frozenset({"lost", "outage", "slow"})


def read_frame(text: str | bytes, multiplexed: bool) -> Incoming:
    """What a frame from the server says. The server is trusted to speak the protocol, but
    a frame that does not is reported, never raised."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return Unreadable(None)
    stream: str | None = None
    wrapped = True
    if multiplexed and type(frame) is dict:
        if "stream" in frame:
            stream = frame["stream"]
            if type(stream) is not str:
                return Unreadable(None)
            frame = frame.get("payload")
        else:
            wrapped = False
    if type(frame) is not dict or type(frame.get("type")) is not str:
        return Unreadable(stream)
    msg_type: str = frame["type"]
    msg_id = frame.get("id")
    if msg_id is not None and type(msg_id) is not int and type(msg_id) is not str:
        return Unreadable(stream)
    if msg_type == "error":
        return ErrorReport(server_error(frame.get("error"), stream, msg_id), wrapped)
    if msg_type == GAP:
        return GapReport(_gap(frame.get("gap"), stream))
    if msg_type == "recovery":
        return RecoveryReport(stream, frame.get("recovery"))
    if msg_id is not None:
        return Reply(stream, msg_type, msg_id, frame.get("data"))
    return Event(stream, msg_type, frame.get("data"), frame.get("pos"))


def server_error(error: Any, stream: str | None, msg_id: MessageId | None) -> ChgenError:
    """The ChgenError of an error frame's ``error`` object (any JSON)."""
    error = error if type(error) is dict else {}
    retry = error.get("retry_after_ms")
    retry_after = retry / 1000 if type(retry) in (int, float) else None
    return ChgenError(
        str(error.get("code")),
        str(error.get("message")),
        _details(error.get("details")),
        stream,
        msg_id,
        retry_after=retry_after,
    )


def _details(details: Any) -> tuple[Detail, ...]:
    if type(details) is not list:
        return ()
    return tuple(
        Detail(str(d.get("path")), str(d.get("message"))) for d in details if type(d) is dict
    )


def _gap(gap: Any, stream: str | None) -> ChgenGap:
    gap = gap if type(gap) is dict else {}
    lost = gap.get("lost")
    reason = gap.get("reason")
    # An unknown reason from a newer server still reaches the user as a loss.
    known: GapReason = reason if reason in _REASONS else "lost"
    return ChgenGap(stream, lost if type(lost) is int else None, known)
