"""Where a client is in its groups' streams, and how the wire says so, without I/O.

A group event sent to a group with history carries its position, ``"pos": [group,
epoch, offset]``. A client that tracks positions connects with the query parameter
``recover``: empty the first time, then ``1.`` and the base64 (or base64url) of the JSON
``{stream: {group: [epoch, offset]}}`` (stream ``""`` for a socket served by one
consumer). The server answers with ``recovery`` frames. docs/protocol.md is the contract;
``chgen.runtime.recovery`` does the replay.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from .protocol import Detail, ProtocolError

__all__ = [
    "BAD_TOKEN",
    "MAX_EPOCH",
    "MAX_GROUPS",
    "MAX_TOKEN",
    "PARAMETER",
    "RECOVERY",
    "Positions",
    "parse_token",
    "recovery_frame",
    "requested_token",
    "with_position",
]

# The query parameter of a client that tracks positions.
PARAMETER: Final = "recover"
# The type of the frames that tell a client what became of its positions.
RECOVERY: Final = "recovery"
# The error code of a token that is malformed, too big or names a group the socket does
# not join; the socket then goes on as if it had presented none.
BAD_TOKEN: Final = "bad_token"
# Bounds of a token: characters of the parameter, (stream, group) positions, characters
# of an epoch. A client that follows this page never comes near them.
MAX_TOKEN: Final = 4096
MAX_GROUPS: Final = 64
MAX_EPOCH: Final = 64
_VERSION: Final = "1."
_URLSAFE: Final = str.maketrans("-_", "+/")
_MAX_OFFSET: Final = 2**53 - 1

# stream ("" for a socket served by one consumer) -> group -> (epoch, offset)
Positions = dict[str, dict[str, tuple[str, int]]]


def requested_token(query_string: bytes) -> str | None:
    """The ``recover`` parameter of a handshake's query string: None when the client does
    not track positions, "" when it has none yet."""
    if b"recover=" not in query_string:
        return None  # the usual handshake, in one step
    text = query_string.decode("latin-1")
    for name, value in parse_qsl(text, keep_blank_values=True):
        if name == PARAMETER:
            return value
    return None


def parse_token(token: str) -> Positions:
    """The positions of a ``recover`` parameter; ProtocolError ``bad_token`` when it is
    too big or not one the server could have given."""
    if token == "":
        return {}
    if len(token) > MAX_TOKEN:
        raise _refused(f"the recover token is {len(token)} characters; at most {MAX_TOKEN}")
    if not token.startswith(_VERSION):
        raise _refused("the recover token is not of version 1 (it starts with '1.')")
    try:
        # base64 or base64url (both alphabets), padded or not
        body = token[len(_VERSION) :].translate(_URLSAFE).rstrip("=")
        data = orjson.loads(base64.b64decode(body + "=" * (-len(body) % 4), validate=True))
    except (binascii.Error, ValueError):
        raise _refused("the recover token is not base64url of JSON") from None
    return _positions(data)


def _positions(data: Any) -> Positions:
    if type(data) is not dict:
        raise _refused("the recover token is not a JSON object of streams")
    positions: Positions = {}
    count = 0
    for stream, groups in data.items():
        if type(groups) is not dict:
            raise _refused("each stream of the recover token maps groups to positions")
        kept = positions[stream] = {}
        for group, position in groups.items():
            count += 1
            if count > MAX_GROUPS:
                raise _refused(f"the recover token has more than {MAX_GROUPS} positions")
            kept[group] = _position(position)
    return positions


def _position(value: Any) -> tuple[str, int]:
    if type(value) is list and len(value) == 2:
        epoch, offset = value
        if (
            type(epoch) is str
            and 0 < len(epoch) <= MAX_EPOCH
            and type(offset) is int
            and 0 <= offset <= _MAX_OFFSET
        ):
            return epoch, offset
    raise _refused("a position of the recover token is not [epoch, offset]")


def _refused(message: str) -> ProtocolError:
    return ProtocolError(BAD_TOKEN, message, (Detail("$.recover", "start again without it"),))


def with_position(frame: str, group: str, epoch: str, offset: int) -> str:
    """The JSON text of an event ``frame`` (an object's text) with ``"pos"`` added."""
    return f'{frame[:-1]},"pos":{orjson.dumps((group, epoch, offset)).decode()}}}'


def recovery_frame(
    recovered: bool, groups: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """``{"type": "recovery", "recovery": {"recovered": ..., "groups": ...}}``: what became
    of a stream's positions (``groups``), or of the whole socket's (no ``groups``)."""
    recovery: dict[str, Any] = {"recovered": recovered}
    if groups is not None:
        recovery["groups"] = dict(groups)
    return {"type": RECOVERY, "recovery": recovery}
