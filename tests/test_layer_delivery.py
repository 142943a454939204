"""Group delivery through the channel layer, end to end: order, isolation, loss, idling.

The generated chat app (Lobby: streams chat and echo) runs behind ``runtime.Router``; each
socket here is a raw ASGI driver whose ``send`` can be held (a client that stopped
reading, as uvicorn's send blocks on a paused transport) or can fail (a client gone).
Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, ClassVar, TypeVar

import orjson
import pytest

from chgen.runtime import InMemoryChannelLayer, JsonWebsocketConsumer, Router, route
from chgen.runtime.connection import Connection
from generated.chat.routing import Lobby, routes
from handlers.chat import Chat

T = TypeVar("T")
TIMEOUT = 5.0


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), 20)

    return asyncio.run(bounded())


class Socket:
    """One WebSocket as the app sees it, driven in process."""

    def __init__(self, app: Router, room: str = "r") -> None:
        self.app = app
        self.path = f"/ws/{room}/"
        self.frames: list[dict[str, Any]] = []
        self.gate: asyncio.Event | None = None  # while set to an unset Event, sends block
        self.gone = False  # sends raise, as for a client that left
        self._inbox: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> Socket:
        scope = {"type": "websocket", "path": self.path, "headers": [], "subprotocols": []}
        self._task = asyncio.create_task(self.app(scope, self._inbox.get, self._send))
        await self._inbox.put({"type": "websocket.connect"})
        await self.wait_for(lambda: any(f["type"] == "websocket.accept" for f in self.frames))
        return self

    async def close(self) -> None:
        await self._inbox.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        await asyncio.wait_for(self._task, TIMEOUT)

    async def post(self, text: str, n: int) -> None:
        frame = {"stream": "chat", "payload": {"type": "post", "id": n, "data": {"text": text}}}
        await self._inbox.put({"type": "websocket.receive", "text": orjson.dumps(frame).decode()})

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        out = []
        for frame in self.frames:
            if frame["type"] == "websocket.send":
                payload = orjson.loads(frame["text"])["payload"]
                if payload["type"] == kind:
                    out.append(payload)
        return out

    def sent_texts(self) -> list[str]:
        return [f["text"] for f in self.frames if f["type"] == "websocket.send"]

    def posted(self) -> list[str]:
        return [p["data"]["text"] for p in self.payloads("posted")]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"timed out; got {len(self.frames)} frames")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "websocket.send":
            if self.gone:
                raise OSError("connection reset by peer")
            if self.gate is not None:
                await self.gate.wait()
        self.frames.append(dict(message))
        self._arrived.set()


async def open_room(app: Router, n: int) -> list[Socket]:
    return [await Socket(app).open() for _ in range(n)]


async def close_all(sockets: list[Socket]) -> None:
    for socket in sockets:
        await socket.close()


async def post_burst(sender: Socket, texts: list[str]) -> None:
    """Post every text back to back, not waiting for acks; ids count from 0."""
    for n, text in enumerate(texts):
        await sender.post(text, n)


async def expect_posted(sockets: list[Socket], texts: list[str]) -> None:
    """Every socket gets exactly ``texts`` as posted events, in order."""
    for socket in sockets:
        await socket.wait_for(lambda s=socket: len(s.posted()) >= len(texts))
        assert socket.posted() == texts


async def until(condition: Callable[[], bool]) -> None:
    """Wait, up to a second, for ``condition``; the caller asserts what it expects."""
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0.01)


def test_every_member_gets_a_burst_in_order() -> None:
    async def scenario() -> None:
        app = Router(routes)
        sockets = await open_room(app, 5)
        sender = sockets[0]
        texts = [f"m{n}" for n in range(300)]
        await post_burst(sender, texts)
        await expect_posted(sockets, texts)
        assert [a["id"] for a in sender.payloads("post")] == list(range(300))
        await close_all(sockets)

    run(scenario)


def test_a_blocked_member_stalls_neither_the_sender_nor_the_others() -> None:
    async def scenario() -> None:
        app = Router(routes)
        sockets = await open_room(app, 4)
        sender, slow, gone, fast = sockets
        slow.gate = asyncio.Event()  # stops reading: its sends block
        gone.gone = True  # left without a disconnect yet: its sends fail
        texts = [f"m{n}" for n in range(50)]
        await post_burst(sender, texts)
        # The sender gets every ack and the healthy members every event while `slow`
        # is still blocked on its first event.
        await sender.wait_for(lambda: len(sender.payloads("post")) == len(texts))
        await fast.wait_for(lambda: len(fast.posted()) == len(texts))
        assert sender.posted() == texts and fast.posted() == texts
        assert slow.posted() == []
        # Once it reads again it gets everything, in order.
        slow.gate.set()
        await slow.wait_for(lambda: len(slow.posted()) == len(texts))
        assert slow.posted() == texts
        gone.gone = False
        await close_all(sockets)

    run(scenario)


class Recorded(Connection):
    """Remembers every connection the router opens."""

    opened: ClassVar[list[Connection]] = []

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.opened.append(self)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Connection]:
    """Every connection the router opens in the test, in order."""
    monkeypatch.setattr("chgen.runtime.routing.Connection", Recorded)
    monkeypatch.setattr(Recorded, "opened", [])
    return Recorded.opened


def test_a_blocked_member_past_capacity_loses_events_counted_warned_and_reported(
    caplog: pytest.LogCaptureFixture, opened: list[Connection]
) -> None:
    capacity = 5

    async def scenario() -> tuple[int, list[int]]:
        layer = InMemoryChannelLayer(capacity=capacity)
        app = Router(routes, layer=layer)
        sender, slow, fast = await open_room(app, 3)
        slow.gate = asyncio.Event()
        texts = [f"m{n}" for n in range(20)]
        for n, text in enumerate(texts):
            # One at a time, so that only the blocked member falls behind.
            await sender.post(text, n)
            await fast.wait_for(lambda n=n: len(fast.posted()) == n + 1)
        assert fast.posted() == texts
        # `slow` holds one event in its blocked send and `capacity` more wait for it.
        assert layer.dropped == len(texts) - 1 - capacity
        slow.gate.set()
        await slow.wait_for(lambda: len(slow.posted()) == 1 + capacity)
        assert slow.posted() == texts[: 1 + capacity]
        # Delivery goes on once the socket reads again.
        await sender.post("last", 99)
        await slow.wait_for(lambda: slow.posted()[-1:] == ["last"])
        lost = [c.lost_events for c in opened]
        await close_all([sender, slow, fast])
        return layer.dropped, lost

    with caplog.at_level(logging.WARNING):
        dropped, lost = run(scenario)
    assert dropped == 20 - 1 - capacity
    assert lost == [0, dropped, 0], "only the blocked socket missed events"
    layer_warnings = [r for r in caplog.records if r.name == "chgen.runtime.layers"]
    assert len(layer_warnings) == dropped
    assert all("is full; dropped" in r.getMessage() for r in layer_warnings)
    # The layer said so as it dropped each one (and told the socket, for lost_events);
    # a sequence check on top would only repeat it.
    assert [r for r in caplog.records if r.name == "chgen.runtime.gaps"] == []


def test_channels_own_in_memory_layer_still_delivers_through_the_pump() -> None:
    channels_layers = pytest.importorskip("channels.layers")

    async def scenario() -> None:
        layer = channels_layers.InMemoryChannelLayer()
        assert not hasattr(layer, "watch_channel")
        app = Router(routes, layer=layer)
        sockets = await open_room(app, 3)
        texts = [f"m{n}" for n in range(30)]
        await post_burst(sockets[1], texts)
        await expect_posted(sockets, texts)
        await close_all(sockets)

    run(scenario)


class ChannelsStyleLayer:
    """Only Channels' layer interface, over runtime's layer: no watch extension."""

    def __init__(self) -> None:
        self._inner = InMemoryChannelLayer()
        self.receives = 0

    async def new_channel(self, prefix: str = "specific.") -> str:
        return await self._inner.new_channel(prefix)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        await self._inner.send(channel, message)

    async def receive(self, channel: str) -> dict[str, Any]:
        self.receives += 1
        return await self._inner.receive(channel)

    async def group_add(self, group: str, channel: str) -> None:
        await self._inner.group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        await self._inner.group_discard(group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await self._inner.group_send(group, message)


async def _noop_send(message: MutableMapping[str, Any]) -> None:
    pass


def test_a_layer_without_the_extension_gets_a_pump_that_reads_receive() -> None:
    async def scenario() -> None:
        layer = ChannelsStyleLayer()
        connection = Connection({"type": "websocket"}, _noop_send, layer)
        got: list[dict[str, Any]] = []

        async def handler(message: dict[str, Any]) -> None:
            got.append(message)

        connection.delivery.on_message(handler)
        await connection.delivery.join("room")
        assert connection.delivery._pump is not None, "other layers are read by a pump task"
        for n in range(3):
            await layer.group_send("room", {"type": "x", "n": n})
        await until(lambda: len(got) == 3)
        assert [m["n"] for m in got] == [0, 1, 2]
        assert layer.receives >= 3
        await connection.delivery.release()
        assert connection.delivery._pump is None

    run(scenario)


def test_an_idle_member_has_no_delivery_task() -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer()
        connections = [Connection({"type": "websocket"}, _noop_send, layer) for _ in range(50)]
        got: list[int] = []

        async def handler(message: dict[str, Any]) -> None:
            got.append(message["n"])

        before = len(asyncio.all_tasks())
        for connection in connections:
            connection.delivery.on_message(handler)
            await connection.delivery.join("room")
        assert len(asyncio.all_tasks()) == before, "joined but idle: no task per socket"
        assert all(c.delivery._pump is None for c in connections)
        await layer.group_send("room", {"type": "x", "n": 1})
        # Handlers that need not wait finish inside group_send: no task at all.
        assert got == [1] * 50
        assert all(c.delivery._pump is None for c in connections)
        assert len(asyncio.all_tasks()) == before
        for connection in connections:
            await connection.delivery.release()
        assert layer.members("room") == frozenset()

    run(scenario)


def test_an_idle_socket_behind_the_router_has_no_task_but_its_own() -> None:
    async def scenario() -> None:
        app = Router(routes)
        before = len(asyncio.all_tasks())
        sockets = await open_room(app, 20)
        # One task per socket: the app's own (the test's driver); none reading the layer.
        assert len(asyncio.all_tasks()) == before + 20
        await sockets[0].post("hi", 1)
        for socket in sockets:
            await socket.wait_for(lambda s=socket: s.posted() == ["hi"])
        await asyncio.sleep(0)
        assert len(asyncio.all_tasks()) == before + 20
        await close_all(sockets)

    run(scenario)


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


def test_delivery_runs_in_the_members_context_not_the_senders() -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer()
        seen: list[str] = []

        async def handler(message: dict[str, Any]) -> None:
            seen.append(REQUEST_ID.get("unset"))

        async def member() -> Connection:
            REQUEST_ID.set("member")
            connection = Connection({"type": "websocket"}, _noop_send, layer)
            connection.delivery.on_message(handler)
            await connection.delivery.join("room")
            return connection

        connection = await asyncio.create_task(member())

        async def sender() -> None:
            REQUEST_ID.set("sender")
            await layer.group_send("room", {"type": "x"})

        await asyncio.create_task(sender())
        await until(lambda: bool(seen))
        assert seen == ["member"]
        await connection.delivery.release()

    run(scenario)


def test_release_during_a_blocked_delivery_ends_it_and_later_messages_start_nothing() -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer()
        gate = asyncio.Event()
        started = asyncio.Event()

        async def handler(message: dict[str, Any]) -> None:
            started.set()
            await gate.wait()

        connection = Connection({"type": "websocket"}, _noop_send, layer)
        connection.delivery.on_message(handler)
        await connection.delivery.join("room")
        channel = connection.delivery.channel_name
        assert channel is not None
        await layer.group_send("room", {"type": "x"})
        await asyncio.wait_for(started.wait(), TIMEOUT)
        await asyncio.wait_for(connection.delivery.release(), TIMEOUT)
        assert connection.delivery._pump is None
        await layer.send(channel, {"type": "late"})  # to a channel nobody watches now
        assert connection.delivery._pump is None

    run(scenario)


def test_receive_serves_several_waiters_and_a_cancelled_one_loses_nothing() -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer()
        channel = await layer.new_channel()
        first = asyncio.create_task(layer.receive(channel))
        second = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0)
        await layer.send(channel, {"n": 1})
        first.cancel()  # woken, but cancelled before it ran: its turn passes on
        await asyncio.sleep(0)
        assert await asyncio.wait_for(second, TIMEOUT) == {"n": 1}
        assert first.cancelled()
        await layer.send(channel, {"n": 2})
        assert await asyncio.wait_for(layer.receive(channel), TIMEOUT) == {"n": 2}

    run(scenario)


def test_zero_capacity_means_unbounded_as_with_asyncio_queue() -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer(capacity=0)
        channel = await layer.new_channel()
        for n in range(2000):
            await layer.send(channel, {"n": n})
        assert [layer.receive_nowait(channel) for _ in range(2000)] == [
            {"n": n} for n in range(2000)
        ]
        assert layer.receive_nowait(channel) is None

    run(scenario)


def test_close_channel_leaves_every_group_of_the_channel() -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer()
        a, b = await layer.new_channel(), await layer.new_channel()
        for group in ("one", "two", "three"):
            await layer.group_add(group, a)
            await layer.group_add(group, b)
        await layer.group_add("one", a)  # twice: still one membership
        await layer.group_discard("two", a)
        assert layer.members("two") == {b}
        await layer.close_channel(a)
        assert [layer.members(g) for g in ("one", "two", "three")] == [{b}, {b}, {b}]
        await layer.close_channel(b)
        assert [layer.members(g) for g in ("one", "two", "three")] == [frozenset()] * 3

    run(scenario)


# -- forwarding: group events of chgen's own consumers go straight to the socket ----------


class Audited(Chat):
    """Chat with its own deliver_group_event: the hook must see every event."""

    seen: ClassVar[list[str]] = []

    def deliver_group_event(self, message: dict[str, Any]) -> Awaitable[None]:
        self.seen.append(orjson.loads(message["frame"])["data"]["text"])
        return super().deliver_group_event(message)


class AuditedLobby(Lobby):
    consumers: ClassVar[Mapping[str, type[JsonWebsocketConsumer]]] = {
        **Lobby.consumers,
        "chat": Audited,
    }


def test_forwarded_events_reach_plain_and_multiplexed_sockets_in_order() -> None:
    async def scenario() -> None:
        app = Router(
            [route(r"^/ws/(?P<room>[a-z]+)/$", Lobby), route(r"^/p/(?P<room>[a-z]+)/$", Chat)]
        )
        muxed = [await Socket(app).open() for _ in range(3)]
        plain = Socket(app)
        plain.path = "/p/r/"
        await plain.open()
        texts = [f"m{n}" for n in range(30)]
        await post_burst(muxed[0], texts)
        await expect_posted(muxed, texts)
        await plain.wait_for(lambda: len(plain.sent_texts()) == len(texts))
        # Without an envelope: the event frame itself.
        assert [orjson.loads(t)["data"]["text"] for t in plain.sent_texts()] == texts
        await close_all([*muxed, plain])

    run(scenario)


def test_an_overridden_delivery_hook_sees_every_event() -> None:
    async def scenario() -> None:
        Audited.seen = []
        app = Router([route(r"^/ws/(?P<room>[a-z]+)/$", AuditedLobby)])
        sockets = await open_room(app, 3)
        for n in range(5):
            await sockets[0].post(f"m{n}", n)
        for socket in sockets:
            await socket.wait_for(lambda s=socket: len(s.posted()) == 5)
        assert sorted(Audited.seen) == sorted([f"m{n}" for n in range(5)] * 3)
        await close_all(sockets)

    run(scenario)


def test_a_closed_socket_leaves_nothing_forwarded_behind(opened: list[Connection]) -> None:

    async def scenario() -> None:
        app = Router(routes)
        sockets = await open_room(app, 2)
        assert all(c.delivery._forwards for c in opened), "both forward their room's events"
        await close_all(sockets)
        assert [c.delivery._forwards for c in opened] == [None, None]

    run(scenario)


def test_a_socket_the_server_closed_is_sent_no_more_group_events(
    opened: list[Connection],
) -> None:

    async def scenario() -> None:
        app = Router(routes)
        sender, closing = await open_room(app, 2)
        await sender.post("before", 0)
        await expect_posted([sender, closing], ["before"])
        await opened[1].close()  # still in the room until its client says goodbye
        await sender.post("after", 1)
        await expect_posted([sender], ["before", "after"])
        kinds = [f["type"] for f in closing.frames]
        assert kinds[kinds.index("websocket.close") :] == ["websocket.close"]
        await close_all([sender, closing])

    run(scenario)


def test_events_queued_behind_a_slow_send_are_dropped_once_the_server_closes_the_socket(
    opened: list[Connection],
) -> None:

    async def scenario() -> None:
        app = Router(routes)
        sender, slow = await open_room(app, 2)
        slow.gate = asyncio.Event()  # its next send blocks, as on a paused transport
        await post_burst(sender, ["m0", "m1", "m2"])
        await expect_posted([sender], ["m0", "m1", "m2"])
        await opened[1].close()  # m0's write is under way; m1 and m2 wait
        slow.gate.set()
        await sender.post("after", 3)
        await expect_posted([sender], ["m0", "m1", "m2", "after"])
        kinds = [f["type"] for f in slow.frames]
        after_close = kinds[kinds.index("websocket.close") + 1 :]
        assert after_close == ["websocket.send"], "only the write already under way"
        await close_all([sender, slow])

    run(scenario)


def test_a_handler_that_sends_to_its_own_group_gets_every_message_in_order() -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer()
        got: list[int] = []
        count = 200

        async def relay(message: dict[str, Any]) -> None:
            # Runs inside the group_send that delivers it; sends the next one at once.
            got.append(message["n"])
            if message["n"] < count:
                await layer.group_send("room", {"type": "x", "n": message["n"] + 1})

        connection = Connection({"type": "websocket"}, _noop_send, layer)
        connection.delivery.on_message(relay)
        await connection.delivery.join("room")
        await layer.group_send("room", {"type": "x", "n": 1})
        # The chain goes on in a task, not down the stack: the loop stays responsive.
        assert len(got) < count
        await until(lambda: len(got) == count)
        assert got == list(range(1, count + 1))
        await connection.delivery.release()

    run(scenario)


def test_a_handler_failing_at_once_is_logged_and_the_sender_never_hears_of_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer()
        got: list[int] = []

        def handler(message: dict[str, Any]) -> Awaitable[None]:
            if message["n"] == 2:
                raise RuntimeError("bad message")
            got.append(message["n"])
            return asyncio.sleep(0)

        connection = Connection({"type": "websocket"}, _noop_send, layer)
        connection.delivery.on_message(handler)
        await connection.delivery.join("room")
        for n in range(1, 4):
            await layer.group_send("room", {"type": "x", "n": n})
        await until(lambda: len(got) == 2)
        assert got == [1, 3]
        await connection.delivery.release()

    with caplog.at_level(logging.ERROR, logger="chgen.runtime.delivery.inbox"):
        run(scenario)
    assert [r.getMessage() for r in caplog.records if r.name == "chgen.runtime.delivery.inbox"] == [
        "error handling layer message of type 'x'"
    ]


def test_forwarded_sends_run_in_the_members_context() -> None:
    async def scenario() -> None:
        seen: list[str] = []
        app = Router(routes)

        async def member() -> Socket:
            REQUEST_ID.set("member")
            socket = Socket(app)
            send = socket._send

            async def observed(message: MutableMapping[str, Any]) -> None:
                # What a middleware wrapping the ASGI send would see.
                if message["type"] == "websocket.send":
                    seen.append(REQUEST_ID.get("unset"))
                await send(message)

            socket._send = observed  # type: ignore[method-assign]
            return await socket.open()

        receiver = await asyncio.create_task(member())
        sender = await Socket(app).open()
        REQUEST_ID.set("sender")
        await sender.post("hi", 1)
        await receiver.wait_for(lambda: receiver.posted() == ["hi"])
        assert seen == ["member"]
        await close_all([receiver, sender])

    run(scenario)


def test_a_member_leaving_while_its_forwarded_send_waits_ends_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        app = Router(routes)
        sender, slow = await open_room(app, 2)
        slow.gate = asyncio.Event()  # its next send blocks, as on a paused transport
        for n in range(3):
            await sender.post(f"m{n}", n)
        await sender.wait_for(lambda: len(sender.posted()) == 3)
        assert slow.posted() == []
        # It disconnects with a send still waiting: the delivery task is cancelled and
        # the socket's groups are left, without waiting for the gate.
        await asyncio.wait_for(slow.close(), TIMEOUT)
        await sender.post("after", 9)
        await sender.wait_for(lambda: sender.posted()[-1:] == ["after"])
        await sender.close()

    with caplog.at_level(logging.WARNING):
        run(scenario)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
