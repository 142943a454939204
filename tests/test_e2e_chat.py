"""End to end: the example chat app (specs/chat.py) served by a real uvicorn process.

Clients are plain ``websockets`` connections speaking wire protocol v1 over the ``Lobby``
demultiplexer: every frame is wrapped as ``{"stream": S, "payload": frame}``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from e2e.server import (
    SubprocessServer,
    assert_silent,
    open_ws,
    recv_json,
    recv_many,
    send_json,
)
from websockets.asyncio.client import ClientConnection


def room_name(label: str) -> str:
    """A room no other test uses (the server is shared by the whole session)."""
    return f"{label}-{uuid.uuid4().hex[:8]}"


def wrapped(stream: str, frame: dict[str, Any]) -> dict[str, Any]:
    return {"stream": stream, "payload": frame}


async def echo_roundtrip(ws: ClientConnection, msg_id: str | int, text: str = "ping") -> None:
    """Send an echo ``say`` and check that the very next frame is its reply."""
    await send_json(ws, wrapped("echo", {"type": "say", "id": msg_id, "data": {"text": text}}))
    assert await recv_json(ws) == wrapped(
        "echo", {"type": "say", "id": msg_id, "data": {"text": text}}
    )


def split_ack_and_posted(frames: list[Any]) -> tuple[Any, Any]:
    """The sender gets its ack and the broadcast in either order; tell them apart."""
    assert len(frames) == 2, frames
    types = sorted(f["payload"]["type"] for f in frames)
    assert types == ["post", "posted"], frames
    ack = next(f for f in frames if f["payload"]["type"] == "post")
    posted = next(f for f in frames if f["payload"]["type"] == "posted")
    return ack, posted


async def test_post_is_acked_to_sender_and_broadcast_to_its_room_only(
    chat_server: SubprocessServer,
) -> None:
    base = chat_server.base_url()
    room, elsewhere = room_name("lobby"), room_name("other")

    async with (
        open_ws(f"{base}/ws/{room}/") as alice,
        open_ws(f"{base}/ws/{room}/") as bob,
        open_ws(f"{base}/ws/{elsewhere}/") as carol,
    ):
        await send_json(
            alice, wrapped("chat", {"type": "post", "id": 7, "data": {"text": "hello, room"}})
        )
        ack, posted = split_ack_and_posted(await recv_many(alice, 2))

        message_id = ack["payload"]["data"]["id"]
        assert type(message_id) is int
        assert ack == wrapped("chat", {"type": "post", "id": 7, "data": {"id": message_id}})
        expected_event = wrapped(
            "chat", {"type": "posted", "data": {"id": message_id, "text": "hello, room"}}
        )
        assert posted == expected_event
        assert await recv_json(bob) == expected_event

        # Nothing more for Bob (the ack went to Alice only), nothing at all for Carol:
        # after a quiet spell, the first frame each gets is the reply to its own request.
        await assert_silent(carol)
        await echo_roundtrip(carol, "carol-1")
        await echo_roundtrip(bob, "bob-1")
        await echo_roundtrip(alice, "alice-1")

        # A second post gets a new id, and still reaches exactly the same people.
        await send_json(
            bob, wrapped("chat", {"type": "post", "id": "b", "data": {"text": "hi alice"}})
        )
        ack2, posted2 = split_ack_and_posted(await recv_many(bob, 2))
        second_id = ack2["payload"]["data"]["id"]
        assert second_id != message_id
        assert await recv_json(alice) == posted2
        await assert_silent(carol, 0.1)
        await echo_roundtrip(carol, "carol-2")


@pytest.mark.parametrize(
    "msg_id", ["req-1", 42, 0, "ünïcødé ✓"], ids=["str", "int", "zero", "unicode"]
)
async def test_echo_replies_with_same_payload_and_id(
    chat_server: SubprocessServer, msg_id: str | int
) -> None:
    base = chat_server.base_url()

    async with open_ws(f"{base}/ws/{room_name('echo')}/") as ws:
        await echo_roundtrip(ws, msg_id, "say it again")
        await echo_roundtrip(ws, msg_id, "")  # empty text is allowed (MaxLen only)
        await echo_roundtrip(ws, msg_id, "x" * 2000)  # the longest text allowed
        await echo_roundtrip(ws, msg_id, 'quotes " and \\ and \n newlines 🎉')


async def test_longest_allowed_post_is_accepted(chat_server: SubprocessServer) -> None:
    base = chat_server.base_url()

    async with open_ws(f"{base}/ws/{room_name('long')}/") as ws:
        text = "y" * 2000
        await send_json(ws, wrapped("chat", {"type": "post", "id": 1, "data": {"text": text}}))
        ack, posted = split_ack_and_posted(await recv_many(ws, 2))
        assert ack["payload"]["id"] == 1
        assert posted["payload"]["data"]["text"] == text


async def test_message_without_id_gets_no_reply_but_is_handled(
    chat_server: SubprocessServer,
) -> None:
    base = chat_server.base_url()
    room = room_name("quiet")

    async with open_ws(f"{base}/ws/{room}/") as alice, open_ws(f"{base}/ws/{room}/") as bob:
        await send_json(alice, wrapped("chat", {"type": "post", "data": {"text": "no id"}}))

        # The broadcast still happens, to the sender too...
        event = await recv_json(bob)
        assert event["stream"] == "chat"
        assert event["payload"]["type"] == "posted"
        assert event["payload"]["data"]["text"] == "no id"
        assert type(event["payload"]["data"]["id"]) is int
        assert await recv_json(alice) == event
        # ...but no ack: the next frame Alice gets answers her next request.
        await assert_silent(alice, 0.2)
        await echo_roundtrip(alice, "after-post")

        # An echo without id is not answered either.
        await send_json(alice, wrapped("echo", {"type": "say", "data": {"text": "hush"}}))
        await assert_silent(alice, 0.2)
        await echo_roundtrip(alice, "after-say")
        await assert_silent(bob, 0.1)
