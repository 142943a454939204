"""Events that reach a client out of offset order are not lost to a drop.

Two server processes may send a group's events a few ms out of offset order: process 1
appends A (offset 1) to the group's stream, process 2 appends B (offset 2), and B's send
reaches the client first. If the client drops before A arrives, it must present offset 0,
not 2, so that the replay gives A; and it must drop the replay's copy of B, which it
already has (docs/recovery.md, "Order across server processes").

The race is made certain rather than waited for: the test process plays the process
whose send is late, keeping A in the room's stream in Redis without sending it, then a
sender posts B through the real server (tests/fixtures/recovery_redis_app.py under
uvicorn, channels_redis and Redis Streams on a real redis-server). The generated Python
client, and the generated JS client under Node (both modules), then drop and reconnect:
A once, B once, recovered, then live events.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator

import pytest
from e2e.server import REPO_ROOT, SubprocessServer, eventually, open_ws, run
from redis_server import RedisServer, redis_server
from test_client_e2e import NodeConversation, _node, client_module  # noqa: F401 - a fixture
from test_recovery import post

from chgen.runtime.client import ChgenRecovery, ClientOptions, Reconnect
from chgen.runtime.history import Retention
from chgen.runtime.history.redis import RedisHistory
from chgen.runtime.protocol import encode_json, event_frame
from chgen.runtime.retention import stream_key
from generated.chat.client import LobbyClient, lobby_url
from generated.chat.payloads import Post, Posted

FIXTURES = REPO_ROOT / "tests" / "fixtures"
WAIT = 10.0
# recovery_app.KeptChat's retention of room groups; the consumer's name keys its stream.
RETENTION = Retention(50, 60.0)
CONSUMER = "Chat"


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def server(redis: RedisServer) -> Iterator[SubprocessServer]:
    paths = [str(FIXTURES), str(FIXTURES / "djangoproject"), str(REPO_ROOT)]
    env = {
        "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
        "CHGEN_REDIS_URL": redis.url,
        "CHGEN_REDIS_PREFIX": f"order-{uuid.uuid4().hex[:8]}:",
    }
    served = SubprocessServer("recovery_redis_app:application", env=env).start()
    try:
        yield served
    finally:
        print(served.output()[-4000:])
        served.close()


async def keep_without_sending(redis: RedisServer, room: str, text: str) -> int:
    """What a process does before its send of ``text`` is late: append it to the room's
    stream. Returns its offset."""
    store = RedisHistory.from_url(redis.url)
    try:
        frame = encode_json(event_frame("posted", {"id": 0, "text": text}))
        group = stream_key(CONSUMER, f"room.{room}")
        return (await store.append(group, {"frame": frame}, RETENTION)).offset
    finally:
        await store.aclose()


async def post_through_the_server(server: SubprocessServer, room: str, text: str) -> None:
    async with open_ws(f"{server.base_url()}/ws/{room}/") as sender:
        await post(sender, text)


async def test_the_python_client_gets_an_event_sent_late_once_and_the_one_that_overtook_it_once(
    server: SubprocessServer, redis: RedisServer
) -> None:
    room = f"order-py-{uuid.uuid4().hex[:8]}"
    # Reconnects 0.3 s after the cut (random() = 1).
    options = ClientOptions(reconnect=Reconnect(initial_delay=0.3, max_delay=0.3), random=lambda: 1)
    async with LobbyClient(lobby_url(server.base_url(), room=room), options) as client:
        posted: list[str] = []
        streams: list[ChgenRecovery] = []
        sockets: list[ChgenRecovery] = []

        def heard(event: Posted) -> None:
            posted.append(event.text)

        client.chat.on.posted(heard)
        client.chat.on_recovery(streams.append)
        client.connection.on_recovery(sockets.append)
        await eventually(lambda: len(sockets) == 1, "the first connect's recovery", WAIT)

        assert await keep_without_sending(redis, room, "A") == 1
        await post_through_the_server(server, room, "B")  # offset 2, sent live
        await eventually(lambda: posted == ["B"], "B, ahead of A", WAIT)

        socket = client.connection._socket
        assert socket is not None
        socket.transport.abort()  # the drop comes before A's late send
        await eventually(lambda: len(sockets) == 2, "the reconnect's recovery", WAIT)

        assert posted == ["B", "A"], "A replayed once, B's replayed copy dropped"
        group = streams[1].groups[f"room.{room}"]
        assert (group.recovered, group.replayed, group.offset) == (True, 2, 2)
        assert sockets[1].recovered is True

        await asyncio.wait_for(client.chat.request.post(Post(text="C")), WAIT)
        await eventually(lambda: len(posted) == 3, "the live event", WAIT)
        assert posted == ["B", "A", "C"]


def test_the_js_client_gets_an_event_sent_late_once_and_the_one_that_overtook_it_once(
    server: SubprocessServer,
    redis: RedisServer,
    client_module: str,  # noqa: F811 - the fixture imported above
) -> None:
    node = _node()
    room = f"order-js-{uuid.uuid4().hex[:8]}"
    conversation = NodeConversation(
        [node, "tests/client/recovery_order.mjs"],
        {"CHGEN_URL": server.base_url(), "CHGEN_CLIENT": client_module, "CHGEN_ROOM": room},
        deadline=time.monotonic() + 60,
    )
    try:
        conversation.expect("ready")
        assert run(keep_without_sending(redis, room, "A")) == 1
        run(post_through_the_server(server, room, "B"))
        conversation.tell("cut")
        assert conversation.expect("away")["posted"] == ["B"]
        recovered = conversation.expect("recovered")
        assert recovered["posted"] == ["B", "A"], "A replayed once, B's replayed copy dropped"
        group = recovered["stream"]["groups"][f"room.{room}"]
        assert (group["recovered"], group["replayed"], group["offset"]) == (True, 2, 2)
        assert recovered["socket"] is True
        run(post_through_the_server(server, room, "C"))
        conversation.tell("live")
        assert conversation.expect("done")["posted"] == ["B", "A", "C"]
        assert conversation.wait() == 0
    except BaseException:
        print(conversation.transcript())
        raise
    finally:
        conversation.close()
