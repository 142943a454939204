"""A Redis restart, survived: every socket is back in its groups within seconds, told of
what it may have missed, and posts made meanwhile get ``unavailable``.

Two uvicorn processes serve the chat app on one real redis-server, on each channels_redis
layer (tests/fixtures/djangoproject/chgen_redis_app.py). Inside the test the server is
killed with ``kill -9`` and started again, empty, on the same port. Then:

* a post during the outage is answered ``unavailable`` (not ``internal``);
* within 5 s of the restart, posts from either process reach every socket again, with no
  client doing anything;
* no socket silently misses an event: each one that missed some got a gap frame (the core
  layer's processes both see the outage and tell every socket; on the pub/sub layer a
  process that saw nothing fail reports the events it found missing);
* each process logs the outage in one line and its end in another, without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from e2e.server import REPO_ROOT, SubprocessServer, eventually, open_ws, send_json
from redis_server import RedisServer, redis_server
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "djangoproject"
DOWN = 2.0  # seconds the server stays dead
RECOVERY = 5.0  # seconds after the restart by which every socket must be reached again
SOCKETS = 3  # per process


class Reader:
    """One socket and every frame that reached it, read by a task of its own."""

    def __init__(self, ws: ClientConnection, process: int) -> None:
        self.ws = ws
        self.process = process
        self.frames: list[dict[str, Any]] = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                self.frames.append(orjson.loads(raw))

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        return [f["payload"] for f in self.frames if f["payload"]["type"] == kind]

    def texts(self) -> set[str]:
        return {p["data"]["text"] for p in self.payloads("posted")}

    def answer(self, msg_id: str) -> dict[str, Any] | None:
        for frame in self.frames:
            if frame["payload"].get("id") == msg_id:
                return frame["payload"]
        return None


async def answered(reader: Reader, msg_id: str, within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = reader.answer(msg_id)
        if found is not None:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"no answer to {msg_id} within {within} s: {reader.frames[-5:]}")


async def post(reader: Reader, msg_id: str, text: str, within: float = 5.0) -> dict[str, Any]:
    frame = {"type": "post", "id": msg_id, "data": {"text": text}}
    await send_json(reader.ws, {"stream": "chat", "payload": frame})
    return await answered(reader, msg_id, within)


def outages_ended(log: str) -> bool:
    return log.count("channel layer unavailable") == log.count("channel layer back after")


@pytest.fixture(params=["core", "pubsub"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def processes(redis: RedisServer, kind: str) -> Iterator[list[SubprocessServer]]:
    paths = [str(FIXTURE_DIR), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    env = {
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        "CHGEN_REDIS_URL": redis.url,
        "CHGEN_REDIS_LAYER": kind,
        "CHGEN_REDIS_PREFIX": f"faults-{uuid.uuid4().hex[:8]}:",
    }
    servers = [SubprocessServer("chgen_redis_app:application", env=env) for _ in range(2)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            print(f"--- process {servers.index(server)} ---\n{server.output()[-8000:]}")
            server.close()


@pytest.mark.scenario_timeout(60)
async def test_a_redis_restart_is_survived_reported_and_logged_once(
    redis: RedisServer, processes: list[SubprocessServer], kind: str
) -> None:
    room = f"restart-{uuid.uuid4().hex[:8]}"
    async with contextlib.AsyncExitStack() as stack:
        readers = []
        for index, server in enumerate(processes):
            for _ in range(SOCKETS):
                ws = await stack.enter_async_context(open_ws(f"{server.base_url()}/ws/{room}/"))
                readers.append(Reader(ws, index))
        first, other = readers[0], readers[SOCKETS]  # one socket on each process
        acked: list[str] = []

        async def posted_everywhere(reader: Reader, msg_id: str, text: str) -> bool:
            answer = await post(reader, msg_id, text)
            if answer["type"] == "error":
                return False
            acked.append(text)
            for _ in range(100):
                if all(text in r.texts() for r in readers):
                    return True
                await asyncio.sleep(0.02)
            return False

        assert await posted_everywhere(first, "warm", "before")

        redis.kill()
        killed = time.monotonic()
        during = await post(first, "down", "during the outage")
        assert during["type"] == "error", during
        assert during["error"]["code"] == "unavailable", during
        await asyncio.sleep(max(0.0, DOWN - (time.monotonic() - killed)))

        redis.restart()
        restarted = time.monotonic()
        back = False
        for n in range(100):  # every process's sockets, from either process
            sender = first if n % 2 == 0 else other
            if await posted_everywhere(sender, f"after-{n}", f"after {n}"):
                back = await posted_everywhere(other if n % 2 == 0 else first, f"x-{n}", f"x {n}")
            if back or time.monotonic() - restarted > RECOVERY:
                break
            await asyncio.sleep(0.1)
        took = time.monotonic() - restarted
        assert back and took <= RECOVERY, f"sockets reached again after {took:.1f} s: {back}"

        for reader in readers:
            missed = [text for text in acked if text not in reader.texts()]
            gaps = reader.payloads("gap")
            assert not missed or gaps, f"socket of process {reader.process} missed {missed}"
            if kind == "core":  # both processes saw the outage, and told each socket once
                assert [g["gap"] for g in gaps] == [{"lost": None, "reason": "outage"}], gaps
        for reader in readers:
            reader.task.cancel()

    for index, server in enumerate(processes):
        # A process's sockets may be reached before it logs the end (the pub/sub layer
        # resubscribes by itself): give it the second it may take.
        await eventually(
            lambda s=server: outages_ended(s.output()),
            f"process {index} logs the end of the outage",
        )
        log = server.output()
        down = log.count("channel layer unavailable")
        up = log.count("channel layer back after")
        assert down == up, f"process {index}: {down} outages logged, {up} ends"
        if kind == "core" or index == 0:  # process 0 answered the post made meanwhile
            assert down == 1, f"process {index} logged the outage {down} times:\n{log[-4000:]}"
        if kind == "core":  # the pub/sub layer logs its own tracebacks while Redis is away
            assert "Traceback" not in log, log[-4000:]
