"""Wire protocol v1, without I/O: decoding frames, the stream envelope, error frames.

Everything here is synchronous and pure so it can be tested without an event loop;
the ASGI consumers are thin adapters that feed it text and send what it returns.
See docs/protocol.md for the contract clients rely on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

import attrs
import orjson

from .values import json_kind

__all__ = [
    "BAD_FRAME",
    "BAD_JSON",
    "FORBIDDEN",
    "INTERNAL",
    "INVALID",
    "QUOTE_LIMIT",
    "RATE_LIMITED",
    "UNAVAILABLE",
    "UNKNOWN_STREAM",
    "UNKNOWN_TYPE",
    "Detail",
    "Envelope",
    "JsonCodec",
    "Message",
    "MessageId",
    "ProtocolError",
    "bad_json",
    "binary_refused",
    "decode_json",
    "encode_json",
    "error_frame",
    "event_frame",
    "gap_frame",
    "parse_envelope",
    "parse_message",
    "quote",
    "rate_limited",
    "reply_frame",
    "salvage",
    "salvaged_id",
    "wrap",
]

BAD_JSON: Final = "bad_json"
BAD_FRAME: Final = "bad_frame"
UNKNOWN_STREAM: Final = "unknown_stream"
UNKNOWN_TYPE: Final = "unknown_type"
INVALID: Final = "invalid"
FORBIDDEN: Final = "forbidden"
INTERNAL: Final = "internal"
RATE_LIMITED: Final = "rate_limited"
UNAVAILABLE: Final = "unavailable"
# The type of the frame that tells a client that group events never reached it (a
# reserved message type, no error code).
GAP: Final = "gap"

# Characters of what a client sent that an error message quotes; longer input is cut and
# says so. An error frame never grows with the input that caused it.
QUOTE_LIMIT: Final = 64
# A second bound for every text of an error frame, whoever wrote it (a decoder, a
# validator, a handler's ProtocolError), and for how many details one frame lists.
_TEXT_LIMIT: Final = 512
_DETAILS_LIMIT: Final = 32

MessageId = str | int

_MESSAGE_KEYS: Final = frozenset({"type", "data", "id"})
_ENVELOPE_KEYS: Final = frozenset({"stream", "payload"})


@attrs.frozen
class Detail:
    """One problem inside a frame, located by a JSONPath such as ``$.data.text``."""

    path: str
    message: str


class ProtocolError(Exception):
    """A frame the runtime refuses; becomes an error frame, never a closed socket."""

    def __init__(
        self,
        code: str,
        message: str,
        details: tuple[Detail, ...] = (),
        id: MessageId | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """``extra``: more keys of the frame's ``error`` object (``retry_after_ms``)."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.id = id
        self.extra = extra

    def frame(self) -> dict[str, Any]:
        frame = error_frame(self.code, self.message, self.details, self.id)
        if self.extra:
            frame["error"].update(self.extra)
        return frame


# Named tuples, not attrs classes: one is built per message, and a tuple is the cheapest
# immutable record Python has.
class Message(NamedTuple):
    """A decoded client message: ``{"type": T, "data": {...}, "id": I?}``."""

    type: str
    data: Mapping[str, Any]
    id: MessageId | None
    raw: Mapping[str, Any]


class Envelope(NamedTuple):
    """The multiplexing envelope ``{"stream": S, "payload": <frame>}``."""

    stream: str
    payload: Any


def decode_json(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(BAD_JSON, f"frame is not valid JSON: {exc}") from None


def bad_json(exc: Exception) -> ProtocolError:
    """What a failing decoder (possibly a user's override) answers: ``bad_json``, unless
    it raised a ProtocolError of its own."""
    if isinstance(exc, ProtocolError):
        return exc
    return ProtocolError(BAD_JSON, f"frame is not valid JSON: {exc}")


def salvage(text: str) -> Any:
    """What a more lenient JSON reader makes of ``text`` that orjson refused, or None.

    orjson refuses some text that ``JSON.stringify`` writes (a lone surrogate such as
    ``"\\ud800"``). The frame stays refused, but its ``stream`` and ``id`` can still be
    read, so that the error reaches the right stream and settles the right request.
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def salvaged_id(content: Any) -> MessageId | None:
    """The id of a salvaged message, if it has a valid one."""
    msg_id = content.get("id") if type(content) is dict else None
    return msg_id if type(msg_id) is str or type(msg_id) is int else None


def quote(value: str, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for an error message, at most ``limit`` characters of it: a client
    must not be able to make the server send back more than it can bound."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... (cut: {len(value)} characters)"


def rate_limited(retry_after: float, msg_id: MessageId | None = None) -> ProtocolError:
    """The error that answers a message over its consumer's rate limit: the client may
    send again after ``retry_after`` seconds."""
    return ProtocolError(
        RATE_LIMITED,
        "too many messages; wait before sending again",
        id=msg_id,
        extra={"retry_after_ms": max(1, round(retry_after * 1000))},
    )


def encode_json(frame: Mapping[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def parse_message(frame: Any) -> Message:
    """Check the shape of a client message; raise ``bad_frame`` with details if wrong."""
    # The common, well-formed case in as few steps as possible; anything else takes the
    # careful path below, which says exactly what is wrong.
    if type(frame) is dict and frame.keys() <= _MESSAGE_KEYS:
        msg_type = frame.get("type")
        data = frame.get("data", _MISSING)
        if data is _MISSING:
            data = {}
        msg_id = frame.get("id")
        if (
            type(msg_type) is str
            and type(data) is dict
            and (msg_id is None or type(msg_id) is str or type(msg_id) is int)
        ):
            return _new_tuple(Message, (msg_type, data, msg_id, frame))
    return _parse_message_carefully(frame)


def _parse_message_carefully(frame: Any) -> Message:
    if type(frame) is not dict:
        raise ProtocolError(
            BAD_FRAME,
            'a message must be a JSON object {"type": ..., "data": {...}}',
            (Detail("$", f"expected an object, got {json_kind(frame)}"),),
        )
    msg_id = frame.get("id")
    if msg_id is not None and type(msg_id) not in (str, int):
        # The id cannot be echoed back, so the error goes out uncorrelated.
        raise ProtocolError(
            BAD_FRAME,
            "message id must be a string or an integer",
            (Detail("$.id", f"expected a string or integer, got {json_kind(msg_id)}"),),
        )
    details: list[Detail] = []
    msg_type = frame.get("type")
    if type(msg_type) is not str:
        details.append(_wrong_field(frame, "type", "a string"))
    data = frame.get("data", _MISSING)
    if data is _MISSING:
        data = {}
    elif type(data) is not dict:
        details.append(_wrong_field(frame, "data", "an object"))
    if len(frame) > 3 or not _MESSAGE_KEYS.issuperset(frame):
        extra = sorted(set(frame) - _MESSAGE_KEYS)
        details.append(Detail("$", f"unexpected keys: {', '.join(extra)}"))
    if details:
        raise ProtocolError(BAD_FRAME, "malformed message", tuple(details), msg_id)
    return Message(frame["type"], data, msg_id, frame)


def parse_envelope(frame: Any) -> Envelope:
    """Check the multiplexing envelope; raise ``bad_frame`` with details if wrong."""
    if type(frame) is dict and len(frame) == 2:
        stream = frame.get("stream")
        if type(stream) is str and "payload" in frame:
            return _new_tuple(Envelope, (stream, frame["payload"]))
    return _parse_envelope_carefully(frame)


def _parse_envelope_carefully(frame: Any) -> Envelope:
    if type(frame) is not dict:
        raise ProtocolError(
            BAD_FRAME,
            'a multiplexed frame must be {"stream": ..., "payload": ...}',
            (Detail("$", f"expected an object, got {json_kind(frame)}"),),
        )
    details: list[Detail] = []
    stream = frame.get("stream")
    if type(stream) is not str:
        details.append(_wrong_field(frame, "stream", "a string"))
    if "payload" not in frame:
        details.append(Detail("$.payload", "required field missing"))
    if not _ENVELOPE_KEYS.issuperset(frame):
        extra = sorted(set(frame) - _ENVELOPE_KEYS)
        details.append(Detail("$", f"unexpected keys: {', '.join(extra)}"))
    if details:
        raise ProtocolError(BAD_FRAME, "malformed multiplexed frame", tuple(details))
    return Envelope(frame["stream"], frame["payload"])


def reply_frame(msg_type: str, msg_id: MessageId, data: Any) -> dict[str, Any]:
    return {"type": msg_type, "id": msg_id, "data": data}


def event_frame(event: str, data: Any) -> dict[str, Any]:
    return {"type": event, "data": data}


def error_frame(
    code: str,
    message: str,
    details: tuple[Detail, ...] = (),
    msg_id: MessageId | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": _bounded(message)}
    if details:
        error["details"] = [
            {"path": _bounded(d.path), "message": _bounded(d.message)}
            for d in details[:_DETAILS_LIMIT]
        ]
        if len(details) > _DETAILS_LIMIT:
            more = f"and {len(details) - _DETAILS_LIMIT} more problems, not listed"
            error["details"].append({"path": "$", "message": more})
    frame: dict[str, Any] = {"type": "error"}
    if msg_id is not None:
        frame["id"] = msg_id
    frame["error"] = error
    return frame


def _bounded(text: str) -> str:
    if len(text) <= _TEXT_LIMIT:
        return text
    return f"{text[:_TEXT_LIMIT]}... (cut: {len(text)} characters)"


def gap_frame(lost: int | None, reason: str) -> dict[str, Any]:
    """``{"type": "gap", "gap": {"lost": N, "reason": R}}``: group events meant for the
    client never reached it; ``lost`` is None when nobody knows how many."""
    return {"type": GAP, "gap": {"lost": lost, "reason": reason}}


def binary_refused() -> dict[str, Any]:
    """The error frame that answers a binary frame where JSON text is expected."""
    return error_frame(BAD_FRAME, "binary frames are not accepted; send JSON text")


class JsonCodec:
    """Overridable JSON encoding for classes that put frames on a socket."""

    # Override either as a classmethod. The defaults are the plain functions, bound as
    # static methods: they run once per frame, and a wrapper around them would cost a
    # Python call each time. decode_json may raise anything: the caller turns the
    # exception into ``bad_json`` (see ``bad_json``).

    #: Encode a frame; an override must return text.
    encode_json: Callable[[Any], str] = staticmethod(encode_json)
    #: Decode an incoming frame; any exception it raises answers ``bad_json``.
    decode_json: Callable[[str], Any] = staticmethod(orjson.loads)


def wrap(stream: str, frame: Any) -> dict[str, Any]:
    return {"stream": stream, "payload": frame}


class _Missing:
    pass


_MISSING: Final = _Missing()
# Builds a named tuple from its fields without the Python-level __new__ the class defines;
# used where one is made per message.
_new_tuple: Final = tuple.__new__


def _wrong_field(frame: dict[str, Any], key: str, expected: str) -> Detail:
    if key not in frame:
        return Detail(f"$.{key}", "required field missing")
    return Detail(f"$.{key}", f"expected {expected}, got {json_kind(frame[key])}")
