"""Recovery with Redis: the history in Redis Streams, shared by the server processes.

A real ``redis-server`` (tests/redis_server.py; under CI a missing one fails, elsewhere
these tests skip) and uvicorn subprocesses serving tests/fixtures/recovery_redis_app.py:
the chat app with group history on channels_redis, whose router keeps the history in the
layer's Redis. A client cut off from one process recovers on another, and across a restart
of the only process; a flushed or restarted Redis changes the epoch, and the client is told.
Both channels_redis layers, core and pubsub.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from e2e.server import (
    REPO_ROOT,
    SubprocessServer,
    assert_silent,
    open_ws,
    recv_json,
    run,
    send_json,
)
from redis_server import RedisServer, redis_server
from test_recovery import Tracker, joined, post, receive, texts
from websockets.exceptions import WebSocketException

FIXTURES = REPO_ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(params=["core", "pubsub"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def processes(redis: RedisServer, kind: str) -> Iterator[list[SubprocessServer]]:
    paths = [str(FIXTURES), str(FIXTURES / "djangoproject"), str(REPO_ROOT)]
    env = {
        "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
        "CHGEN_REDIS_URL": redis.url,
        "CHGEN_REDIS_LAYER": kind,
        "CHGEN_REDIS_PREFIX": f"recovery-{uuid.uuid4().hex[:8]}:",
    }
    servers = [SubprocessServer("recovery_redis_app:application", env=env) for _ in range(2)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for number, server in enumerate(servers):
            print(f"--- process {number} ---\n{server.output()[-4000:]}")
            server.close()


def test_a_client_cut_off_from_one_process_recovers_on_the_other(
    processes: list[SubprocessServer],
) -> None:
    first, second = (p.base_url() for p in processes)
    room, tracker = f"/ws/two-{uuid.uuid4().hex[:8]}/", Tracker()

    async def scenario() -> None:
        async with open_ws(first + room) as sender:
            ws = await joined(first, room, tracker)
            await post(sender, "before")
            assert texts(await receive(ws, tracker, 1)) == ["before"]
            ws.transport.abort()
            missed = [f"away {n}" for n in range(5)]
            for text in missed:
                await post(sender, text)
            async with open_ws(tracker.url(second, room)) as again:
                frames = await receive(again, tracker, 7)
                assert texts(frames) == missed, "from the other process, in order"
                assert frames[5]["recovery"]["recovered"] is True
                assert frames[6] == {"type": "recovery", "recovery": {"recovered": True}}
                await post(sender, "live from the first")
                assert texts(await receive(again, tracker, 1)) == ["live from the first"]
                await assert_silent(again)

    run(scenario(), timeout=40)


def test_recovery_works_across_a_restart_of_the_server_process(
    processes: list[SubprocessServer],
) -> None:
    server = processes[0]
    room, tracker = f"/ws/restart-{uuid.uuid4().hex[:8]}/", Tracker()

    async def before() -> None:
        ws = await joined(server.base_url(), room, tracker)
        async with open_ws(server.base_url() + room) as sender:
            await post(sender, "one")
            await receive(ws, tracker, 1)
        ws.transport.abort()
        async with open_ws(processes[1].base_url() + room) as sender:
            await post(sender, "while restarting")

    run(before(), timeout=40)
    server.stop()
    server.start()

    async def after() -> None:
        async with open_ws(tracker.url(server.base_url(), room)) as ws:
            frames = await receive(ws, tracker, 3)
            assert texts(frames) == ["while restarting"]
            assert frames[1]["recovery"]["recovered"] is True

    run(after(), timeout=40)


@pytest.mark.parametrize("loss", ["flush", "restart"])
def test_a_flushed_or_restarted_redis_changes_the_epoch_and_the_client_is_told(
    redis: RedisServer, processes: list[SubprocessServer], loss: str
) -> None:
    base = processes[0].base_url()
    room, tracker = f"/ws/{loss}-{uuid.uuid4().hex[:8]}/", Tracker()

    async def before() -> None:
        ws = await joined(base, room, tracker)
        async with open_ws(base + room) as sender:
            await post(sender, "kept")
            await receive(ws, tracker, 1)
        await ws.close()

    run(before(), timeout=40)
    if loss == "flush":
        import redis as redis_py

        client = redis_py.Redis.from_url(redis.url)
        try:
            client.flushall()
        finally:
            client.close()
    else:
        redis.kill()
        redis.restart()  # persistence is off: everything is gone
    group_name = f"room.{room.split('/')[2]}"
    old_epoch = tracker.positions["chat"][group_name][0]

    async def told() -> dict[str, Any] | None:
        """The stream's recovery outcome, or None while the server is still reconnecting
        to Redis (the handshake refused, or the store unavailable)."""
        try:
            async with open_ws(tracker.url(base, room)) as ws:
                outcome: dict[str, Any] = (await recv_json(ws, timeout=10))["payload"]["recovery"]
        except (WebSocketException, OSError):
            return None
        if outcome["groups"][group_name]["reason"] == "unavailable":
            return None
        return outcome

    async def after() -> None:
        for _ in range(50):
            outcome = await told()
            if outcome is not None:
                group = outcome["groups"][group_name]
                assert (outcome["recovered"], group["reason"]) == (False, "epoch_changed")
                assert group["epoch"] != old_epoch
                return
            await asyncio.sleep(0.2)
        raise AssertionError("never told of the changed epoch")

    run(after(), timeout=60)


def test_an_unreachable_store_refuses_kept_sends_and_says_recovery_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The in-memory layer with a Redis store that cannot be reached: the layer works, the
    history does not. Nothing is sent that could not be kept, and a client coming back is
    told, and keeps its position for a later try."""
    from e2e.server import ThreadServer, free_port

    from chgen.runtime.history.redis import RedisHistory

    monkeypatch.syspath_prepend(str(FIXTURES))
    from recovery_app import make_app

    server = ThreadServer(
        make_app(history=RedisHistory.from_url(f"redis://127.0.0.1:{free_port()}"))
    ).start()
    base, room, tracker = server.base_url(), "/ws/down/", Tracker()
    tracker.positions = {"chat": {"room.down": ["someepoch", 3]}}

    async def scenario() -> None:
        async with open_ws(tracker.url(base, room)) as ws:
            stream_outcome, outcome = [await recv_json(ws) for _ in range(2)]
            group = stream_outcome["payload"]["recovery"]["groups"]["room.down"]
            assert group == {"recovered": False, "reason": "unavailable"}, "no position given"
            assert outcome["recovery"]["recovered"] is False
            tracker.saw(stream_outcome)
            assert tracker.positions["chat"]["room.down"] == ["someepoch", 3], "kept"
            message = {"type": "post", "id": 1, "data": {"text": "not kept"}}
            await send_json(ws, {"stream": "chat", "payload": message})
            answer = (await recv_json(ws))["payload"]
            assert answer["type"] == "error" and answer["error"]["code"] == "unavailable"
            await assert_silent(ws)

    try:
        run(scenario())
    finally:
        server.stop()
