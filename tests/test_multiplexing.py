"""Custom multiplexing over real sockets: a multiplexer class or a demultiplexer that
changes the envelope changes every frame its streams send (replies, errors, sends, typed
and group events), and ``Multiplexer.send`` is the one path they all take.

Hand-written runtime consumers, served by uvicorn, driven by ``websockets`` clients.
Channels 1.x's ``test_websockets_demultiplexer_custom_multiplexer`` comes first, as
written there apart from chgen's async hooks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import pytest
import websockets
from e2e.server import ThreadServer, assert_silent, recv_json, send_json

from chgen.runtime import (
    DispatchTable,
    JsonWebsocketConsumer,
    MessageRoute,
    Multiplexer,
    Router,
    WebsocketDemultiplexer,
    route,
)

# -- Channels 1.x's custom multiplexer test --------------------------------------------


class MyWebsocketConsumer(JsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.multiplexer.send({"THIS_SHOULD_BE_LOWERCASED": "1"})

    async def disconnect(self, code: int) -> None:
        await self.multiplexer.send(self.kwargs)

    async def receive(self, content: Any) -> None:
        await self.multiplexer.send(content)


class MyMultiplexer(Multiplexer):
    @classmethod
    def encode_json(cls, content: Any) -> str:
        lowered = {
            "stream": content["stream"],
            "payload": {key.lower(): content["payload"][key] for key in content["payload"]},
        }
        return json.dumps(lowered)


class Demultiplexer(WebsocketDemultiplexer):
    multiplexer_class = MyMultiplexer

    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"mystream": MyWebsocketConsumer}


# -- every kind of frame, under three ways of changing the envelope --------------------


@attrs.frozen(kw_only=True)
class Text:
    text: str


async def _say(consumer: Any, data: Text) -> Text:
    await consumer.send({"sent": data.text})
    await consumer.send_event("said", {"text": data.text})
    await consumer.group_send("room", {"type": "shout", "data": {"text": data.text}})
    return Text(text=data.text.upper())


class Talker(JsonWebsocketConsumer):
    consumer_name: ClassVar[str] = "Talker"
    connection_group_templates: ClassVar[tuple[str, ...]] = ("room",)
    dispatch_table = DispatchTable([MessageRoute("say", Text, _say, reply=Text, method="")])


def _tagged(content: Any, by: str) -> str:
    return json.dumps({**content, "by": by})


class TaggingMultiplexer(Multiplexer):
    """Channels 1.1's hook: the multiplexer class's encode_json."""

    @classmethod
    def encode_json(cls, content: Any) -> str:
        return _tagged(content, "multiplexer")


class ByMultiplexer(WebsocketDemultiplexer):
    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"talk": Talker}
    multiplexer_class = TaggingMultiplexer


class ByEncode(WebsocketDemultiplexer):
    """The seed's hook: the demultiplexer's encode class method."""

    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"talk": Talker}

    @classmethod
    def encode(cls, stream: str, payload: Any) -> str:
        return _tagged({"stream": stream, "payload": payload}, "encode")


class ByEncodeJson(WebsocketDemultiplexer):
    """The demultiplexer's encode_json: every envelope, and the frames outside any stream."""

    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"talk": Talker}

    @classmethod
    def encode_json(cls, content: Any) -> str:
        return _tagged(content, "encode_json")


class Stock(WebsocketDemultiplexer):
    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"talk": Talker}


SEEN: list[Any] = []


class RecordingMultiplexer(Multiplexer):
    """Overrides send alone: it still sees every frame of the stream."""

    async def send(self, payload: Any) -> None:
        SEEN.append(payload)
        await super().send(payload)


class Recorded(WebsocketDemultiplexer):
    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"talk": Talker}
    multiplexer_class = RecordingMultiplexer


APP = Router(
    [
        route(r"^/path/(?P<ID>\d+)", Demultiplexer),
        route(r"^/by-multiplexer/$", ByMultiplexer),
        route(r"^/by-encode/$", ByEncode),
        route(r"^/by-encode-json/$", ByEncodeJson),
        route(r"^/stock/$", Stock),
        route(r"^/recorded/$", Recorded),
    ]
)


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadServer]:
    running = ThreadServer(APP).start()
    yield running
    running.stop()


async def test_channels_custom_multiplexer_lowercases_what_connect_and_receive_send(
    server: ThreadServer,
) -> None:
    async with websockets.connect(f"{server.base_url()}/path/1") as ws:
        assert await recv_json(ws) == {
            "stream": "mystream",
            "payload": {"this_should_be_lowercased": "1"},
        }
        await send_json(ws, {"stream": "mystream", "payload": {"Text_Field": "mytext"}})
        assert await recv_json(ws) == {"stream": "mystream", "payload": {"text_field": "mytext"}}


async def _every_kind_of_frame(url: str) -> list[Any]:
    """A reply, a send, a typed event and a group event (to a second member of the
    room), and an error, as the first member receives them."""
    async with websockets.connect(url) as ws, websockets.connect(url) as other:
        await send_json(
            ws, {"stream": "talk", "payload": {"type": "say", "id": 1, "data": {"text": "hi"}}}
        )
        frames = [await recv_json(ws) for _ in range(4)]  # sent, said, shout, the reply
        assert await recv_json(other) == frames[2], "the other member got the same group event"
        await send_json(ws, {"stream": "talk", "payload": {"type": "nope", "id": 2}})
        frames.append(await recv_json(ws))
        await assert_silent(ws, 0.1)
        return frames


def _payloads(frames: list[Any]) -> list[Any]:
    return [frame["payload"] for frame in frames]


@pytest.mark.parametrize(
    ("path", "by"),
    [("by-multiplexer", "multiplexer"), ("by-encode", "encode"), ("by-encode-json", "encode_json")],
)
async def test_a_changed_envelope_reaches_replies_sends_events_group_events_and_errors(
    server: ThreadServer, path: str, by: str
) -> None:
    frames = await _every_kind_of_frame(f"{server.base_url()}/{path}/")
    assert [frame.get("by") for frame in frames] == [by] * 5
    stock = await _every_kind_of_frame(f"{server.base_url()}/stock/")
    assert all("by" not in frame for frame in stock)
    assert _payloads(frames) == _payloads(stock)
    kinds = [p.get("type") for p in _payloads(frames)]
    assert kinds == [None, "said", "shout", "say", "error"]
    assert frames[3]["payload"] == {"type": "say", "id": 1, "data": {"text": "HI"}}
    assert frames[4]["payload"]["error"]["code"] == "unknown_type"


async def test_a_frame_outside_any_stream_is_written_by_the_demultiplexers_encode_json(
    server: ThreadServer,
) -> None:
    async with websockets.connect(f"{server.base_url()}/by-encode-json/") as ws:
        await send_json(ws, {"stream": "nowhere", "payload": {}})
        error = await recv_json(ws)
        assert (error["by"], error["error"]["code"]) == ("encode_json", "unknown_stream")


async def test_multiplexer_send_is_the_one_path_every_frame_takes(server: ThreadServer) -> None:
    SEEN.clear()
    frames = await _every_kind_of_frame(f"{server.base_url()}/recorded/")
    # Both members' frames: the first member's five, and the group event the other got.
    assert sorted(map(json.dumps, SEEN)) == sorted(
        map(json.dumps, [*_payloads(frames), frames[2]["payload"]])
    )


def test_encode_of_a_demultiplexer_is_what_its_clients_receive() -> None:
    assert json.loads(ByMultiplexer.encode("talk", {"a": 1}))["by"] == "multiplexer"
    assert json.loads(ByEncodeJson.encode("talk", {"a": 1}))["by"] == "encode_json"
    assert json.loads(Stock.encode("talk", {"a": 1})) == {"stream": "talk", "payload": {"a": 1}}
