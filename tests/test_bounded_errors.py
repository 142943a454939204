"""Errors stay small whatever arrives, and a request whose JSON is refused is still answered.

A client must not be able to make the server send back more than it bounds: an error
quotes at most a short, marked prefix of what arrived, and lists a bounded number of
problems. And a message with an id gets exactly one answer, also when the server's JSON
reader refuses the frame (a lone surrogate, which ``JSON.stringify`` writes): the error
carries its id, in its stream.

End to end against the example app in uvicorn (``chat_server``), and on a plain route
served by uvicorn in-process; tests/test_protocol.py holds the bounds themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from e2e.server import SubprocessServer, ThreadServer, open_ws, recv_json, send_json

from chgen.runtime import Router, route
from handlers.chat import Chat

# Characters of what arrived that an error message quotes (chgen.runtime.protocol).
QUOTE_LIMIT = 64
# What a refused lone surrogate looks like on the wire: valid JSON as JSON.stringify
# writes it, which orjson (the server's reader) refuses.
LONE_SURROGATE = '"\\ud800"'


def room() -> str:
    return f"bound-{uuid.uuid4().hex[:8]}"


async def raw_answer(url: str, text: str) -> str:
    async with open_ws(url) as ws:
        await ws.send(text)
        answer = await ws.recv()
        assert isinstance(answer, str)
        return answer


# -- end to end on the example app ------------------------------------------------------


async def test_a_huge_message_type_gets_a_small_unknown_type_error(
    chat_server: SubprocessServer,
) -> None:
    huge = "t" * 100_000
    frame = {"stream": "chat", "payload": {"type": huge, "id": 1, "data": {}}}
    answer = await raw_answer(
        f"{chat_server.base_url()}/ws/{room()}/", orjson.dumps(frame).decode()
    )
    assert len(answer) < 1_200, len(answer)
    error = orjson.loads(answer)["payload"]
    assert (error["id"], error["error"]["code"]) == (1, "unknown_type")
    assert "cut: " in error["error"]["message"]


async def test_a_huge_stream_name_is_quoted_by_a_short_prefix(
    chat_server: SubprocessServer,
) -> None:
    frame = {"stream": "s" * 100_000, "payload": {"type": "post", "data": {}}}
    answer = await raw_answer(
        f"{chat_server.base_url()}/ws/{room()}/", orjson.dumps(frame).decode()
    )
    assert len(answer) < 400, len(answer)
    error = orjson.loads(answer)["error"]
    assert error["code"] == "unknown_stream"
    assert "s" * QUOTE_LIMIT + "'... (cut: 100000 characters)" in error["message"]


async def test_ten_thousand_unknown_fields_get_a_bounded_list_of_details(
    chat_server: SubprocessServer,
) -> None:
    data: dict[str, Any] = {"text": "hi", **{f"field{i}": i for i in range(10_000)}}
    frame = {"stream": "echo", "payload": {"type": "say", "id": 2, "data": data}}
    answer = await raw_answer(
        f"{chat_server.base_url()}/ws/{room()}/", orjson.dumps(frame).decode()
    )
    assert len(answer) < 8_000, len(answer)
    error = orjson.loads(answer)["payload"]
    assert (error["id"], error["error"]["code"]) == (2, "invalid")
    assert len(error["error"]["details"]) <= 33


async def test_a_refused_frame_with_a_stream_and_id_is_answered_there(
    chat_server: SubprocessServer,
) -> None:
    text = (
        '{"stream": "chat", "payload": {"type": "post", "id": "lone", "data": {"text": '
        + LONE_SURROGATE
        + "}}}"
    )
    async with open_ws(f"{chat_server.base_url()}/ws/{room()}/") as ws:
        await ws.send(text)
        answer = await recv_json(ws)
        assert answer["stream"] == "chat", answer
        error = answer["payload"]
        assert (error["type"], error["id"], error["error"]["code"]) == ("error", "lone", "bad_json")
        # Not a word more: the frame was answered once.
        await send_json(
            ws, {"stream": "echo", "payload": {"type": "say", "id": 3, "data": {"text": "x"}}}
        )
        assert (await recv_json(ws))["payload"]["id"] == 3


async def test_a_refused_frame_naming_no_stream_is_answered_unwrapped_with_its_id(
    chat_server: SubprocessServer,
) -> None:
    text = (
        '{"stream": "nope", "payload": {"type": "say", "id": 9, "data": {"text": '
        + LONE_SURROGATE
        + "}}}"
    )
    answer = orjson.loads(await raw_answer(f"{chat_server.base_url()}/ws/{room()}/", text))
    assert "stream" not in answer
    assert (answer["type"], answer["id"], answer["error"]["code"]) == ("error", 9, "bad_json")


@pytest.fixture(scope="module")
def plain_server() -> Iterator[ThreadServer]:
    server = ThreadServer(Router([route(r"^/chat/(?P<room>[a-z0-9-]+)/$", Chat)])).start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_refused_frame_with_an_id_is_answered_with_it_on_a_plain_route(
    plain_server: ThreadServer,
) -> None:
    text = '{"type": "post", "id": 5, "data": {"text": ' + LONE_SURROGATE + "}}"
    answer = orjson.loads(await raw_answer(f"{plain_server.base_url()}/chat/{room()}/", text))
    assert (answer["type"], answer["id"], answer["error"]["code"]) == ("error", 5, "bad_json")


async def test_json_that_no_reader_accepts_is_answered_without_an_id(
    plain_server: ThreadServer,
) -> None:
    answer = orjson.loads(
        await raw_answer(f"{plain_server.base_url()}/chat/{room()}/", '{"id": 5, ')
    )
    assert answer["error"]["code"] == "bad_json" and "id" not in answer
