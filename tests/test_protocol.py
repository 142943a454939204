"""Wire protocol v1 without I/O: frame decoding, the stream envelope and the frames we send.

Everything in chgen.runtime.protocol is synchronous; these tests need no event loop. The shapes
asserted here are the ones docs/protocol.md promises to clients.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from chgen.runtime.protocol import (
    BAD_FRAME,
    BAD_JSON,
    QUOTE_LIMIT,
    Detail,
    Envelope,
    Message,
    ProtocolError,
    decode_json,
    encode_json,
    error_frame,
    event_frame,
    parse_envelope,
    parse_message,
    quote,
    rate_limited,
    reply_frame,
    salvage,
    salvaged_id,
    wrap,
)


def details(exc: ProtocolError) -> list[tuple[str, str]]:
    return [(d.path, d.message) for d in exc.details]


# -- decode_json ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["{", "not json", "", '{"type": "a",}', b"\xff\xfe"])
def test_decode_json_rejects_invalid_json_with_bad_json(text: str | bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_json(text)
    assert info.value.code == BAD_JSON
    assert info.value.message.startswith("frame is not valid JSON")
    assert info.value.id is None
    frame = info.value.frame()
    assert frame["type"] == "error"
    assert frame["error"]["code"] == "bad_json"
    assert frame["error"]["message"] == info.value.message
    assert "id" not in frame


def test_decode_json_accepts_text_and_bytes() -> None:
    assert decode_json('{"type": "a", "id": 1}') == {"type": "a", "id": 1}
    assert decode_json(b"[1, 2]") == [1, 2]


# -- parse_message: accepted shapes --------------------------------------------------------


@pytest.mark.parametrize("msg_id", ["abc", 7, 0, -3, ""])
def test_parse_message_accepts_string_or_integer_id(msg_id: str | int) -> None:
    frame = {"type": "post", "data": {"text": "hi"}, "id": msg_id}
    message = parse_message(frame)
    assert message == Message("post", {"text": "hi"}, msg_id, frame)
    assert type(message.id) is type(msg_id)


def test_parse_message_without_id_or_data() -> None:
    message = parse_message({"type": "ping"})
    assert message.type == "ping"
    assert message.data == {}
    assert message.id is None
    assert message.raw == {"type": "ping"}


def test_parse_message_keeps_data_object() -> None:
    message = parse_message({"type": "post", "data": {"a": [1, {"b": None}]}})
    assert message.data == {"a": [1, {"b": None}]}
    assert message.id is None


# -- parse_message: rejected shapes --------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ([], "an array"),
        ("post", "a string"),
        (5, "an integer"),
        (1.5, "a number"),
        (True, "a boolean"),
        (None, "null"),
    ],
)
def test_parse_message_rejects_non_objects(frame: Any, kind: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message(frame)
    assert info.value.code == BAD_FRAME
    assert info.value.message  # a human-readable sentence, not empty
    assert details(info.value) == [("$", f"expected an object, got {kind}")]
    assert info.value.id is None


def test_parse_message_missing_type() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message({"data": {}, "id": 4})
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [("$.type", "required field missing")]
    assert info.value.id == 4  # the id was valid, so the error is correlated


@pytest.mark.parametrize(
    ("value", "kind"), [(5, "an integer"), (None, "null"), (["a"], "an array"), ({}, "an object")]
)
def test_parse_message_non_string_type(value: Any, kind: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message({"type": value, "id": "q1"})
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [("$.type", f"expected a string, got {kind}")]
    assert info.value.id == "q1"


@pytest.mark.parametrize(
    ("value", "kind"),
    [([], "an array"), ("x", "a string"), (3, "an integer"), (None, "null"), (False, "a boolean")],
)
def test_parse_message_non_object_data(value: Any, kind: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message({"type": "post", "data": value, "id": 9})
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [("$.data", f"expected an object, got {kind}")]
    assert info.value.id == 9


def test_parse_message_unexpected_keys_are_listed_sorted() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message({"type": "post", "zeta": 1, "alpha": 2, "id": 1})
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [("$", "unexpected keys: alpha, zeta")]
    assert info.value.id == 1


def test_parse_message_one_unexpected_key_with_three_keys() -> None:
    # Three keys, but not the three allowed ones.
    with pytest.raises(ProtocolError) as info:
        parse_message({"type": "post", "data": {}, "payload": {}})
    assert details(info.value) == [("$", "unexpected keys: payload")]


def test_parse_message_reports_every_problem_at_once() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message({"type": 1, "data": [], "extra": True, "id": "r"})
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [
        ("$.type", "expected a string, got an integer"),
        ("$.data", "expected an object, got an array"),
        ("$", "unexpected keys: extra"),
    ]
    assert info.value.id == "r"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "a boolean"),
        (False, "a boolean"),
        (1.0, "a number"),
        ([1], "an array"),
        ({"n": 1}, "an object"),
    ],
)
def test_parse_message_rejects_ids_that_are_not_string_or_integer(value: Any, kind: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message({"type": "post", "data": {}, "id": value})
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [("$.id", f"expected a string or integer, got {kind}")]
    # An invalid id cannot be echoed back: the error goes out uncorrelated.
    assert info.value.id is None
    assert "id" not in info.value.frame()


def test_parse_message_null_id_means_no_id() -> None:
    message = parse_message({"type": "post", "id": None})
    assert message.id is None


def test_protocol_error_frame_echoes_valid_id() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message({"type": 5, "id": 11})
    assert info.value.frame() == {
        "type": "error",
        "id": 11,
        "error": {
            "code": "bad_frame",
            "message": "malformed message",
            "details": [{"path": "$.type", "message": "expected a string, got an integer"}],
        },
    }


# -- parse_envelope ------------------------------------------------------------------------


def test_parse_envelope_accepts_stream_and_payload() -> None:
    payload = {"type": "post", "data": {"text": "hi"}, "id": 1}
    assert parse_envelope({"stream": "chat", "payload": payload}) == Envelope("chat", payload)


def test_parse_envelope_passes_any_payload_through() -> None:
    # The payload's own shape is the stream's business (parse_message), not the envelope's.
    assert parse_envelope({"stream": "s", "payload": [1]}).payload == [1]
    assert parse_envelope({"stream": "s", "payload": None}).payload is None


def test_parse_envelope_missing_payload() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_envelope({"stream": "chat"})
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [("$.payload", "required field missing")]
    assert info.value.id is None


def test_parse_envelope_non_string_stream() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_envelope({"stream": 3, "payload": {}})
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [("$.stream", "expected a string, got an integer")]


def test_parse_envelope_missing_stream() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_envelope({"payload": {}})
    assert details(info.value) == [("$.stream", "required field missing")]


def test_parse_envelope_extra_keys() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_envelope({"stream": "chat", "payload": {}, "type": "post", "id": 1})
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [("$", "unexpected keys: id, type")]


def test_parse_envelope_rejects_non_objects() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_envelope(["chat", {}])
    assert info.value.code == BAD_FRAME
    assert details(info.value) == [("$", "expected an object, got an array")]


def test_parse_envelope_reports_every_problem_at_once() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_envelope({"stream": None, "extra": 1})
    assert details(info.value) == [
        ("$.stream", "expected a string, got null"),
        ("$.payload", "required field missing"),
        ("$", "unexpected keys: extra"),
    ]


# -- frames sent to clients ----------------------------------------------------------------


def test_error_frame_minimal_shape() -> None:
    frame = error_frame("internal", "internal error")
    assert frame == {"type": "error", "error": {"code": "internal", "message": "internal error"}}
    assert encode_json(frame) == (
        '{"type":"error","error":{"code":"internal","message":"internal error"}}'
    )


def test_error_frame_with_id_and_details() -> None:
    frame = error_frame(
        "invalid",
        "invalid Post payload",
        (Detail("$.data.text", "expected a string, got an integer"), Detail("$.data.n", "bad")),
        7,
    )
    assert encode_json(frame) == (
        '{"type":"error","id":7,"error":{"code":"invalid","message":"invalid Post payload",'
        '"details":[{"path":"$.data.text","message":"expected a string, got an integer"},'
        '{"path":"$.data.n","message":"bad"}]}}'
    )


@pytest.mark.parametrize("msg_id", ["", 0])
def test_error_frame_keeps_falsy_ids(msg_id: str | int) -> None:
    # Only None means "no id": 0 and "" are valid ids and must be echoed.
    assert error_frame("invalid", "m", (), msg_id)["id"] == msg_id


def test_error_frame_omits_id_when_none_and_details_when_empty() -> None:
    frame = error_frame("bad_frame", "m", (), None)
    assert set(frame) == {"type", "error"}
    assert set(frame["error"]) == {"code", "message"}


def test_protocol_error_frame_matches_error_frame() -> None:
    exc = ProtocolError("unknown_type", "unknown message type 'x'", (Detail("$.type", "t"),), "q")
    assert exc.frame() == error_frame(
        "unknown_type", "unknown message type 'x'", (Detail("$.type", "t"),), "q"
    )
    assert str(exc) == "unknown message type 'x'"


def test_reply_frame_shape() -> None:
    frame = reply_frame("post", 7, {"id": 42})
    assert frame == {"type": "post", "id": 7, "data": {"id": 42}}
    assert encode_json(frame) == '{"type":"post","id":7,"data":{"id":42}}'


def test_reply_frame_null_data_is_kept() -> None:
    assert encode_json(reply_frame("ack", "x", None)) == '{"type":"ack","id":"x","data":null}'


def test_event_frame_shape() -> None:
    frame = event_frame("posted", {"id": 42, "text": "hello"})
    assert encode_json(frame) == '{"type":"posted","data":{"id":42,"text":"hello"}}'


def test_wrap_shape() -> None:
    frame = wrap("chat", event_frame("posted", {"id": 1}))
    assert encode_json(frame) == '{"stream":"chat","payload":{"type":"posted","data":{"id":1}}}'


# -- bounds: what an error may quote of what arrived ---------------------------------


def test_a_long_value_is_quoted_by_a_marked_prefix() -> None:
    assert quote("post") == "'post'"
    quoted = quote("z" * 100_000)
    assert quoted.startswith("'" + "z" * QUOTE_LIMIT + "'")
    assert "cut: 100000 characters" in quoted
    assert len(quoted) < QUOTE_LIMIT + 40


def test_an_error_frame_bounds_every_text_and_the_number_of_details() -> None:
    details = tuple(Detail("$.data." + "k" * 10_000, "m" * 10_000) for _ in range(1_000))
    frame = error_frame("invalid", "x" * 100_000, details, 7)
    size = len(orjson.dumps(frame))
    assert size < 64_000, size
    listed = frame["error"]["details"]
    assert len(listed) == 33
    assert listed[-1] == {"path": "$", "message": "and 968 more problems, not listed"}
    assert frame["error"]["message"].endswith("(cut: 100000 characters)")


def test_a_lone_surrogate_orjson_refuses_is_salvaged_with_its_id() -> None:
    text = '{"type": "post", "id": "r1", "data": {"text": "\\ud800"}}'
    with pytest.raises(ProtocolError):
        decode_json(text)
    assert salvaged_id(salvage(text)) == "r1"
    assert salvage('{"id": 1, ') is None
    assert salvage("[" * 100_000) is None  # too deep for any reader: no id to find
    assert salvaged_id({"id": 1.5}) is None and salvaged_id(["id"]) is None


def test_rate_limited_carries_its_retry_after_in_milliseconds() -> None:
    frame = rate_limited(0.0123, 4).frame()
    assert frame == {
        "type": "error",
        "id": 4,
        "error": {
            "code": "rate_limited",
            "message": "too many messages; wait before sending again",
            "retry_after_ms": 12,
        },
    }
