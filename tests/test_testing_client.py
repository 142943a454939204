"""chgen.runtime.testing drives a generated app in-process, as a user's own tests would."""

from __future__ import annotations

import asyncio

import pytest

from chgen.runtime import Router
from chgen.runtime.testing import Refused, WebsocketClient
from generated.chat.payloads import Ack, Post, Posted, Say
from generated.chat.routing import routes


def _run(coro: object) -> None:
    asyncio.run(asyncio.wait_for(coro, 10))  # type: ignore[arg-type]


def test_typed_request_reply_and_events_in_one_room() -> None:
    async def scenario() -> None:
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

    _run(scenario())


def test_errors_are_frames_the_client_can_inspect() -> None:
    async def scenario() -> None:
        async with WebsocketClient(Router(routes), "/ws/lobby/") as client:
            await client.send("post", {"text": 5}, stream="chat", id="x")
            error = await client.error(stream="chat")
            assert error["code"] == "invalid"
            with pytest.raises(AssertionError, match="unknown_type"):
                await client.request("nope", {}, stream="chat")
            await client.send_text("{")
            assert (await client.error())["code"] == "bad_json"

    _run(scenario())


def test_refused_handshakes_and_timeouts_are_reported() -> None:
    async def scenario() -> None:
        with pytest.raises(Refused):
            async with WebsocketClient(Router(routes), "/nowhere/"):
                pass
        async with WebsocketClient(Router(routes), "/ws/lobby/", timeout=0.2) as client:
            with pytest.raises(TimeoutError):
                await client.event("posted", stream="chat")

    _run(scenario())
