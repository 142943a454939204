"""The Python client's protocol core, without a socket: frames out and in, backoff, options."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote

import orjson
import pytest

from chgen.runtime.client import ChgenClient, ClientOptions, Reconnect
from chgen.runtime.client.errors import ChgenGap
from chgen.runtime.client.frames import (
    ErrorReport,
    Event,
    GapReport,
    RecoveryReport,
    Reply,
    Unreadable,
    message_text,
    read_frame,
)
from chgen.runtime.client.recovery import (
    ChgenGroupRecovery,
    ChgenRecovery,
    Positions,
    read_recovery,
)
from chgen.runtime.protocol import Detail, error_frame, gap_frame, rate_limited, wrap


def test_a_message_is_written_as_the_server_reads_it() -> None:
    assert orjson.loads(message_text(None, "post", {"text": "hi"}, None)) == {
        "type": "post",
        "data": {"text": "hi"},
    }
    assert orjson.loads(message_text("chat", "post", {"text": "hi"}, 7)) == {
        "stream": "chat",
        "payload": {"type": "post", "data": {"text": "hi"}, "id": 7},
    }


def test_replies_and_events_are_told_apart_by_their_id() -> None:
    reply = {"type": "post", "id": 3, "data": {"id": 42}}
    event = {"type": "posted", "data": {"id": 42, "text": "hi"}}
    assert read_frame(orjson.dumps(wrap("chat", reply)), True) == Reply(
        "chat", "post", 3, {"id": 42}
    )
    assert read_frame(orjson.dumps(event), False) == Event(None, "posted", event["data"])


def test_the_servers_own_error_frames_become_chgen_errors() -> None:
    frame = error_frame("invalid", "invalid Post payload", (Detail("$.data.text", "too short"),), 9)
    report = read_frame(orjson.dumps(wrap("chat", frame)), True)
    assert isinstance(report, ErrorReport) and report.wrapped
    error = report.error
    assert (error.code, error.message, error.stream, error.id) == (
        "invalid",
        "invalid Post payload",
        "chat",
        9,
    )
    assert error.details == (Detail("$.data.text", "too short"),)
    assert str(error) == "invalid: invalid Post payload (stream 'chat'); $.data.text: too short"

    limited = read_frame(orjson.dumps(wrap("echo", rate_limited(0.18, "x").frame())), True)
    assert isinstance(limited, ErrorReport)
    assert (limited.error.code, limited.error.retry_after) == ("rate_limited", 0.18)


def test_an_error_outside_any_envelope_belongs_to_the_connection() -> None:
    report = read_frame(orjson.dumps(error_frame("bad_json", "frame is not valid JSON")), True)
    assert isinstance(report, ErrorReport) and not report.wrapped
    assert (report.error.code, report.error.stream) == ("bad_json", None)


def test_gap_reports_name_their_stream() -> None:
    assert read_frame(orjson.dumps(wrap("chat", gap_frame(3, "lost"))), True) == GapReport(
        ChgenGap("chat", 3, "lost")
    )
    assert read_frame(orjson.dumps(gap_frame(None, "outage")), False) == GapReport(
        ChgenGap(None, None, "outage")
    )


@pytest.mark.parametrize(
    "text, stream",
    [
        ("not json", None),
        ("[1, 2]", None),
        ('{"data": {}}', None),
        ('{"stream": 5, "payload": {}}', None),
        ('{"stream": "chat", "payload": "x"}', "chat"),
        ('{"type": "post", "id": 1.5, "data": {}}', None),
    ],
)
def test_a_frame_that_is_not_the_protocol_is_reported_not_raised(
    text: str, stream: str | None
) -> None:
    assert read_frame(text, multiplexed=True) == Unreadable(stream)


def test_backoff_doubles_up_to_its_cap_and_is_jittered() -> None:
    reconnect = Reconnect(initial_delay=0.25, max_delay=10.0)
    assert [reconnect.delay(n, lambda: 1.0) for n in range(8)] == [
        0.25,
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        10.0,
        10.0,
    ]
    assert reconnect.delay(3, lambda: 0.5) == 1.0
    assert reconnect.delay(3, lambda: 0.0) == 0.0


def test_options_refuse_times_that_are_not_positive() -> None:
    with pytest.raises(ValueError, match="request_timeout must be a positive number"):
        ClientOptions(request_timeout=0)
    with pytest.raises(ValueError, match="initial_delay"):
        Reconnect(initial_delay=-1)
    assert ClientOptions(request_timeout=None).request_timeout is None


def test_url_parameters_are_percent_encoded_into_the_route() -> None:
    url = ChgenClient.url("ws://127.0.0.1:8000/", "/a{{b}}/{room}/", room="r/1 é?")
    assert url == "ws://127.0.0.1:8000/a{b}/r%2F1%20%C3%A9%3F/"


def test_recovery_frames_and_positioned_events_are_read() -> None:
    event = {"type": "posted", "data": {"id": 1, "text": "hi"}, "pos": ["room.a", "e1", 17]}
    assert read_frame(orjson.dumps(wrap("chat", event)), True) == Event(
        "chat", "posted", event["data"], ["room.a", "e1", 17]
    )
    body = {"recovered": False, "groups": {"room.a": {"recovered": False, "reason": "too_old"}}}
    frame = {"type": "recovery", "recovery": body}
    assert read_frame(orjson.dumps(wrap("chat", frame)), True) == RecoveryReport("chat", body)
    assert read_frame(orjson.dumps(frame), True) == RecoveryReport(None, body)


def test_positions_travel_as_the_recover_token() -> None:
    positions = Positions()
    assert positions.query() == "recover="  # a first connect
    positions.seen("chat", ["room.a", "e1", 17])
    positions.seen(None, ["room.b", "e2", 3])
    positions.seen("chat", ["room.a", 5, "x"])  # not a position: ignored
    query = positions.query()
    assert query.startswith("recover=1.")
    token = base64.b64decode(unquote(query.removeprefix("recover=1.")))
    assert orjson.loads(token) == {"chat": {"room.a": ["e1", 17]}, "": {"room.b": ["e2", 3]}}

    # The server's word replaces them; a group it gave no position for keeps the old one.
    positions.told("chat", {"room.a": {"recovered": False, "reason": "unavailable"},
                            "room.c": {"recovered": True, "epoch": "e3", "offset": 4}})  # fmt: skip
    token = base64.b64decode(unquote(positions.query().removeprefix("recover=1.")))
    assert orjson.loads(token)["chat"] == {"room.a": ["e1", 17], "room.c": ["e3", 4]}


def presented(positions: Positions) -> Any:
    """The positions a reconnect presents, decoded from its ``recover`` token."""
    query = positions.query()
    assert query.startswith("recover=1."), query
    return orjson.loads(base64.b64decode(unquote(query.removeprefix("recover=1."))))


def test_the_token_presents_the_last_offset_of_an_unbroken_run() -> None:
    # 3 overtook 2 (sent by another server process) and the socket dropped before 2 came.
    positions = Positions()
    assert [positions.seen("chat", ["room.a", "e1", n]) for n in (1, 3)] == [True, True]
    assert presented(positions) == {"chat": {"room.a": ["e1", 1]}}, "2 is missing: present 1"
    # The replay after 1: 3 is a copy of one already delivered, then a live event.
    replay = [positions.seen("chat", ["room.a", "e1", n]) for n in (2, 3, 4)]
    assert replay == [True, False, True]
    positions.told("chat", {"room.a": {"recovered": True, "epoch": "e1", "offset": 4}})
    assert positions.seen("chat", ["room.a", "e1", 5])
    assert presented(positions) == {"chat": {"room.a": ["e1", 5]}}
    # Not recovered: events sent while the socket joined may follow the frame, below it.
    positions.told("chat", {"room.a": {"recovered": False, "reason": "too_old",
                                       "epoch": "e1", "offset": 9}})  # fmt: skip
    assert positions.seen("chat", ["room.a", "e1", 8])
    assert positions.seen("chat", ["room.a", "e1", 10])


def test_an_offset_seen_ahead_waits_for_the_lower_one_64_at_most() -> None:
    positions = Positions()
    for n in (1, 3, 4, 2):
        assert positions.seen(None, ["room.a", "e1", n])
    assert presented(positions) == {"": {"room.a": ["e1", 4]}}, "2 filled the hole"
    positions.told(None, {"room.a": {"recovered": True, "epoch": "e1", "offset": 4}})
    for n in range(6, 71):  # 5 never comes
        assert positions.seen(None, ["room.a", "e1", n])
    assert presented(positions) == {"": {"room.a": ["e1", 70]}}, "65 waiting: 5 given up on"
    # The stream started again: the new epoch's offsets are new, whatever came before.
    assert positions.seen(None, ["room.a", "e2", 2]) and positions.seen(None, ["room.a", "e2", 4])
    assert presented(positions) == {"": {"room.a": ["e2", 2]}}
    # A group whose store was unavailable keeps its position, and what it saw ahead.
    positions.told(None, {"room.a": {"recovered": False, "reason": "unavailable"}})
    assert not positions.seen(None, ["room.a", "e2", 4]), "4 was seen before the drop"
    assert positions.seen(None, ["room.a", "e2", 3])
    assert presented(positions) == {"": {"room.a": ["e2", 4]}}


def test_a_recovery_says_per_group_why_not() -> None:
    body = {
        "recovered": False,
        "groups": {
            "room.a": {"recovered": True, "epoch": "e", "offset": 9, "replayed": 2},
            "room.b": {"recovered": False, "reason": "epoch_changed", "epoch": "f", "offset": 0},
        },
    }
    recovery, _ = read_recovery(body, "chat")
    assert recovery == ChgenRecovery(
        "chat",
        False,
        {
            "room.a": ChgenGroupRecovery(True, None, 2, "e", 9),
            "room.b": ChgenGroupRecovery(False, "epoch_changed", None, "f", 0),
        },
    )
