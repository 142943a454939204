"""Group delivery through the channel layer, end to end: order, isolation, loss, idling.

The generated chat app (Lobby: streams chat and echo) runs behind ``runtime.Router`` and
each socket is a ``chgen.runtime.testing.WebsocketClient``, which can stop reading (a
client whose transport is paused: the app's sends wait) or vanish (its sends fail). The
delivery package itself is driven through ``Connection.delivery`` where no consumer is
needed. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Mapping, MutableMapping
from typing import Any, ClassVar

import orjson
import pytest

from chgen.runtime import (
    DispatchTable,
    InMemoryChannelLayer,
    JsonWebsocketConsumer,
    Router,
    WebsocketDemultiplexer,
    route,
)
from chgen.runtime.asgi import ASGIApp, Receive, Scope, Send
from chgen.runtime.connection import Connection
from chgen.runtime.testing import WebsocketClient
from generated.chat.payloads import Ack, Post
from generated.chat.routing import Lobby, routes
from handlers.chat import Chat

TIMEOUT = 5.0
ROOM = r"^/ws/(?P<room>[a-z]+)/$"


async def open_room(app: ASGIApp, n: int, path: str = "/ws/r/") -> list[WebsocketClient]:
    clients = [WebsocketClient(app, path, timeout=TIMEOUT) for _ in range(n)]
    for client in clients:
        await client.connect()
    return clients


async def close_all(clients: list[WebsocketClient]) -> None:
    for client in clients:
        await client.close()


async def post_burst(sender: WebsocketClient, texts: list[str]) -> None:
    """Post every text back to back, not waiting for acks; ids count from 0."""
    for n, text in enumerate(texts):
        await sender.send("post", Post(text=text), stream="chat", id=n)


async def posted(client: WebsocketClient, count: int) -> list[str]:
    """The texts of the next ``count`` posted events ``client`` receives, in order."""
    return [(await client.event("posted", stream="chat"))["text"] for _ in range(count)]


async def expect_posted(clients: list[WebsocketClient], texts: list[str]) -> None:
    """Every client gets exactly ``texts`` as posted events, in order."""
    for client in clients:
        assert await posted(client, len(texts)) == texts


async def acks(sender: WebsocketClient, count: int) -> list[int]:
    """The ids of the next ``count`` frames ``sender`` receives, all of them acks."""
    frames = [await sender.receive() for _ in range(count)]
    assert all(f["payload"]["type"] == "post" for f in frames), frames
    return [f["payload"]["id"] for f in frames]


async def until(condition: Any) -> None:
    """Wait, up to a second, for ``condition()``; the caller asserts what it expects."""
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0.01)


class Kept(Chat):
    """Chat that keeps each of its instances, so a test can act on the server side."""

    instances: ClassVar[list[Kept]] = []

    async def connect(self) -> None:
        self.instances.append(self)
        await super().connect()


class KeptLobby(Lobby):
    consumers: ClassVar[Mapping[str, type[JsonWebsocketConsumer]]] = {
        **Lobby.consumers,
        "chat": Kept,
    }


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> list[Kept]:
    """The chat consumers of the sockets a ``KeptLobby`` opens in the test, in order."""
    monkeypatch.setattr(Kept, "instances", [])
    return Kept.instances


async def test_every_member_gets_a_burst_in_order() -> None:
    sockets = await open_room(Router(routes), 5)
    sender = sockets[0]
    texts = [f"m{n}" for n in range(300)]
    await post_burst(sender, texts)
    await expect_posted(sockets, texts)
    assert await acks(sender, len(texts)) == list(range(300))
    await close_all(sockets)


async def test_a_blocked_member_stalls_neither_the_sender_nor_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="chgen.runtime.connection")
    sender, slow, gone, fast = await open_room(Router(routes), 4)
    slow.pause()  # stops reading: its sends wait
    texts = [f"m{n}" for n in range(50)]
    await post_burst(sender, texts)
    # Vanishes before the app has read the burst (the sender's task runs first): every
    # send to it fails, while it is still a member.
    gone.drop()
    # The sender gets every ack and the healthy members every event while `slow` is
    # still blocked on its first event.
    await expect_posted([sender, fast], texts)
    assert await acks(sender, len(texts)) == list(range(50))
    await slow.expect_nothing()
    # Once it reads again it gets everything, in order.
    slow.resume()
    await expect_posted([slow], texts)
    await close_all([sender, slow, fast, gone])
    dropped = [r for r in caplog.records if "socket gone, frame dropped" in r.getMessage()]
    assert len(dropped) == 1, "the vanished member failed its first send and was skipped"


async def test_a_blocked_member_past_capacity_loses_events_counted_warned_and_reported(
    caplog: pytest.LogCaptureFixture, kept: list[Kept]
) -> None:
    caplog.set_level(logging.WARNING)
    capacity = 5
    layer = InMemoryChannelLayer(capacity=capacity)
    sender, slow, fast = await open_room(Router([route(ROOM, KeptLobby)], layer=layer), 3)
    slow.pause()
    texts = [f"m{n}" for n in range(20)]
    for n, text in enumerate(texts):
        # One at a time, so that only the blocked member falls behind.
        await sender.send("post", Post(text=text), stream="chat", id=n)
        assert await posted(fast, 1) == [text]
    # `slow` holds one event in its blocked send and `capacity` more wait for it.
    dropped = len(texts) - 1 - capacity
    assert layer.dropped == dropped
    slow.resume()
    assert await posted(slow, 1 + capacity) == texts[: 1 + capacity]
    # Once it caught up, the socket is told how many it missed, in its stream.
    gap = await slow.gap(stream="chat")
    assert gap == {"lost": dropped, "reason": "slow"}
    # Delivery goes on once the socket reads again.
    await sender.send("post", Post(text="last"), stream="chat", id=99)
    assert await posted(slow, 1) == ["last"]
    assert [consumer.connection.lost_events for consumer in kept] == [0, dropped, 0]
    await close_all([sender, slow, fast])
    # One line for the whole incident, with its count; none from the layer, which told
    # the socket of each drop (for lost_events), nor from a sequence check on top.
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"a socket on '/ws/r/' read too slowly for {lines[0].split(' for ')[1].split(' s')[0]} s: "
        f"{dropped} group event(s) dropped for it"
    ], lines


async def test_channels_own_in_memory_layer_still_delivers_through_the_pump() -> None:
    channels_layers = pytest.importorskip("channels.layers")
    layer = channels_layers.InMemoryChannelLayer()
    assert not hasattr(layer, "watch_channel")
    sockets = await open_room(Router(routes, layer=layer), 3)
    texts = [f"m{n}" for n in range(30)]
    await post_burst(sockets[1], texts)
    await expect_posted(sockets, texts)
    await close_all(sockets)


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


async def test_a_layer_without_the_extension_is_read_by_one_task_until_released() -> None:
    layer = ChannelsStyleLayer()
    delivery = Connection({"type": "websocket"}, _noop_send, layer).delivery
    got: list[dict[str, Any]] = []

    async def handler(message: dict[str, Any]) -> None:
        got.append(message)

    delivery.on_message(handler)
    before = len(asyncio.all_tasks())
    await delivery.join("room")
    assert len(asyncio.all_tasks()) == before + 1, "other layers are read by a task"
    for n in range(3):
        await layer.group_send("room", {"type": "x", "n": n})
    await until(lambda: len(got) == 3)
    assert [m["n"] for m in got] == [0, 1, 2]
    assert layer.receives >= 3
    await delivery.release()
    assert len(asyncio.all_tasks()) == before, "released: the task is gone"


async def test_an_idle_member_has_no_delivery_task() -> None:
    layer = InMemoryChannelLayer()
    deliveries = [Connection({"type": "websocket"}, _noop_send, layer).delivery for _ in range(50)]
    got: list[int] = []

    async def handler(message: dict[str, Any]) -> None:
        got.append(message["n"])

    before = len(asyncio.all_tasks())
    for delivery in deliveries:
        delivery.on_message(handler)
        await delivery.join("room")
    assert len(asyncio.all_tasks()) == before, "joined but idle: no task per socket"
    await layer.group_send("room", {"type": "x", "n": 1})
    # Handlers that need not wait finish inside group_send: no task at all.
    assert got == [1] * 50
    assert len(asyncio.all_tasks()) == before
    for delivery in deliveries:
        await delivery.release()
    assert layer.members("room") == frozenset()


async def test_an_idle_socket_behind_the_router_has_no_task_but_its_own() -> None:
    app = Router(routes)
    before = len(asyncio.all_tasks())
    sockets = await open_room(app, 20)
    # One task per socket: the app's own (the client's driver); none reading the layer.
    assert len(asyncio.all_tasks()) == before + 20
    await sockets[0].send("post", Post(text="hi"), stream="chat", id=1)
    await expect_posted(sockets, ["hi"])
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == before + 20
    await close_all(sockets)


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


async def test_delivery_runs_in_the_members_context_not_the_senders() -> None:
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


async def test_release_during_a_blocked_delivery_ends_it_and_later_messages_start_nothing() -> None:
    layer = InMemoryChannelLayer()
    gate = asyncio.Event()
    started: list[dict[str, Any]] = []

    async def handler(message: dict[str, Any]) -> None:
        started.append(message)
        await gate.wait()

    delivery = Connection({"type": "websocket"}, _noop_send, layer).delivery
    delivery.on_message(handler)
    before = len(asyncio.all_tasks())
    await delivery.join("room")
    channel = delivery.channel_name
    assert channel is not None
    await layer.group_send("room", {"type": "x"})
    assert len(started) == 1 and len(asyncio.all_tasks()) == before + 1, "a blocked delivery"
    await asyncio.wait_for(delivery.release(), TIMEOUT)
    assert len(asyncio.all_tasks()) == before, "release ended it"
    await layer.send(channel, {"type": "late"})  # to a channel nobody watches now
    await asyncio.sleep(0)
    assert len(started) == 1 and len(asyncio.all_tasks()) == before


async def test_receive_serves_several_waiters_and_a_cancelled_one_loses_nothing() -> None:
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


async def test_zero_capacity_means_unbounded_as_with_asyncio_queue() -> None:
    layer = InMemoryChannelLayer(capacity=0)
    channel = await layer.new_channel()
    for n in range(2000):
        await layer.send(channel, {"n": n})
    assert [layer.receive_nowait(channel) for _ in range(2000)] == [{"n": n} for n in range(2000)]
    assert layer.receive_nowait(channel) is None


async def test_close_channel_leaves_every_group_of_the_channel() -> None:
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


async def test_forwarded_events_reach_plain_and_multiplexed_sockets_in_order() -> None:
    app = Router([route(ROOM, Lobby), route(r"^/p/(?P<room>[a-z]+)/$", Chat)])
    muxed = await open_room(app, 3)
    [plain] = await open_room(app, 1, "/p/r/")
    texts = [f"m{n}" for n in range(30)]
    await post_burst(muxed[0], texts)
    await expect_posted(muxed, texts)
    # Without an envelope: the event frame itself.
    events = [await plain.event("posted") for _ in texts]
    assert [event["text"] for event in events] == texts
    await close_all([*muxed, plain])


async def test_an_overridden_delivery_hook_sees_every_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Audited, "seen", [])
    sockets = await open_room(Router([route(ROOM, AuditedLobby)]), 3)
    for n in range(5):
        await sockets[0].send("post", Post(text=f"m{n}"), stream="chat", id=n)
    await expect_posted(sockets, [f"m{n}" for n in range(5)])
    assert sorted(Audited.seen) == sorted([f"m{n}" for n in range(5)] * 3)
    await close_all(sockets)


class Quitting(Chat):
    """Chat whose post "/quit" leaves its groups while the socket stays open."""

    async def post(self, data: Post) -> Ack:
        if data.text != "/quit":
            return await super().post(data)
        await self.leave_groups()
        return Ack(id=0)


class Listener(JsonWebsocketConsumer):
    """A second stream in the same room: it keeps the socket in the group."""

    consumer_name: ClassVar[str] = "Listener"
    connection_group_templates: ClassVar[tuple[str, ...]] = ("room.{room}",)
    dispatch_table: ClassVar[DispatchTable] = DispatchTable(())


class QuittingLobby(WebsocketDemultiplexer):
    consumers: ClassVar[Mapping[str, type[JsonWebsocketConsumer]]] = {
        "chat": Quitting,
        "listen": Listener,
    }


async def test_a_stream_that_left_its_room_is_sent_no_more_of_its_events() -> None:
    layer = InMemoryChannelLayer()
    quitter, stayer = await open_room(Router([route(ROOM, QuittingLobby)], layer=layer), 2)
    await quitter.request("post", Post(text="/quit"), stream="chat")
    assert len(layer.members("room.r")) == 2, "the listener keeps both sockets in the room"
    await stayer.request("post", Post(text="hello"), stream="chat")
    assert await posted(stayer, 1) == ["hello"]
    # The socket no longer writes the chat stream's events itself, nor hands them on.
    await quitter.expect_nothing()
    await close_all([quitter, stayer])
    assert layer.members("room.r") == frozenset()


async def test_a_socket_the_server_closed_is_sent_no_more_group_events(kept: list[Kept]) -> None:
    sender, closing = await open_room(Router([route(ROOM, KeptLobby)]), 2)
    await sender.send("post", Post(text="before"), stream="chat", id=0)
    await expect_posted([sender, closing], ["before"])
    await kept[1].close()  # still in the room until its client says goodbye
    await sender.send("post", Post(text="after"), stream="chat", id=1)
    await expect_posted([sender], ["after"])
    assert await closing.closed() == 1000
    await closing.expect_nothing()
    await close_all([sender, closing])


async def test_events_queued_behind_a_slow_send_are_dropped_once_the_server_closes_the_socket(
    kept: list[Kept],
) -> None:
    sender, slow = await open_room(Router([route(ROOM, KeptLobby)]), 2)
    slow.pause()  # its next send waits, as on a paused transport
    await post_burst(sender, ["m0", "m1", "m2"])
    await expect_posted([sender], ["m0", "m1", "m2"])
    await kept[1].close()  # m0's write is under way; m1 and m2 wait
    slow.resume()
    await sender.send("post", Post(text="after"), stream="chat", id=3)
    await expect_posted([sender], ["after"])
    assert await slow.closed() == 1000
    # Only the write already under way when the socket closed comes out after it.
    assert (await slow.receive())["payload"]["data"]["text"] == "m0"
    await slow.expect_nothing()
    await close_all([sender, slow])


async def test_a_handler_that_sends_to_its_own_group_gets_every_message_in_order() -> None:
    layer = InMemoryChannelLayer()
    got: list[int] = []
    count = 200

    async def relay(message: dict[str, Any]) -> None:
        # Runs inside the group_send that delivers it; sends the next one at once.
        got.append(message["n"])
        if message["n"] < count:
            await layer.group_send("room", {"type": "x", "n": message["n"] + 1})

    delivery = Connection({"type": "websocket"}, _noop_send, layer).delivery
    delivery.on_message(relay)
    await delivery.join("room")
    await layer.group_send("room", {"type": "x", "n": 1})
    # The chain goes on in a task, not down the stack: the loop stays responsive.
    assert len(got) < count
    await until(lambda: len(got) == count)
    assert got == list(range(1, count + 1))
    await delivery.release()


async def test_a_handler_failing_at_once_is_logged_and_the_sender_never_hears_of_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="chgen.runtime.delivery")
    layer = InMemoryChannelLayer()
    got: list[int] = []

    def handler(message: dict[str, Any]) -> Awaitable[None]:
        if message["n"] == 2:
            raise RuntimeError("bad message")
        got.append(message["n"])
        return asyncio.sleep(0)

    delivery = Connection({"type": "websocket"}, _noop_send, layer).delivery
    delivery.on_message(handler)
    await delivery.join("room")
    for n in range(1, 4):
        await layer.group_send("room", {"type": "x", "n": n})
    await until(lambda: len(got) == 2)
    assert got == [1, 3]
    await delivery.release()
    logged = [r for r in caplog.records if r.name.startswith("chgen.runtime.delivery")]
    assert [r.getMessage() for r in logged] == ["error handling layer message of type 'x'"]


def observing(app: ASGIApp, seen: list[str]) -> ASGIApp:
    """ASGI middleware that notes REQUEST_ID at each frame sent to a socket it marks."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def observed(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "websocket.send" and scope.get("observed"):
                seen.append(REQUEST_ID.get("unset"))
            await send(message)

        await app(scope, receive, observed)

    return middleware


async def test_forwarded_sends_run_in_the_members_context() -> None:
    seen: list[str] = []
    app = observing(Router(routes), seen)

    async def member() -> WebsocketClient:
        REQUEST_ID.set("member")
        client = WebsocketClient(app, "/ws/r/", scope={"observed": True}, timeout=TIMEOUT)
        await client.connect()
        return client

    receiver = await asyncio.create_task(member())
    REQUEST_ID.set("sender")
    [sender] = await open_room(app, 1)
    await sender.send("post", Post(text="hi"), stream="chat", id=1)
    await expect_posted([receiver], ["hi"])
    assert seen == ["member"]
    await close_all([receiver, sender])


async def test_a_member_leaving_while_its_forwarded_send_waits_ends_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    sender, slow = await open_room(Router(routes), 2)
    slow.pause()  # its next send waits, as on a paused transport
    await post_burst(sender, ["m0", "m1", "m2"])
    await expect_posted([sender], ["m0", "m1", "m2"])
    await slow.expect_nothing()
    # It disconnects with a send still waiting: the delivery task is cancelled and the
    # socket's groups are left, without waiting for it to read again.
    await asyncio.wait_for(slow.close(), TIMEOUT)
    await sender.send("post", Post(text="after"), stream="chat", id=9)
    await expect_posted([sender], ["after"])
    await sender.close()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
