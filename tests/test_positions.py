"""The wire forms of recovery without I/O: the ``recover`` token, ``pos`` and which groups
keep history (chgen.runtime.positions and chgen.runtime.retention)."""

from __future__ import annotations

import base64

import orjson
import pytest

from chgen.runtime.history import Retention
from chgen.runtime.positions import MAX_GROUPS, parse_token, requested_token, with_position
from chgen.runtime.protocol import ProtocolError
from chgen.runtime.retention import HistoryRules


def token(data: object, alphabet: str = "url") -> str:
    raw = orjson.dumps(data)
    encoded = base64.urlsafe_b64encode(raw) if alphabet == "url" else base64.b64encode(raw)
    return "1." + encoded.decode().rstrip("=")


def test_the_recover_parameter_is_found_in_any_query_and_absent_means_no_recovery() -> None:
    assert requested_token(b"") is None
    assert requested_token(b"token=abc") is None
    assert requested_token(b"recover=") == ""
    assert requested_token(b"token=a&recover=1.e30") == "1.e30"
    assert requested_token(b"recover=1.ab%2Bc") == "1.ab+c", "percent-encoded like any value"


def test_a_token_holds_streams_groups_and_positions_in_either_base64_alphabet() -> None:
    data = {"chat": {"room.é?": ["ep", 17]}, "": {"all": ["e2", 0]}}
    expected = {"chat": {"room.é?": ("ep", 17)}, "": {"all": ("e2", 0)}}
    assert parse_token(token(data)) == expected
    assert parse_token(token(data, "standard")) == expected
    assert parse_token("") == {}


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"chat": []},
        {"chat": {"g": ["e"]}},
        {"chat": {"g": ["", 1]}},
        {"chat": {"g": ["e" * 65, 1]}},
        {"chat": {"g": ["e", -1]}},
        {"chat": {"g": ["e", 2**53]}},
        {"chat": {"g": ["e", 1.5]}},
        {"chat": {f"g{n}": ["e", 1] for n in range(MAX_GROUPS + 1)}},
    ],
)
def test_a_token_that_the_server_could_not_have_given_is_refused(data: object) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_token(token(data))
    assert refused.value.code == "bad_token"


def test_the_position_is_spliced_into_the_frame_as_it_was_encoded() -> None:
    frame = '{"type":"posted","data":{"text":"\\"}"}}'
    spliced = with_position(frame, 'room."x"', "ep", 7)
    assert orjson.loads(spliced) == {
        "type": "posted",
        "data": {"text": '"}'},
        "pos": ['room."x"', "ep", 7],
    }


def test_a_template_keeps_the_groups_it_formats_and_none_keeps_every_group() -> None:
    rules = HistoryRules([("room.{room}", 200, 120.0), ("user.{id}.{tab}", 5, 1.0)])
    assert rules("room.lobby") == Retention(200, 120.0)
    assert rules("room.a.b") == Retention(200, 120.0)
    assert rules("user.7.main") == Retention(5, 1.0)
    assert rules("rooms.lobby") is None
    assert rules("room.") is None
    everything = HistoryRules([("room.{room}", 9, 9.0), (None, 1, 2.0)])
    assert everything("room.x") == Retention(9, 9.0), "a template before the catch-all"
    assert everything("anything") == Retention(1, 2.0)


def test_the_python_client_keeps_the_highest_offset_of_an_epoch() -> None:
    from urllib.parse import parse_qs

    from chgen.runtime.client.recovery import Positions

    def presented() -> object:
        (value,) = parse_qs(positions.query())["recover"]
        return parse_token(value)

    positions = Positions()
    for pos in (["room.x", "e1", 4], ["room.x", "e1", 2], ["other", "e9", 1]):
        positions.seen("chat", pos)
    assert presented() == {"chat": {"room.x": ("e1", 4), "other": ("e9", 1)}}
    positions.seen("chat", ["room.x", "e2", 1])
    assert presented() == {"chat": {"room.x": ("e2", 1), "other": ("e9", 1)}}, "a new epoch"
