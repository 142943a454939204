"""Wire protocol v1 as JSON Schema: message, reply, event and error frames, the stream
envelope, and the error codes with what each means (docs/protocol.md)."""

from __future__ import annotations

from typing import Any, Final

from .schema import RefTo, Schema

__all__ = [
    "ERROR_CODES",
    "ERROR_SCHEMA",
    "GAP_REASONS",
    "GAP_SCHEMA",
    "MESSAGE_ID",
    "envelope",
    "error_example",
    "event_frame",
    "gap_example",
    "message_frame",
    "reply_frame",
]

# Every code the runtime answers with (a test holds this equal to chgen.runtime.protocol).
ERROR_CODES: Final = (
    ("bad_json", "the frame is not JSON"),
    (
        "bad_frame",
        "valid JSON of the wrong shape: not an object, no type, data not an object, an id "
        "that is not a string or integer, unknown keys, a malformed envelope, a binary frame",
    ),
    ("unknown_stream", "the envelope names a stream the demultiplexer does not have"),
    ("unknown_type", "no handler for the message type; details list the known types"),
    ("invalid", "data fails its payload schema; details locate every problem"),
    ("forbidden", "the message is refused by an authorization check"),
    ("internal", "the handler failed; the server logged why, the client learns only that"),
    ("rate_limited", "more messages than the consumer's rate limit; wait as long as it says"),
    ("unavailable", "the channel layer cannot be reached right now; try again later"),
)

MESSAGE_ID: Final = "chgen.MessageId"
ERROR_SCHEMA: Final = "chgen.Error"
GAP_SCHEMA: Final = "chgen.Gap"
# Why group events never reached a socket (docs/protocol.md, "Gap reports").
GAP_REASONS: Final = (
    ("lost", "the channel layer lost events; lost says how many"),
    ("outage", "the channel layer was unavailable; how many were lost is not known"),
    ("slow", "the client read too slowly and the server dropped what queued for it"),
)


def protocol_schemas(ref: RefTo) -> dict[str, Schema]:
    """The schemas every document shares: the message id and the error frame."""
    return {
        MESSAGE_ID: {
            "title": "MessageId",
            "description": "Asks for an answer; the reply or error carries it back.",
            "type": ["string", "integer"],
        },
        ERROR_SCHEMA: {
            "title": "Error",
            "description": "An error frame. It never closes the socket.",
            "type": "object",
            "properties": {
                "type": {"type": "string", "const": "error"},
                "id": {"$ref": ref(MESSAGE_ID)},
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "enum": [code for code, _ in ERROR_CODES]},
                        "message": {"type": "string"},
                        "retry_after_ms": {
                            "type": "integer",
                            "minimum": 1,
                            "description": "rate_limited: how long to wait before sending again",
                        },
                        "details": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "path": {
                                        "type": "string",
                                        "description": "A JSONPath into the frame sent",
                                    },
                                    "message": {"type": "string"},
                                },
                                "required": ["path", "message"],
                                "additionalProperties": False,
                            },
                        },
                    },
                    "required": ["code", "message"],
                    "additionalProperties": False,
                },
            },
            "required": ["type", "error"],
            "additionalProperties": False,
        },
        GAP_SCHEMA: {
            "title": "Gap",
            "description": "Group events meant for this socket never reached it, once per "
            "incident; a client that must not miss any fetches the state again.",
            "type": "object",
            "properties": {
                "type": {"type": "string", "const": "gap"},
                "gap": {
                    "type": "object",
                    "properties": {
                        "lost": {"type": ["integer", "null"], "minimum": 0},
                        "reason": {"type": "string", "enum": [r for r, _ in GAP_REASONS]},
                    },
                    "required": ["lost", "reason"],
                    "additionalProperties": False,
                },
            },
            "required": ["type", "gap"],
            "additionalProperties": False,
        },
    }


def _frame(properties: dict[str, Schema], required: list[str]) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _tag(value: str) -> Schema:
    return {"type": "string", "const": value}


def message_frame(msg_type: str, payload: str, data_required: bool, ref: RefTo) -> Schema:
    """``{"type": T, "data": {...}, "id": I?}``; ``data`` may be left out (it is then
    ``{}``) only when the payload has no required field."""
    properties = {
        "type": _tag(msg_type),
        "data": {"$ref": ref(payload)},
        "id": {"$ref": ref(MESSAGE_ID)},
    }
    return _frame(properties, ["type", "data"] if data_required else ["type"])


def reply_frame(msg_type: str, reply: str | None, ref: RefTo) -> Schema:
    data: Schema = {"$ref": ref(reply)} if reply is not None else {"type": "null"}
    properties = {"type": _tag(msg_type), "id": {"$ref": ref(MESSAGE_ID)}, "data": data}
    return _frame(properties, ["type", "id", "data"])


def event_frame(event: str, payload: str, ref: RefTo) -> Schema:
    return _frame({"type": _tag(event), "data": {"$ref": ref(payload)}}, ["type", "data"])


def envelope(stream: str, frame: Schema) -> Schema:
    """The multiplexing envelope around ``frame``."""
    return _frame({"stream": _tag(stream), "payload": frame}, ["stream", "payload"])


def gap_example() -> dict[str, Any]:
    return {"type": "gap", "gap": {"lost": 3, "reason": "lost"}}


def error_example(msg_id: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error"}
    if msg_id is not None:
        frame["id"] = msg_id
    frame["error"] = {
        "code": "invalid",
        "message": "invalid payload",
        "details": [{"path": "$.data", "message": "required field missing"}],
    }
    return frame
