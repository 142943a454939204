"""The ASGI side of the runtime, driven in-process: Router, serve, consumers, demultiplexers.

No server and no sockets: ``chgen.runtime.testing`` talks to ``runtime.Router`` directly
(``WebsocketClient`` for sockets, ``exchange`` for the other scopes). Consumers are
written by hand the way generated code does it (a ``DispatchTable`` of ``MessageRoute``s
whose ``call(consumer, payload)`` is async). Every wait is bounded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any, ClassVar

import attrs
import pytest

from chgen.runtime import (
    DispatchTable,
    InMemoryChannelLayer,
    JsonWebsocketConsumer,
    MessageRoute,
    Router,
    WebsocketDemultiplexer,
    route,
)
from chgen.runtime.asgi import ASGIApp, Receive, Scope, Send
from chgen.runtime.testing import Refused, WebsocketClient, exchange

TIMEOUT = 2.0
recorded: list[tuple[str, Any]] = []  # what handlers and hooks saw, in order


@pytest.fixture(autouse=True)
def _clear_records() -> None:
    recorded.clear()


# -- payloads and handlers -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AddPayload:
    a: int
    b: int


@attrs.frozen(kw_only=True)
class SumPayload:
    total: int


@attrs.frozen(kw_only=True)
class Empty:
    pass


@attrs.frozen(kw_only=True)
class ShoutPayload:
    text: str


async def add(consumer: JsonWebsocketConsumer, payload: AddPayload) -> SumPayload:
    message = consumer.message
    recorded.append(("add", (message.type, message.id, dict(message.data), dict(message.raw))))
    return SumPayload(total=payload.a + payload.b)


async def ping(consumer: JsonWebsocketConsumer, payload: Empty) -> None:
    recorded.append(("ping", consumer.message.id))


async def boom(consumer: JsonWebsocketConsumer, payload: Empty) -> None:
    raise RuntimeError("secret detail that must not reach the client")


async def shout(consumer: JsonWebsocketConsumer, payload: ShoutPayload) -> None:
    await consumer.group_send_event(
        f"g.{consumer.kwargs['room']}", "shouted", {"text": payload.text}
    )


async def bad_reply(consumer: JsonWebsocketConsumer, payload: Empty) -> Any:
    return None  # the route declares a SumPayload reply


def layer_of(router: Router) -> InMemoryChannelLayer:
    assert isinstance(router.layer, InMemoryChannelLayer)
    return router.layer


def members(router: Router, group: str) -> frozenset[str]:
    return layer_of(router).members(group)


# -- consumers -----------------------------------------------------------------------------


class Calc(JsonWebsocketConsumer):
    consumer_name: ClassVar[str] = "calc"
    connection_group_templates: ClassVar[tuple[str, ...]] = ("g.{room}",)
    max_message_size: ClassVar[int] = 512
    dispatch_table: ClassVar[DispatchTable] = DispatchTable(
        [
            MessageRoute("add", AddPayload, add, reply=SumPayload),
            MessageRoute("ping", Empty, ping),
            MessageRoute("boom", Empty, boom),
            MessageRoute("shout", ShoutPayload, shout),
            MessageRoute("bad_reply", Empty, bad_reply, reply=SumPayload),
        ]
    )


class Refuser(Calc):
    async def connect(self) -> None:
        recorded.append(("connect", members_of(self, "g." + self.kwargs["room"])))
        await self.close()


class Crasher(Calc):
    async def connect(self) -> None:
        recorded.append(("connect", members_of(self, "g." + self.kwargs["room"])))
        raise RuntimeError("connect failed")


class Recorder(Calc):
    async def disconnect(self, code: int) -> None:
        recorded.append(("disconnect", (code, members_of(self, "g." + self.kwargs["room"]))))


class FailingDisconnect(Calc):
    async def disconnect(self, code: int) -> None:
        recorded.append(("disconnect", code))
        raise RuntimeError("disconnect failed")


class Other(JsonWebsocketConsumer):
    """Joins the same group as Calc but is another kind of consumer."""

    consumer_name: ClassVar[str] = "other"
    connection_group_templates: ClassVar[tuple[str, ...]] = ("g.{room}",)
    dispatch_table: ClassVar[DispatchTable] = DispatchTable([MessageRoute("ping", Empty, ping)])


class CalcDemux(WebsocketDemultiplexer):
    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"calc": Calc, "other": Other}


class MathDemux(WebsocketDemultiplexer):
    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"math": Calc}


class TwinDemux(WebsocketDemultiplexer):
    """The same consumer behind two streams of one socket."""

    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {"left": Calc, "right": Calc}


def members_of(consumer: JsonWebsocketConsumer, group: str) -> frozenset[str]:
    layer = consumer.connection.layer
    assert isinstance(layer, InMemoryChannelLayer)
    return layer.members(group)


ROOM = r"(?P<room>[a-z]+)"


def make_router() -> Router:
    return Router(
        [
            route(rf"^/x/{ROOM}/$", Calc),
            route(rf"^/refuse/{ROOM}/$", Refuser),
            route(rf"^/crash/{ROOM}/$", Crasher),
            route(rf"^/record/{ROOM}/$", Recorder),
            route(rf"^/faildisconnect/{ROOM}/$", FailingDisconnect),
            route(rf"^/a/{ROOM}/$", CalcDemux),
            route(rf"^/b/{ROOM}/$", MathDemux),
            route(rf"^/twin/{ROOM}/$", TwinDemux),
        ]
    )


# -- the client side ----------------------------------------------------------------------


async def connected(router: Router, path: str) -> WebsocketClient:
    client = WebsocketClient(router, path, timeout=TIMEOUT)
    await client.connect()
    return client


async def ask(client: WebsocketClient, content: Any) -> Any:
    """Send ``content`` as JSON; the next frame that comes back."""
    await client.send_json(content)
    return await client.receive()


async def ask_text(client: WebsocketClient, text: str) -> Any:
    await client.send_text(text)
    return await client.receive()


def probing(app: ASGIApp, probe: Any, seen: list[tuple[str, Any]]) -> ASGIApp:
    """ASGI middleware that notes each event's type and ``probe()`` as the app sends it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def probed(message: MutableMapping[str, Any]) -> None:
            seen.append((message["type"], probe()))
            await send(message)

        await app(scope, receive, probed)

    return middleware


# -- connecting ----------------------------------------------------------------------------


async def test_accept_is_sent_after_the_connection_groups_were_joined() -> None:
    router = make_router()
    seen: list[tuple[str, Any]] = []
    app = probing(router, lambda: members(router, "g.lobby"), seen)
    client = WebsocketClient(app, "/x/lobby/", timeout=TIMEOUT)
    await client.connect()
    assert seen[0][0] == "websocket.accept"
    assert len(seen[0][1]) == 1  # already a member when accept went out
    assert members(router, "g.other") == frozenset()
    await client.close()
    assert members(router, "g.lobby") == frozenset()


async def test_connect_that_closes_refuses_and_leaves_groups() -> None:
    router = make_router()
    client = WebsocketClient(router, "/refuse/lobby/", timeout=TIMEOUT)
    with pytest.raises(Refused):
        await client.connect()
    await client.expect_nothing()  # no accept, before or after
    [(kind, seen)] = recorded
    assert kind == "connect" and len(seen) == 1  # it had joined before connect()
    assert members(router, "g.lobby") == frozenset()


async def test_connect_that_raises_closes_with_1011_and_leaves_groups(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = make_router()
    client = WebsocketClient(router, "/crash/lobby/", timeout=TIMEOUT)
    with pytest.raises(Refused) as refused:
        await client.connect()
    assert refused.value.code == 1011
    await client.expect_nothing()
    [(kind, seen)] = recorded
    assert kind == "connect" and len(seen) == 1
    assert members(router, "g.lobby") == frozenset()
    assert any("connect failed" in str(r.exc_info) for r in caplog.records if r.exc_info)


async def test_unmatched_websocket_path_is_closed_without_accept() -> None:
    client = WebsocketClient(make_router(), "/nowhere/", timeout=TIMEOUT)
    with pytest.raises(Refused):
        await client.connect()
    await client.expect_nothing()


async def test_route_must_match_from_the_start_of_the_path() -> None:
    with pytest.raises(Refused):
        await WebsocketClient(make_router(), "/prefix/x/lobby/", timeout=TIMEOUT).connect()


# -- messages, replies, errors -------------------------------------------------------------


async def test_request_with_id_gets_a_reply_with_the_same_id() -> None:
    client = await connected(make_router(), "/x/lobby/")
    reply = await ask(client, {"type": "add", "id": 7, "data": {"a": 2, "b": 3}})
    assert reply == {"type": "add", "id": 7, "data": {"total": 5}}
    reply = await ask(client, {"type": "add", "id": "q-1", "data": {"a": 1, "b": 1}})
    assert reply == {"type": "add", "id": "q-1", "data": {"total": 2}}
    await client.close()


async def test_handler_sees_the_current_message() -> None:
    client = await connected(make_router(), "/x/lobby/")
    frame = {"type": "add", "data": {"a": 1, "b": 2}, "id": "m1"}
    await ask(client, frame)
    await client.close()
    assert recorded == [("add", ("add", "m1", {"a": 1, "b": 2}, frame))]


async def test_request_without_id_gets_no_reply() -> None:
    client = await connected(make_router(), "/x/lobby/")
    await client.send_json({"type": "add", "data": {"a": 1, "b": 1}})
    # Frames are handled in order, so the next frame out answers the second request.
    reply = await ask(client, {"type": "add", "id": 2, "data": {"a": 10, "b": 10}})
    assert reply == {"type": "add", "id": 2, "data": {"total": 20}}
    assert [kind for kind, _ in recorded] == ["add", "add"]  # the first one did run
    await client.close()


async def test_handler_without_reply_type_acknowledges_with_null() -> None:
    client = await connected(make_router(), "/x/lobby/")
    assert await ask(client, {"type": "ping", "id": 3}) == {"type": "ping", "id": 3, "data": None}
    assert recorded == [("ping", 3)]
    await client.close()


async def test_handler_that_raises_gives_internal_error_and_the_socket_keeps_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await connected(make_router(), "/x/lobby/")
    error = await ask(client, {"type": "boom", "id": 4})
    assert error == {
        "type": "error",
        "id": 4,
        "error": {"code": "internal", "message": "internal error"},
    }
    # Without an id: still an error, uncorrelated.
    assert await ask(client, {"type": "boom"}) == {
        "type": "error",
        "error": {"code": "internal", "message": "internal error"},
    }
    reply = await ask(client, {"type": "add", "id": 5, "data": {"a": 1, "b": 2}})
    assert reply == {"type": "add", "id": 5, "data": {"total": 3}}
    await client.close()
    logged = [r for r in caplog.records if r.exc_info is not None]
    assert any("secret detail" in str(r.exc_info[1]) for r in logged if r.exc_info)


async def test_reply_that_cannot_be_encoded_is_an_internal_error_and_the_socket_survives() -> None:
    # docs/protocol.md: a message with an id always gets exactly one answer, and an error
    # never closes the socket. A handler returning the wrong type for its reply is a
    # handler failure like any other.
    client = await connected(make_router(), "/x/lobby/")
    error = await ask(client, {"type": "bad_reply", "id": 6})
    assert error["type"] == "error"
    assert error["id"] == 6
    assert error["error"]["code"] == "internal"
    reply = await ask(client, {"type": "add", "id": 7, "data": {"a": 1, "b": 2}})
    assert reply == {"type": "add", "id": 7, "data": {"total": 3}}
    await client.close()


async def test_protocol_errors_are_answered_with_the_id() -> None:
    client = await connected(make_router(), "/x/lobby/")
    invalid = await ask(client, {"type": "add", "id": 8, "data": {"a": "1", "b": 2}})
    assert invalid == {
        "type": "error",
        "id": 8,
        "error": {
            "code": "invalid",
            "message": "invalid AddPayload payload",
            "details": [{"path": "$.data.a", "message": "expected an integer, got a string"}],
        },
    }
    unknown = await ask(client, {"type": "nope", "id": 9})
    assert unknown["id"] == 9
    assert unknown["error"]["code"] == "unknown_type"
    assert unknown["error"]["details"][0]["path"] == "$.type"
    bad_json = await ask_text(client, "{not json")
    assert bad_json["error"]["code"] == "bad_json"
    assert "id" not in bad_json
    await client.send_bytes(b"\x00")
    binary = await client.receive()
    assert binary["error"]["code"] == "bad_frame"
    reply = await ask(client, {"type": "add", "id": 10, "data": {"a": 0, "b": 0}})
    assert reply["data"] == {"total": 0}
    await client.close()


async def test_text_frame_over_max_message_size_closes_with_1009() -> None:
    router = make_router()
    client = await connected(router, "/record/lobby/")
    # At the limit the frame is still read (and here answered as bad JSON).
    at_limit = await ask_text(client, " " * (Calc.max_message_size - 1) + "[")
    assert at_limit["error"]["code"] == "bad_json"
    too_big = json.dumps({"type": "ping", "id": 1}).ljust(Calc.max_message_size + 1)
    await client.send_text(too_big)
    assert await client.closed() == 1009
    await client.close(1009)
    await client.expect_nothing()  # the oversized frame was not handled
    [(kind, (code, _))] = recorded
    assert (kind, code) == ("disconnect", 1009)
    assert members(router, "g.lobby") == frozenset()


# -- disconnecting -------------------------------------------------------------------------


async def test_disconnect_runs_with_the_code_then_groups_are_left() -> None:
    router = make_router()
    client = await connected(router, "/record/lobby/")
    assert len(members(router, "g.lobby")) == 1
    await client.close(4001)
    [(kind, (code, during))] = recorded
    assert kind == "disconnect"
    assert code == 4001
    assert len(during) == 1  # still a member while disconnect() runs
    assert members(router, "g.lobby") == frozenset()


async def test_groups_are_left_even_when_disconnect_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = make_router()
    client = await connected(router, "/faildisconnect/lobby/")
    assert len(members(router, "g.lobby")) == 1
    await client.close(1001)
    assert recorded == [("disconnect", 1001)]
    assert members(router, "g.lobby") == frozenset()
    assert any(r.exc_info for r in caplog.records)


async def test_one_disconnect_leaves_other_connections_in_the_group() -> None:
    router = make_router()
    first = await connected(router, "/x/lobby/")
    second = await connected(router, "/x/lobby/")
    assert len(members(router, "g.lobby")) == 2
    await first.close()
    assert len(members(router, "g.lobby")) == 1
    await second.close()
    assert members(router, "g.lobby") == frozenset()


# -- groups and multiplexing ---------------------------------------------------------------


async def test_group_event_reaches_each_member_in_its_own_stream() -> None:
    router = make_router()
    sender = await connected(router, "/a/lobby/")  # Calc mounted as "calc"
    peer = await connected(router, "/b/lobby/")  # Calc mounted as "math"
    elsewhere = await connected(router, "/b/attic/")  # another room
    event = {"type": "shouted", "data": {"text": "hi"}}

    await sender.send_json(
        {"stream": "calc", "payload": {"type": "shout", "id": 1, "data": {"text": "hi"}}}
    )
    got = [await sender.receive(), await sender.receive()]
    assert sorted(got, key=json.dumps) == sorted(
        [
            {"stream": "calc", "payload": {"type": "shout", "id": 1, "data": None}},
            {"stream": "calc", "payload": event},
        ],
        key=json.dumps,
    )
    assert await peer.receive() == {"stream": "math", "payload": event}

    # The "other" consumer on the sender's socket is in the group too but runs another
    # kind of consumer: it gets nothing, so the next frame answers the next request.
    reply = await ask(
        sender, {"stream": "calc", "payload": {"type": "add", "id": 2, "data": {"a": 1, "b": 1}}}
    )
    assert reply == {"stream": "calc", "payload": {"type": "add", "id": 2, "data": {"total": 2}}}
    # Another room's member got nothing either.
    reply = await ask(elsewhere, {"stream": "math", "payload": {"type": "ping", "id": 3}})
    assert reply == {"stream": "math", "payload": {"type": "ping", "id": 3, "data": None}}
    for client in (sender, peer, elsewhere):
        await client.close()
    assert members(router, "g.lobby") == frozenset()


async def test_group_event_reaches_every_stream_running_the_sending_consumer() -> None:
    router = make_router()
    twin = await connected(router, "/twin/lobby/")
    sender = await connected(router, "/b/lobby/")
    event = {"type": "shouted", "data": {"text": "hi"}}
    reply = await ask(
        sender, {"stream": "math", "payload": {"type": "shout", "id": 1, "data": {"text": "hi"}}}
    )
    assert reply in (
        {"stream": "math", "payload": {"type": "shout", "id": 1, "data": None}},
        {"stream": "math", "payload": event},
    )
    got = [await twin.receive(), await twin.receive()]
    assert sorted(got, key=json.dumps) == [
        {"stream": "left", "payload": event},
        {"stream": "right", "payload": event},
    ]
    for client in (twin, sender):
        await client.close()


async def test_demultiplexer_routes_streams_and_reports_stream_errors() -> None:
    router = make_router()
    client = await connected(router, "/a/lobby/")
    # One connection joins a group once even when two streams name it.
    assert len(members(router, "g.lobby")) == 1
    reply = await ask(client, {"stream": "other", "payload": {"type": "ping", "id": 1}})
    assert reply == {"stream": "other", "payload": {"type": "ping", "id": 1, "data": None}}
    # An error inside a valid envelope is the stream's and comes back wrapped.
    inner = await ask(client, {"stream": "calc", "payload": {"type": "nope", "id": 2}})
    assert inner["stream"] == "calc"
    assert inner["payload"]["id"] == 2
    assert inner["payload"]["error"]["code"] == "unknown_type"
    # Errors that belong to no stream come back unwrapped.
    unknown = await ask(client, {"stream": "zzz", "payload": {}})
    assert unknown["type"] == "error"
    assert unknown["error"]["code"] == "unknown_stream"
    assert unknown["error"]["details"] == [
        {"path": "$.stream", "message": "expected one of: calc, other"}
    ]
    malformed = await ask(client, {"payload": {}})
    assert malformed["error"]["code"] == "bad_frame"
    assert "stream" not in malformed
    await client.close()
    assert members(router, "g.lobby") == frozenset()


async def test_layer_message_of_unknown_type_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = make_router()
    client = await connected(router, "/x/lobby/")
    [channel] = members(router, "g.lobby")
    with caplog.at_level(logging.WARNING):
        await layer_of(router).send(channel, {"type": "mystery.thing"})
        # The group event queues behind the unknown message on the same channel, so
        # once it arrives the unknown one has been handled.
        await client.send_json({"type": "shout", "data": {"text": "still here"}})
        assert await client.receive() == {"type": "shouted", "data": {"text": "still here"}}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("mystery.thing" in w for w in warnings), warnings
    reply = await ask(client, {"type": "add", "id": 1, "data": {"a": 2, "b": 2}})
    assert reply["data"] == {"total": 4}
    await client.close()


def test_demultiplexer_encode() -> None:
    assert WebsocketDemultiplexer.encode("s", {"a": 1}) == '{"stream":"s","payload":{"a":1}}'
    assert MathDemux.encode("math", None) == '{"stream":"math","payload":null}'


# -- other ASGI scopes ---------------------------------------------------------------------


async def test_http_scope_gets_404() -> None:
    scope = {"type": "http", "path": "/", "method": "GET"}
    start, body = await exchange(make_router(), scope, [{"type": "http.request", "body": b""}])
    assert start["type"] == "http.response.start"
    assert start["status"] == 404
    assert body["type"] == "http.response.body"
    assert b"Not Found" in body["body"]


async def test_lifespan_startup_and_shutdown_complete() -> None:
    events = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = await exchange(make_router(), {"type": "lifespan", "asgi": {"version": "3.0"}}, events)
    assert [e["type"] for e in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
