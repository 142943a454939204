"""The ASGI side of the runtime, driven in-process: Router, serve, consumers, demultiplexers.

No server and no sockets: a fake ASGI receive/send pair built on asyncio queues talks to
``runtime.Router`` directly. Consumers are written by hand the way generated code does it
(a ``DispatchTable`` of ``MessageRoute``s whose ``call(consumer, payload)`` is async).
Every await on the test side is bounded by ``asyncio.wait_for(..., 2)``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, ClassVar, TypeVar

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

T = TypeVar("T")
TIMEOUT = 2.0
recorded: list[tuple[str, Any]] = []  # what handlers and hooks saw, in order


@pytest.fixture(autouse=True)
def _clear_records() -> None:
    recorded.clear()


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), 10)

    return asyncio.run(bounded())


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


# -- the fake ASGI server side -------------------------------------------------------------


class FakeClient:
    """One ASGI connection: the test puts events in and reads what the app sends."""

    def __init__(
        self,
        app: Callable[..., Coroutine[Any, Any, None]],
        scope: MutableMapping[str, Any],
        probe: Callable[[], Any] | None = None,
    ) -> None:
        self.scope = scope
        self.inbox: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        self.probe = probe
        self.probes: list[tuple[str, Any]] = []  # (sent event type, probe() at that moment)
        self.task = asyncio.create_task(app(scope, self._receive, self._send))

    @classmethod
    def websocket(
        cls, router: Router, path: str, probe: Callable[[], Any] | None = None
    ) -> FakeClient:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "path": path,
            "query_string": b"",
            "headers": [],
            "subprotocols": [],
        }
        return cls(router, scope, probe)

    async def _receive(self) -> MutableMapping[str, Any]:
        return await asyncio.wait_for(self.inbox.get(), TIMEOUT)

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        if self.probe is not None:
            self.probes.append((message["type"], self.probe()))
        self.outbox.put_nowait(message)

    def put(self, event: MutableMapping[str, Any]) -> None:
        self.inbox.put_nowait(event)

    async def next(self) -> MutableMapping[str, Any]:
        """The next event the app sends; fails at once if the app ends without one."""
        if not self.outbox.empty():
            return self.outbox.get_nowait()
        getter = asyncio.ensure_future(self.outbox.get())
        done, _ = await asyncio.wait(
            {getter, self.task}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        if self.task in done:
            exc = self.task.exception()
            raise AssertionError(f"the app ended without sending anything: {exc!r}") from exc
        raise TimeoutError(f"the app sent nothing within {TIMEOUT} s")

    async def connect(self) -> MutableMapping[str, Any]:
        self.put({"type": "websocket.connect"})
        return await self.next()

    async def accepted(self) -> None:
        event = await self.connect()
        assert event["type"] == "websocket.accept", event

    def send_text(self, text: str) -> None:
        self.put({"type": "websocket.receive", "text": text})

    def send_json(self, content: Any) -> None:
        self.send_text(json.dumps(content))

    async def receive_json(self) -> Any:
        event = await self.next()
        assert event["type"] == "websocket.send", event
        return json.loads(event["text"])

    async def request(self, content: Any) -> Any:
        self.send_json(content)
        return await self.receive_json()

    async def request_text(self, text: str) -> Any:
        self.send_text(text)
        return await self.receive_json()

    async def disconnect(self, code: int = 1000) -> None:
        self.put({"type": "websocket.disconnect", "code": code})
        await self.finished()

    async def finished(self) -> None:
        await asyncio.wait_for(self.task, TIMEOUT)


# -- connecting ----------------------------------------------------------------------------


def test_accept_is_sent_after_the_connection_groups_were_joined() -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/x/lobby/", probe=lambda: members(router, "g.lobby"))
        await client.accepted()
        assert client.probes[0][0] == "websocket.accept"
        assert len(client.probes[0][1]) == 1  # already a member when accept went out
        assert members(router, "g.other") == frozenset()
        await client.disconnect()
        assert members(router, "g.lobby") == frozenset()

    run(scenario)


def test_connect_that_closes_refuses_and_leaves_groups() -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/refuse/lobby/")
        event = await client.connect()
        assert event["type"] == "websocket.close"
        await client.finished()
        assert client.outbox.empty()  # no accept, before or after
        [(kind, seen)] = recorded
        assert kind == "connect" and len(seen) == 1  # it had joined before connect()
        assert members(router, "g.lobby") == frozenset()

    run(scenario)


def test_connect_that_raises_closes_with_1011_and_leaves_groups(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/crash/lobby/")
        event = await client.connect()
        assert event["type"] == "websocket.close"
        assert event["code"] == 1011
        await client.finished()
        assert client.outbox.empty()
        [(kind, seen)] = recorded
        assert kind == "connect" and len(seen) == 1
        assert members(router, "g.lobby") == frozenset()

    run(scenario)
    assert any("connect failed" in str(r.exc_info) for r in caplog.records if r.exc_info)


def test_unmatched_websocket_path_is_closed_without_accept() -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/nowhere/")
        event = await client.connect()
        assert event["type"] == "websocket.close"
        await client.finished()
        assert client.outbox.empty()

    run(scenario)


def test_route_must_match_from_the_start_of_the_path() -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/prefix/x/lobby/")
        assert (await client.connect())["type"] == "websocket.close"
        await client.finished()

    run(scenario)


# -- messages, replies, errors -------------------------------------------------------------


def test_request_with_id_gets_a_reply_with_the_same_id() -> None:
    async def scenario() -> None:
        client = FakeClient.websocket(make_router(), "/x/lobby/")
        await client.accepted()
        reply = await client.request({"type": "add", "id": 7, "data": {"a": 2, "b": 3}})
        assert reply == {"type": "add", "id": 7, "data": {"total": 5}}
        reply = await client.request({"type": "add", "id": "q-1", "data": {"a": 1, "b": 1}})
        assert reply == {"type": "add", "id": "q-1", "data": {"total": 2}}
        await client.disconnect()

    run(scenario)


def test_handler_sees_the_current_message() -> None:
    async def scenario() -> None:
        client = FakeClient.websocket(make_router(), "/x/lobby/")
        await client.accepted()
        frame = {"type": "add", "data": {"a": 1, "b": 2}, "id": "m1"}
        await client.request(frame)
        await client.disconnect()
        assert recorded == [("add", ("add", "m1", {"a": 1, "b": 2}, frame))]

    run(scenario)


def test_request_without_id_gets_no_reply() -> None:
    async def scenario() -> None:
        client = FakeClient.websocket(make_router(), "/x/lobby/")
        await client.accepted()
        client.send_json({"type": "add", "data": {"a": 1, "b": 1}})
        # Frames are handled in order, so the next frame out answers the second request.
        reply = await client.request({"type": "add", "id": 2, "data": {"a": 10, "b": 10}})
        assert reply == {"type": "add", "id": 2, "data": {"total": 20}}
        assert [kind for kind, _ in recorded] == ["add", "add"]  # the first one did run
        await client.disconnect()

    run(scenario)


def test_handler_without_reply_type_acknowledges_with_null() -> None:
    async def scenario() -> None:
        client = FakeClient.websocket(make_router(), "/x/lobby/")
        await client.accepted()
        assert await client.request({"type": "ping", "id": 3}) == {
            "type": "ping",
            "id": 3,
            "data": None,
        }
        assert recorded == [("ping", 3)]
        await client.disconnect()

    run(scenario)


def test_handler_that_raises_gives_internal_error_and_the_socket_keeps_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        client = FakeClient.websocket(make_router(), "/x/lobby/")
        await client.accepted()
        error = await client.request({"type": "boom", "id": 4})
        assert error == {
            "type": "error",
            "id": 4,
            "error": {"code": "internal", "message": "internal error"},
        }
        client.send_json({"type": "boom"})  # without id: still an error, uncorrelated
        assert await client.receive_json() == {
            "type": "error",
            "error": {"code": "internal", "message": "internal error"},
        }
        reply = await client.request({"type": "add", "id": 5, "data": {"a": 1, "b": 2}})
        assert reply == {"type": "add", "id": 5, "data": {"total": 3}}
        await client.disconnect()

    run(scenario)
    logged = [r for r in caplog.records if r.exc_info is not None]
    assert any("secret detail" in str(r.exc_info[1]) for r in logged if r.exc_info)


def test_reply_that_cannot_be_encoded_is_an_internal_error_and_the_socket_survives() -> None:
    # docs/protocol.md: a message with an id always gets exactly one answer, and an error
    # never closes the socket. A handler returning the wrong type for its reply is a
    # handler failure like any other.
    async def scenario() -> None:
        client = FakeClient.websocket(make_router(), "/x/lobby/")
        await client.accepted()
        error = await client.request({"type": "bad_reply", "id": 6})
        assert error["type"] == "error"
        assert error["id"] == 6
        assert error["error"]["code"] == "internal"
        reply = await client.request({"type": "add", "id": 7, "data": {"a": 1, "b": 2}})
        assert reply == {"type": "add", "id": 7, "data": {"total": 3}}
        await client.disconnect()

    run(scenario)


def test_protocol_errors_are_answered_with_the_id() -> None:
    async def scenario() -> None:
        client = FakeClient.websocket(make_router(), "/x/lobby/")
        await client.accepted()
        invalid = await client.request({"type": "add", "id": 8, "data": {"a": "1", "b": 2}})
        assert invalid == {
            "type": "error",
            "id": 8,
            "error": {
                "code": "invalid",
                "message": "invalid AddPayload payload",
                "details": [{"path": "$.data.a", "message": "expected an integer, got a string"}],
            },
        }
        unknown = await client.request({"type": "nope", "id": 9})
        assert unknown["id"] == 9
        assert unknown["error"]["code"] == "unknown_type"
        assert unknown["error"]["details"][0]["path"] == "$.type"
        bad_json = await client.request_text("{not json")
        assert bad_json["error"]["code"] == "bad_json"
        assert "id" not in bad_json
        client.put({"type": "websocket.receive", "bytes": b"\x00"})
        binary = await client.receive_json()
        assert binary["error"]["code"] == "bad_frame"
        reply = await client.request({"type": "add", "id": 10, "data": {"a": 0, "b": 0}})
        assert reply["data"] == {"total": 0}
        await client.disconnect()

    run(scenario)


def test_text_frame_over_max_message_size_closes_with_1009() -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/record/lobby/")
        await client.accepted()
        # At the limit the frame is still read (and here answered as bad JSON).
        at_limit = await client.request_text(" " * (Calc.max_message_size - 1) + "[")
        assert at_limit["error"]["code"] == "bad_json"
        too_big = json.dumps({"type": "ping", "id": 1}).ljust(Calc.max_message_size + 1)
        client.send_text(too_big)
        event = await client.next()
        assert event["type"] == "websocket.close"
        assert event["code"] == 1009
        await client.disconnect(1009)
        assert client.outbox.empty()  # the oversized frame was not handled
        [(kind, (code, _))] = recorded
        assert (kind, code) == ("disconnect", 1009)
        assert members(router, "g.lobby") == frozenset()

    run(scenario)


# -- disconnecting -------------------------------------------------------------------------


def test_disconnect_runs_with_the_code_then_groups_are_left() -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/record/lobby/")
        await client.accepted()
        assert len(members(router, "g.lobby")) == 1
        await client.disconnect(4001)
        [(kind, (code, during))] = recorded
        assert kind == "disconnect"
        assert code == 4001
        assert len(during) == 1  # still a member while disconnect() runs
        assert members(router, "g.lobby") == frozenset()

    run(scenario)


def test_groups_are_left_even_when_disconnect_raises(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/faildisconnect/lobby/")
        await client.accepted()
        assert len(members(router, "g.lobby")) == 1
        await client.disconnect(1001)
        assert recorded == [("disconnect", 1001)]
        assert members(router, "g.lobby") == frozenset()

    run(scenario)
    assert any(r.exc_info for r in caplog.records)


def test_one_disconnect_leaves_other_connections_in_the_group() -> None:
    async def scenario() -> None:
        router = make_router()
        first = FakeClient.websocket(router, "/x/lobby/")
        second = FakeClient.websocket(router, "/x/lobby/")
        await first.accepted()
        await second.accepted()
        assert len(members(router, "g.lobby")) == 2
        await first.disconnect()
        assert len(members(router, "g.lobby")) == 1
        await second.disconnect()
        assert members(router, "g.lobby") == frozenset()

    run(scenario)


# -- groups and multiplexing ---------------------------------------------------------------


def test_group_event_reaches_each_member_in_its_own_stream() -> None:
    async def scenario() -> None:
        router = make_router()
        sender = FakeClient.websocket(router, "/a/lobby/")  # Calc mounted as "calc"
        peer = FakeClient.websocket(router, "/b/lobby/")  # Calc mounted as "math"
        elsewhere = FakeClient.websocket(router, "/b/attic/")  # another room
        for client in (sender, peer, elsewhere):
            await client.accepted()
        event = {"type": "shouted", "data": {"text": "hi"}}

        sender.send_json(
            {"stream": "calc", "payload": {"type": "shout", "id": 1, "data": {"text": "hi"}}}
        )
        got = [await sender.receive_json(), await sender.receive_json()]
        assert sorted(got, key=json.dumps) == sorted(
            [
                {"stream": "calc", "payload": {"type": "shout", "id": 1, "data": None}},
                {"stream": "calc", "payload": event},
            ],
            key=json.dumps,
        )
        assert await peer.receive_json() == {"stream": "math", "payload": event}

        # The "other" consumer on the sender's socket is in the group too but runs another
        # kind of consumer: it gets nothing, so the next frame answers the next request.
        reply = await sender.request(
            {"stream": "calc", "payload": {"type": "add", "id": 2, "data": {"a": 1, "b": 1}}}
        )
        assert reply == {
            "stream": "calc",
            "payload": {"type": "add", "id": 2, "data": {"total": 2}},
        }
        # Another room's member got nothing either.
        reply = await elsewhere.request({"stream": "math", "payload": {"type": "ping", "id": 3}})
        assert reply == {"stream": "math", "payload": {"type": "ping", "id": 3, "data": None}}
        for client in (sender, peer, elsewhere):
            await client.disconnect()
        assert members(router, "g.lobby") == frozenset()

    run(scenario)


def test_group_event_reaches_every_stream_running_the_sending_consumer() -> None:
    async def scenario() -> None:
        router = make_router()
        twin = FakeClient.websocket(router, "/twin/lobby/")
        sender = FakeClient.websocket(router, "/b/lobby/")
        for client in (twin, sender):
            await client.accepted()
        event = {"type": "shouted", "data": {"text": "hi"}}
        reply = await sender.request(
            {"stream": "math", "payload": {"type": "shout", "id": 1, "data": {"text": "hi"}}}
        )
        assert reply in (
            {"stream": "math", "payload": {"type": "shout", "id": 1, "data": None}},
            {"stream": "math", "payload": event},
        )
        got = [await twin.receive_json(), await twin.receive_json()]
        assert sorted(got, key=json.dumps) == [
            {"stream": "left", "payload": event},
            {"stream": "right", "payload": event},
        ]
        for client in (twin, sender):
            await client.disconnect()

    run(scenario)


def test_demultiplexer_routes_streams_and_reports_stream_errors() -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/a/lobby/")
        await client.accepted()
        # One connection joins a group once even when two streams name it.
        assert len(members(router, "g.lobby")) == 1
        reply = await client.request({"stream": "other", "payload": {"type": "ping", "id": 1}})
        assert reply == {"stream": "other", "payload": {"type": "ping", "id": 1, "data": None}}
        # An error inside a valid envelope is the stream's and comes back wrapped.
        inner = await client.request({"stream": "calc", "payload": {"type": "nope", "id": 2}})
        assert inner["stream"] == "calc"
        assert inner["payload"]["id"] == 2
        assert inner["payload"]["error"]["code"] == "unknown_type"
        # Errors that belong to no stream come back unwrapped.
        unknown = await client.request({"stream": "zzz", "payload": {}})
        assert unknown["type"] == "error"
        assert unknown["error"]["code"] == "unknown_stream"
        assert unknown["error"]["details"] == [
            {"path": "$.stream", "message": "expected one of: calc, other"}
        ]
        malformed = await client.request({"payload": {}})
        assert malformed["error"]["code"] == "bad_frame"
        assert "stream" not in malformed
        await client.disconnect()
        assert members(router, "g.lobby") == frozenset()

    run(scenario)


def test_layer_message_of_unknown_type_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        router = make_router()
        client = FakeClient.websocket(router, "/x/lobby/")
        await client.accepted()
        [channel] = members(router, "g.lobby")
        with caplog.at_level(logging.WARNING):
            await layer_of(router).send(channel, {"type": "mystery.thing"})
            # The group event queues behind the unknown message on the same channel, so
            # once it arrives the unknown one has been handled.
            client.send_json({"type": "shout", "data": {"text": "still here"}})
            assert await client.receive_json() == {
                "type": "shouted",
                "data": {"text": "still here"},
            }
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("mystery.thing" in w for w in warnings), warnings
        reply = await client.request({"type": "add", "id": 1, "data": {"a": 2, "b": 2}})
        assert reply["data"] == {"total": 4}
        await client.disconnect()

    run(scenario)


def test_demultiplexer_encode() -> None:
    assert WebsocketDemultiplexer.encode("s", {"a": 1}) == '{"stream":"s","payload":{"a":1}}'
    assert MathDemux.encode("math", None) == '{"stream":"math","payload":null}'


# -- other ASGI scopes ---------------------------------------------------------------------


def test_http_scope_gets_404() -> None:
    async def scenario() -> None:
        client = FakeClient(make_router(), {"type": "http", "path": "/", "method": "GET"})
        start = await client.next()
        assert start["type"] == "http.response.start"
        assert start["status"] == 404
        body = await client.next()
        assert body["type"] == "http.response.body"
        assert b"Not Found" in body["body"]
        await client.finished()

    run(scenario)


def test_lifespan_startup_and_shutdown_complete() -> None:
    async def scenario() -> None:
        client = FakeClient(make_router(), {"type": "lifespan", "asgi": {"version": "3.0"}})
        client.put({"type": "lifespan.startup"})
        assert (await client.next())["type"] == "lifespan.startup.complete"
        client.put({"type": "lifespan.shutdown"})
        assert (await client.next())["type"] == "lifespan.shutdown.complete"
        await client.finished()

    run(scenario)
