"""Channels 1.x's own generic-consumer tests, re-expressed for chgen's runtime.

Mapping, path kwargs, demultiplexing with connect/disconnect reaching every stream, custom
JSON codecs, a custom multiplexer class and the untyped receive(content) hook. (Ordering,
sessions and as_route(attrs=) are in test_seed_semantics.py, on generated consumers.)
Hand-written consumers are driven in-process by chgen.runtime.testing.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import attrs
import pytest

from chgen.runtime import (
    DispatchTable,
    JsonWebsocketConsumer,
    MessageRoute,
    Multiplexer,
    Router,
    WebsocketDemultiplexer,
    route,
)
from chgen.runtime.testing import WebsocketClient

EVENTS: list[tuple[str, Any]] = []


@attrs.frozen(kw_only=True)
class Text:
    text: str


async def _echo(consumer: Any, data: Text) -> Text:
    return Text(text=f"{data.text} in {consumer.kwargs.get('room', '-')}")


class Echo(JsonWebsocketConsumer):
    consumer_name: ClassVar[str] = "Echo"
    dispatch_table = DispatchTable([MessageRoute("say", Text, _echo, reply=Text, method="")])

    async def connect(self) -> None:
        await self.accept()
        if self.multiplexer is not None:
            # The seed's connect(message, multiplexer): a stream can talk as soon as it opens.
            await self.multiplexer.send({"status": f"{self.multiplexer.stream} connected"})
        EVENTS.append(("connect", self.multiplexer and self.multiplexer.stream))

    async def disconnect(self, code: int) -> None:
        EVENTS.append(("disconnect", self.multiplexer and self.multiplexer.stream))


async def _where(consumer: Any, data: Text) -> Text:
    return Text(text=f"{consumer.path} {consumer.scope['type']} {consumer.message.type}")


async def _kwargs(consumer: Any, data: Text) -> Text:
    return Text(text=json.dumps(consumer.kwargs, sort_keys=True))


async def _bye(consumer: Any, data: Text) -> None:
    await consumer.close(4000, data.text)


class Doorman(JsonWebsocketConsumer):
    consumer_name: ClassVar[str] = "Doorman"
    dispatch_table = DispatchTable(
        [
            MessageRoute("where", Text, _where, reply=Text, method=""),
            MessageRoute("bye", Text, _bye, method=""),
            MessageRoute("kwargs", Text, _kwargs, reply=Text, method=""),
        ]
    )


class Shouting(Echo):
    """Custom JSON codecs: every frame this consumer sends is upper-cased JSON."""

    @classmethod
    def encode_json(cls, content: Any) -> str:
        return json.dumps(content).upper()

    @classmethod
    def decode_json(cls, text: str) -> Any:
        return json.loads(text.lower())


class Untyped(Echo):
    """The seed's receive(content): handles anything itself, dispatches the rest."""

    async def receive(self, content: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "raw":
            await self.send({"got": content})
        else:
            await self.dispatch(content)


class CountingMultiplexer(Multiplexer):
    """A custom multiplexer class: counts every frame it sends, replies included."""

    sent = 0

    async def send(self, payload: Any) -> None:
        CountingMultiplexer.sent += 1
        await super().send(payload)


class Lobby(WebsocketDemultiplexer):
    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"one": Echo, "two": Echo}
    multiplexer_class = CountingMultiplexer


APP = Router(
    [
        route(r"^/echo/(?P<room>[a-z]+)/$", Echo),
        route(r"^/shout/$", Shouting),
        route(r"^/untyped/$", Untyped),
        route(r"^/door/", Doorman),
        route(r"^/tenant/(?P<room>[a-z]+)/$", Doorman),
        route(r"^/lobby/(?P<room>[a-z]+)/$", Lobby),
    ]
)


async def test_method_mapping_dispatches_and_path_kwargs_reach_the_handler() -> None:
    async with WebsocketClient(APP, "/echo/kitchen/") as client:
        assert await client.request("say", {"text": "hi"}) == {"text": "hi in kitchen"}
        assert (await client.request("say", Text(text="x"), reply=Text)).text == "x in kitchen"


async def test_demultiplexing_reaches_each_stream_and_every_stream_connects_and_disconnects() -> (
    None
):
    EVENTS.clear()
    CountingMultiplexer.sent = 0
    async with WebsocketClient(APP, "/lobby/hall/") as client:
        greetings = [await client.receive(), await client.receive()]
        assert sorted(g["payload"]["status"] for g in greetings) == [
            "one connected",
            "two connected",
        ]
        for stream in ("two", "one"):
            reply = await client.request("say", {"text": stream}, stream=stream)
            assert reply == {"text": f"{stream} in hall"}
    assert sorted(EVENTS) == [
        ("connect", "one"),
        ("connect", "two"),
        ("disconnect", "one"),
        ("disconnect", "two"),
    ]
    assert CountingMultiplexer.sent == 4, "every stream frame went through the custom class"


def test_encode_wraps_a_payload_for_a_stream() -> None:
    assert json.loads(Lobby.encode("one", {"a": 1})) == {"stream": "one", "payload": {"a": 1}}


async def test_custom_json_codecs_decode_and_encode_every_frame() -> None:
    async with WebsocketClient(APP, "/shout/") as client:
        await client.send_text('{"TYPE": "SAY", "ID": 1, "DATA": {"TEXT": "QUIET"}}')
        reply = await client.receive()
        assert reply == {"TYPE": "SAY", "ID": 1, "DATA": {"TEXT": "QUIET IN -"}}
        await client.send_text("not json at all {")
        assert (await client.receive())["ERROR"]["CODE"] == "BAD_JSON"


async def test_the_untyped_receive_hook_sees_every_frame_and_can_dispatch_the_rest() -> None:
    async with WebsocketClient(APP, "/untyped/") as client:
        await client.send_json({"type": "raw", "anything": [1, 2]})
        assert await client.receive() == {"got": {"type": "raw", "anything": [1, 2]}}
        assert await client.request("say", {"text": "typed"}) == {"text": "typed in -"}


async def test_path_scope_and_message_are_there_and_close_sends_code_and_reason() -> None:
    async with WebsocketClient(APP, "/door/front/") as client:
        answer = await client.request("where", {"text": ""})
        assert answer == {"text": "/door/front/ websocket where"}
        await client.send("bye", {"text": "closing time"})
        with pytest.raises(AssertionError, match="closed the socket with code 4000"):
            await client.receive()
        assert (client.close_code, client.close_reason) == (4000, "closing time")


async def test_captures_of_an_outer_router_are_kept_beside_the_routes_own() -> None:
    # What Channels' URLRouter leaves in the scope when it mounts the app under a prefix.
    outer = {"url_route": {"args": (), "kwargs": {"tenant": "acme", "room": "outer"}}}

    async with WebsocketClient(APP, "/tenant/hall/", scope=outer) as client:
        answer = await client.request("kwargs", {"text": ""})
        assert json.loads(answer["text"]) == {"room": "hall", "tenant": "acme"}
