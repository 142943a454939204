"""Workers across processes on Redis: a uvicorn server whose sockets send jobs, and
``chgen worker`` processes that handle them and group-send the results back.

One real ``redis-server`` on loopback (tests/redis_server.py; under CI a missing
redis-server fails, elsewhere these tests skip). The fixture app of tests/fixtures/workers
is generated into a temporary package; the server serves ``jobs_redis_app`` (its routes
on channels_redis' core layer, no workers of its own), and each worker process runs
``python -m chgen worker jobsgen.jobs --redis URL``, as a deployment would.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from channels_redis.core import RedisChannelLayer
from e2e.server import REPO_ROOT, SubprocessServer, open_ws, read_log, recv_json, send_json
from redis_server import RedisServer, redis_server

from chgen.build import generate
from chgen.writer import write

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "workers"
START_TIMEOUT = 15.0  # seconds a worker process may take to say it reads its channels
STOP_TIMEOUT = 10.0


class WorkerProcess:
    """A worker process (``python -m chgen worker ...`` or Channels' ``runworker``), its
    output in a file; started once it printed ``ready``."""

    def __init__(self, cwd: Path, env: dict[str, str], args: list[str], ready: str) -> None:
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", *args]
        self.proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while ready not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{' '.join(args)} did not start:\n{self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        return read_log(self._log)

    def close(self) -> None:
        self.stop()
        self._log.close()

    def stop(self) -> int:
        """SIGTERM, then the exit code (SIGKILL after STOP_TIMEOUT)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        return self.proc.returncode


class Deployment:
    """One server process and its worker processes on one Redis, under their own prefix."""

    def __init__(self, redis: RedisServer, root: Path) -> None:
        self.root = root
        self.redis = redis
        self.prefix = f"workers-{uuid.uuid4().hex[:8]}:"
        pythonpath = [str(root), str(FIXTURE), str(REPO_ROOT)]
        if os.environ.get("PYTHONPATH"):
            pythonpath.append(os.environ["PYTHONPATH"])
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(pythonpath),
            "CHGEN_REDIS_URL": redis.url,
            "CHGEN_REDIS_PREFIX": self.prefix,
        }
        self.server = SubprocessServer("jobs_redis_app:application", cwd=root, env=self.env)
        self.workers: list[WorkerProcess] = []

    def start_worker(self) -> WorkerProcess:
        """``chgen worker jobsgen.jobs --redis URL --prefix P``, as a deployment runs it."""
        args = ["chgen", "worker", "jobsgen.jobs", "--redis", self.redis.url]
        return self._started([*args, "--prefix", self.prefix], "reads channel 'thumbnails'")

    def start_runworker(self) -> WorkerProcess:
        """Channels' ``runworker`` in a Django project mapping the workers' channels
        (tests/fixtures/workers/djworker)."""
        args = ["django", "runworker", "thumbnails", "audit-trail"]
        return self._started([*args, "--settings", "djworker.settings"], "Running worker")

    def _started(self, args: list[str], ready: str) -> WorkerProcess:
        started = WorkerProcess(self.root, self.env, args, ready)
        self.workers.append(started)
        return started

    def url(self, room: str) -> str:
        return f"{self.server.base_url()}/ws/{room}/"

    def output(self) -> str:
        parts = [f"--- server ---\n{self.server.output()[-10_000:]}"]
        parts += [f"--- worker {i} ---\n{w.output()[-10_000:]}" for i, w in enumerate(self.workers)]
        return "\n".join(parts)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.server.close()


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def deployment(redis: RedisServer, tmp_path: Path) -> Iterator[Deployment]:
    write(generate(FIXTURE / "specs"), tmp_path / "jobsgen")
    (tmp_path / "jobs_redis_app.py").write_text((FIXTURE / "jobs_redis_app.py").read_text())
    running = Deployment(redis, tmp_path)
    try:
        running.server.start()
        yield running
    finally:
        for worker in running.workers:
            worker.stop()
        print(running.output())  # pytest shows it for failures only
        running.close()


def upload(url: str) -> dict[str, Any]:
    return {"type": "upload", "data": {"url": url, "width": 64}}


def made_by(frame: dict[str, Any]) -> int:
    """The pid of the process whose worker made the thumbnail in a ``ready`` event."""
    assert frame["type"] == "ready", frame
    found = re.search(r"\?by=(\d+)\Z", frame["data"]["url"])
    assert found is not None, frame
    return int(found.group(1))


@pytest.mark.scenario_timeout(40)
async def test_a_worker_process_handles_the_servers_jobs_and_answers_the_room(
    deployment: Deployment,
) -> None:
    worker = deployment.start_worker()
    room = f"garden-{uuid.uuid4().hex[:6]}"
    async with (
        open_ws(deployment.url(room)) as alice,
        open_ws(deployment.url(room)) as bob,
        open_ws(deployment.url("elsewhere")) as carol,
    ):
        await send_json(alice, upload("rose.png"))
        for ws in (alice, bob):
            frame = await recv_json(ws)
            assert frame["data"]["url"].startswith("rose.png?by=")
            assert made_by(frame) == worker.proc.pid
        # A failing job is logged once, with its traceback, and the next one runs.
        await send_json(bob, upload("broken:lily.png"))
        await send_json(bob, upload("lily.png"))
        for ws in (alice, bob):
            assert (await recv_json(ws))["data"]["url"].startswith("lily.png?by=")
        with pytest.raises(AssertionError):
            await recv_json(carol, timeout=0.3)
    # A hand-written producer's invalid job, straight on the channel.
    host = {"address": deployment.redis.url, "socket_timeout": None}
    layer = RedisChannelLayer(hosts=[host], prefix=deployment.prefix)
    await layer.send("thumbnails", {"type": "resize", "room": room, "url": 5})
    for _ in range(100):
        if "dropped an invalid 'resize' job" in worker.output():
            break
        await asyncio.sleep(0.05)
    assert worker.stop() == 0
    output = worker.output()
    assert output.count("'resize' job on channel 'thumbnails' failed in Thumbnails.resize") == 1
    assert "RuntimeError: cannot read broken:lily.png" in output
    assert output.count("Traceback") == 1
    assert (
        "dropped an invalid 'resize' job on channel 'thumbnails': $.url expected a string, "
        "got an integer; $.width required field missing" in output
    )
    assert "chgen: stopped" in output


@pytest.mark.scenario_timeout(60)
async def test_worker_processes_share_a_channel_each_job_handled_once(
    deployment: Deployment,
) -> None:
    """Jobs sent before any worker runs wait in Redis; two worker processes then share
    them out, and every job is handled exactly once."""
    room = f"orchard-{uuid.uuid4().hex[:6]}"
    count = 20
    async with open_ws(deployment.url(room)) as alice:
        for index in range(count):
            await send_json(alice, upload(f"pear{index}.png"))
        workers = [deployment.start_worker(), deployment.start_worker()]
        frames = [await recv_json(alice, timeout=10) for _ in range(count)]
        with pytest.raises(AssertionError):
            await recv_json(alice, timeout=0.5)
    urls = sorted(f["data"]["url"].split("?")[0] for f in frames)
    assert urls == sorted(f"pear{index}.png" for index in range(count))
    assert {made_by(f) for f in frames} <= {w.proc.pid for w in workers}


@pytest.mark.scenario_timeout(40)
async def test_channels_runworker_runs_the_workers_through_channel_name_router(
    deployment: Deployment,
) -> None:
    worker = deployment.start_runworker()
    room = f"meadow-{uuid.uuid4().hex[:6]}"
    async with open_ws(deployment.url(room)) as alice:
        await send_json(alice, upload("broken:poppy.png"))
        await send_json(alice, upload("poppy.png"))
        frame = await recv_json(alice, timeout=10)
        assert frame["data"]["url"].startswith("poppy.png?by=")
        assert made_by(frame) == worker.proc.pid
    worker.stop()
    output = worker.output()
    assert output.count("'resize' job on channel 'thumbnails' failed in Thumbnails.resize") == 1
    assert "RuntimeError: cannot read broken:poppy.png" in output
