"""Scale-out through Redis: the chat example in two uvicorn processes sharing one Redis.

One real ``redis-server`` on loopback (tests/redis_server.py; under CI a missing
redis-server fails, elsewhere these tests skip). Each process serves
``tests/fixtures/djangoproject/chgen_redis_app.py``: ``Router(generated.chat.routing.routes,
layer=<channels_redis layer>)``. Everything runs for both channels_redis layers,
``RedisChannelLayer`` (core) and ``RedisPubSubChannelLayer`` (pubsub). Members chat through
the generated Python client; the tests of what the layer does to a socket read raw frames.

The last test shows that a failing ``receive()`` of the layer (Redis timeouts) never
leaves an open socket that silently gets no more group events.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels_redis.core import RedisChannelLayer
from e2e.server import (
    RECV_TIMEOUT,
    REPO_ROOT,
    SubprocessServer,
    ThreadServer,
    eventually,
    open_ws,
    recv_json,
    recv_many,
    send_json,
)
from redis_server import RedisServer, redis_server
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from chgen.runtime import Router
from generated.chat import routing as chat_routing
from generated.chat.client import LobbyClient
from generated.chat.payloads import Post

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "djangoproject"
# Longer than redis-py 8's default socket_timeout (5 s) and RedisChannelLayer's 5 s BZPOPMIN.
IDLE_SECONDS = 6.0


def room_name(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def post(msg_id: int, text: str) -> dict[str, Any]:
    return {"stream": "chat", "payload": {"type": "post", "id": msg_id, "data": {"text": text}}}


def posted(msg_id: int, text: str) -> dict[str, Any]:
    return {"stream": "chat", "payload": {"type": "posted", "data": {"id": msg_id, "text": text}}}


async def post_and_check(
    sender: ClientConnection, msg_id: int, text: str, members: list[ClientConnection]
) -> None:
    """``sender`` posts; it gets its ack and the broadcast, each member the broadcast."""
    await send_json(sender, post(msg_id, text))
    frames = await recv_many(sender, 2)
    ack = next(f for f in frames if f["payload"]["type"] == "post")
    assert ack["payload"]["id"] == msg_id, frames
    event = posted(ack["payload"]["data"]["id"], text)
    assert event in frames, frames
    for member in members:
        assert await recv_json(member) == event


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


class Cluster:
    """Two uvicorn processes serving the chat app on one Redis layer."""

    def __init__(self, redis: RedisServer, kind: str) -> None:
        self.kind = kind
        self.servers = [
            SubprocessServer("chgen_redis_app:application", cwd=REPO_ROOT) for _ in range(2)
        ]
        pythonpath = [str(FIXTURE_DIR), str(REPO_ROOT)]
        if os.environ.get("PYTHONPATH"):
            pythonpath.append(os.environ["PYTHONPATH"])
        # The children inherit the environment at spawn: set it only around start().
        with pytest.MonkeyPatch.context() as env:
            env.setenv("PYTHONPATH", os.pathsep.join(pythonpath))
            env.setenv("CHGEN_REDIS_URL", redis.url)
            env.setenv("CHGEN_REDIS_LAYER", kind)
            env.setenv("CHGEN_REDIS_PREFIX", f"scaleout-{kind}-{uuid.uuid4().hex[:8]}:")
            try:
                for server in self.servers:
                    server.start()
            except BaseException:
                self.close()
                raise

    def url(self, index: int, room: str) -> str:
        return f"{self.servers[index].base_url()}/ws/{room}/"

    def output(self) -> str:
        return "\n".join(
            f"--- process {i} ---\n{s.output()[-10_000:]}" for i, s in enumerate(self.servers)
        )

    def close(self) -> None:
        for server in self.servers:
            server.close()


@pytest.fixture(scope="module", params=["core", "pubsub"])
def cluster(request: pytest.FixtureRequest, redis: RedisServer) -> Iterator[Cluster]:
    started = Cluster(redis, request.param)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def processes(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster; what its processes printed is shown when a test fails."""
    yield cluster
    print(cluster.output())  # pytest shows it for failures only


async def test_post_on_one_process_reaches_the_room_on_the_other(processes: Cluster) -> None:
    room, elsewhere = room_name("lobby"), room_name("other")

    async with (
        LobbyClient(processes.url(0, room)) as alice,  # process 0
        LobbyClient(processes.url(1, room)) as bob,  # process 1, same room
        LobbyClient(processes.url(1, elsewhere)) as carol,  # process 1, another room
        LobbyClient(processes.url(0, elsewhere)) as dave,  # process 0, another room
    ):
        members = {"alice": alice, "bob": bob, "carol": carol, "dave": dave}
        heard: dict[str, list[str]] = {name: [] for name in members}
        for name, member in members.items():
            member.chat.on.posted(lambda event, name=name: heard[name].append(event.text))
            await asyncio.wait_for(member.opened(), RECV_TIMEOUT)

        async def post(sender: LobbyClient, text: str, reaches: list[str]) -> None:
            ack = await asyncio.wait_for(sender.chat.request.post(Post(text=text)), RECV_TIMEOUT)
            assert type(ack.id) is int
            await eventually(lambda: all(text in heard[n] for n in reaches), f"{text} heard")

        await post(alice, "from process 0", ["alice", "bob"])
        await post(bob, "from process 1", ["alice", "bob"])
        await post(carol, "other room", ["carol", "dave"])
        await asyncio.sleep(0.3)  # time for anything misdelivered to arrive
        assert heard == {
            "alice": ["from process 0", "from process 1"],
            "bob": ["from process 0", "from process 1"],
            "carol": ["other room"],
            "dave": ["other room"],
        }


@pytest.mark.scenario_timeout(IDLE_SECONDS + 15)
async def test_idle_sockets_keep_receiving_past_the_redis_socket_timeout(
    processes: Cluster,
) -> None:
    """With ``socket_timeout=None`` (see chgen_redis_app.redis_host), idling is harmless."""
    room = room_name("idle")
    async with open_ws(processes.url(0, room)) as alice, open_ws(processes.url(1, room)) as bob:
        await post_and_check(alice, 1, "before", [bob])
        await asyncio.sleep(IDLE_SECONDS)
        await post_and_check(alice, 2, "after idling", [bob])
        await post_and_check(bob, 3, "and back", [alice])


async def outcome(ws: ClientConnection, expected: int) -> str:
    """What became of a socket waiting for ``expected`` frames: delivered, closed, told
    of a gap, or silent."""
    frames: list[Any] = []
    try:
        # Gap reports come on top of the frames expected; a few at most.
        while len([f for f in frames if f["payload"]["type"] != "gap"]) < expected:
            frames.append(await recv_json(ws, timeout=2))
            if len(frames) > expected + 20:
                return f"flooded with {frames[-3:]}"
    except ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd is not None else None}"
    except AssertionError:
        if any(f["payload"]["type"] == "gap" for f in frames):
            return "told of a gap"
        return f"silent and open after {frames}"
    if any(f["payload"]["type"] == "posted" for f in frames):
        return "delivered"
    return "told of a gap" if any(f["payload"]["type"] == "gap" for f in frames) else str(frames)


async def test_a_failing_layer_receive_never_leaves_a_silent_socket(redis: RedisServer) -> None:
    """A receive error (here redis-py's read timeout, made short) must not go unnoticed.

    Acceptable outcomes: the connection retries and still delivers the event, it tells
    the client that events may have been lost (a read cut short can lose one), or it
    closes the socket with 1011 so that the client reconnects. Not: an open socket that
    silently gets nothing. With redis-py 8's default 5 s socket_timeout, this is what every
    idle socket on RedisChannelLayer runs into (channels_redis issue #422).
    """
    host = {"address": redis.url, "socket_timeout": 0.5}
    layer = RedisChannelLayer(hosts=[host], prefix=f"xfail-{uuid.uuid4().hex[:8]}:")
    server = ThreadServer(Router(chat_routing.routes, layer=layer)).start()
    url = f"{server.base_url()}/ws/{room_name('timeout')}/"

    try:
        async with open_ws(url) as alice, open_ws(url) as bob:
            await post_and_check(alice, 1, "before", [bob])
            await asyncio.sleep(1.5)  # every socket's receive has timed out by now
            await send_json(alice, post(2, "after the timeout"))
            outcomes = await asyncio.gather(outcome(alice, 2), outcome(bob, 1))
            for result in outcomes:
                assert result in ("delivered", "told of a gap", "closed 1011"), outcomes
    finally:
        server.stop()
