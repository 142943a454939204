"""chgen.runtime.testing drives a generated app in-process, as a user's own tests would."""

from __future__ import annotations

import pytest

from chgen.runtime import Router
from chgen.runtime.testing import Refused, WebsocketClient
from generated.chat.payloads import Ack, Post, Posted, Say
from generated.chat.routing import routes


async def test_typed_request_reply_and_events_in_one_room() -> None:
    app = Router(routes)
    async with (
        WebsocketClient(app, "/ws/lobby/") as alice,
        WebsocketClient(app, "/ws/lobby/") as bob,
        WebsocketClient(app, "/ws/elsewhere/") as carol,
    ):
        ack = await alice.request("post", Post(text="hi"), stream="chat", reply=Ack)
        assert isinstance(ack, Ack)
        for member in (alice, bob):
            assert await member.event("posted", Posted, stream="chat") == Posted(
                id=ack.id, text="hi"
            )
        await carol.expect_nothing()
        assert await bob.request("say", Say(text="echo"), stream="echo") == {"text": "echo"}


async def test_errors_are_frames_the_client_can_inspect() -> None:
    async with WebsocketClient(Router(routes), "/ws/lobby/") as client:
        await client.send("post", {"text": 5}, stream="chat", id="x")
        error = await client.error(stream="chat")
        assert error["code"] == "invalid"
        with pytest.raises(AssertionError, match="unknown_type"):
            await client.request("nope", {}, stream="chat")
        await client.send_text("{")
        assert (await client.error())["code"] == "bad_json"


async def test_refused_handshakes_and_timeouts_are_reported() -> None:
    with pytest.raises(Refused):
        async with WebsocketClient(Router(routes), "/nowhere/"):
            pass
    async with WebsocketClient(Router(routes), "/ws/lobby/", timeout=0.2) as client:
        with pytest.raises(TimeoutError):
            await client.event("posted", stream="chat")


async def test_a_frame_after_a_quiet_spell_is_still_received() -> None:
    async with WebsocketClient(Router(routes), "/ws/lobby/") as client:
        await client.expect_nothing(0.05)
        assert await client.request("say", Say(text="late"), stream="echo") == {"text": "late"}


async def test_a_paused_client_gets_the_frames_held_for_it_once_it_reads_again() -> None:
    async with WebsocketClient(Router(routes), "/ws/lobby/") as client:
        client.pause()
        await client.send("say", Say(text="held"), stream="echo", id=1)
        await client.expect_nothing()
        client.resume()
        held = await client.receive()
        assert held == {
            "stream": "echo",
            "payload": {"type": "say", "id": 1, "data": {"text": "held"}},
        }
