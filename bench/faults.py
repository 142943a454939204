"""Fault and abuse workloads: what a Redis restart, a flooding socket and a socket that
never reads do to chgen's example app, measured end to end.

    .venv/bin/python bench/faults.py [--quick] [--only restart,flood,stall] [--json out.json]

* **restart**, on each channels_redis layer: two uvicorn processes on one redis-server,
  10 listening sockets on each and a poster on each, 16 posts a second in all. After 3 s
  redis-server is killed (``kill -9``) and started again, empty, on its port 3 s later.
  Reported: when every listener got events again (seconds after the restart), the gap
  reports the listeners got, what the posts made meanwhile were answered, and what each
  process logged during the run (lines, tracebacks).
* **flood**: for 12 s, one socket posts as fast as the server answers it (up to 2,000
  unanswered) while another sends ``say`` requests one at a time: the bystander's round
  trips, with the consumers' default rate limit (100 a second, bursts of 300; the flooder
  is closed with 1008 after 10 s of it) and with none; and the bystander alone.
* **stall**: a socket that stops reading after its handshake, one that reads, and a sender
  posting 20,000 times (2,000 characters each, the chat spec's most) into their room: the
  server's memory (RSS before, peak, after), the lines it logged, and when the stalled
  socket was closed (the router's ``stall_timeout`` is 5 s here, through
  ``BENCH_STALL_TIMEOUT``; the sender goes on posting, slowly, for up to 10 s more).

The servers run as bench/run.py runs them (same uvicorn options; ``bench.servers.chgen_app``),
pinned to core 0 with redis-server; this process drives the sockets from core 1. Every
wait is bounded. Needs bench/requirements.txt (psutil, channels_redis) and redis-server
for ``restart``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import percentile  # noqa: E402
from bench.run import PY, UVICORN_OPTS, free_port, preexec, stop, wait_for_port  # noqa: E402
from bench.wsclient import WS, close_all, connect  # noqa: E402

HOST = "127.0.0.1"
APP = "bench.servers.chgen_app:mux"
# What the stall workload posts: big events fill the stalled socket's buffers sooner.
STALL_TEXT = "x" * 2000


@dataclass(frozen=True)
class Profile:
    restart_before: float  # seconds of posting before the kill
    restart_down: float  # seconds redis-server stays dead
    restart_after: float  # seconds of posting after the restart
    listeners: int  # per process
    post_rate: float  # posts a second, both posters together
    flood_seconds: float
    stall_posts: int


FULL = Profile(3.0, 3.0, 12.0, 10, 16.0, 12.0, 20_000)
QUICK = Profile(1.0, 1.0, 4.0, 2, 16.0, 1.0, 500)


# -- processes -----------------------------------------------------------------------------


class Redis:
    """redis-server without persistence on a free port, which it keeps across restarts."""

    def __init__(self, cpu: int | None, log: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("redis-server is not on PATH (apt-get install redis-server)")
        self.exe, self.cpu, self.port = exe, cpu, free_port()
        self.log = log.open("ab")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        cmd = [
            self.exe,
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=preexec(self.cpu)
        )
        wait_for_port(self.port, self.proc, 10)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)
        self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            stop(self.proc)
        self.log.close()


class Server:
    """The example app under uvicorn, as bench/run.py serves it, its output in a file."""

    def __init__(self, cpu: int | None, log: Path, **env: str) -> None:
        self.port = free_port()
        self.log = log
        full_env = dict(os.environ, PYTHONUNBUFFERED="1", **env)
        full_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT), full_env.get("PYTHONPATH")])
        )
        cmd = [PY, "-m", "uvicorn", APP, "--host", HOST, "--port", str(self.port), *UVICORN_OPTS]
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=full_env, stdout=self._out, stderr=subprocess.STDOUT,
            preexec_fn=preexec(cpu),
        )  # fmt: skip
        wait_for_port(self.port, self.proc, 30)

    def text(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        stop(self.proc)
        self._out.close()


def log_summary(text: str) -> dict[str, int]:
    lines = [line for line in text.splitlines() if line.strip()]
    return {
        "log_lines": len(lines),
        "tracebacks": sum(line.startswith("Traceback") for line in lines),
    }


@contextlib.contextmanager
def servers(count: int, cpu: int | None, logdir: Path, **env: str) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for index in range(count):
            started.append(Server(cpu, logdir / f"server{index}-{time.monotonic_ns()}.log", **env))
        yield started
    finally:
        for server in started:
            server.close()


# -- frames --------------------------------------------------------------------------------


def post(msg_id: str, text: str) -> bytes:
    frame = {"stream": "chat", "payload": {"type": "post", "id": msg_id, "data": {"text": text}}}
    return orjson.dumps(frame)


def say(msg_id: int) -> bytes:
    return b'{"stream":"echo","payload":{"type":"say","id":%d,"data":{"text":"hi"}}}' % msg_id


def payload(raw: bytes) -> dict[str, Any]:
    frame = orjson.loads(raw)
    inner = frame.get("payload", frame) if type(frame) is dict else {}
    return inner if type(inner) is dict else {}


# -- restart -------------------------------------------------------------------------------


async def restart(layer: str, p: Profile, cpu: int | None, logdir: Path) -> dict[str, Any]:
    redis = Redis(cpu, logdir / f"redis-{layer}.log")
    redis.start()
    try:
        env = {"BENCH_LAYER": layer, "BENCH_REDIS_URL": redis.url}
        with servers(2, cpu, logdir, **env) as procs:
            return await _restart(redis, procs, p)
    finally:
        redis.close()


async def _restart(redis: Redis, procs: list[Server], p: Profile) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    arrivals: list[list[float]] = []  # per listener, when each posted event came
    gaps: dict[str, int] = {}
    answers: dict[str, int] = {}
    listeners: list[WS] = []
    for proc in procs:
        for _ in range(p.listeners):
            ws = await connect(proc.port, "/ws/restart/")
            seen: list[float] = []

            def on_text(raw: bytes, seen: list[float] = seen) -> None:
                got = payload(raw)
                if got.get("type") == "posted":
                    seen.append(loop.time())
                elif got.get("type") == "gap":
                    reason = str(got["gap"].get("reason"))
                    gaps[reason] = gaps.get(reason, 0) + 1

            ws.on_text = on_text
            arrivals.append(seen)
            listeners.append(ws)
    posters = [await connect(proc.port, "/ws/restart/") for proc in procs]

    def on_answer(raw: bytes) -> None:
        got = payload(raw)
        if "id" in got:
            code = got["error"]["code"] if got.get("type") == "error" else "ok"
            answers[code] = answers.get(code, 0) + 1

    for ws in posters:
        ws.on_text = on_answer
    start = loop.time()
    killed = start + p.restart_before
    restarted = killed + p.restart_down
    end = restarted + p.restart_after
    n = 0
    phase = "before"
    while loop.time() < end:
        if phase == "before" and loop.time() >= killed:
            redis.kill()
            phase = "down"
        elif phase == "down" and loop.time() >= restarted:
            restarted = loop.time()  # from the moment redis-server is started again
            redis.start()
            phase = "after"
        posters[n % 2].send_text(post(f"p{n}", f"post {n}"))
        n += 1
        await asyncio.sleep(1 / p.post_rate)
    await asyncio.sleep(0.5)
    firsts = [min((t for t in seen if t >= restarted), default=None) for seen in arrivals]
    back = [t - restarted for t in firsts if t is not None]
    result: dict[str, Any] = {
        "listeners": len(listeners),
        "recovered": len(back),
        "recovery_s": max(back) if len(back) == len(listeners) else float("nan"),
        "gap_reports": gaps,
        "answers": answers,
        "logs": [log_summary(proc.text()) for proc in procs],
    }
    await close_all(listeners + posters)
    return result


# -- flood ---------------------------------------------------------------------------------


async def flood(limit: str, p: Profile, cpu: int | None, logdir: Path) -> dict[str, Any]:
    rate = "100" if limit == "default" else "1e9"
    with servers(1, cpu, logdir, BENCH_RATE_LIMIT=rate) as (server,):
        return await _flood(server, p, flooding=limit != "none")


async def _flood(server: Server, p: Profile, flooding: bool) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    flooder = await connect(server.port, "/ws/flood/")
    bystander = await connect(server.port, "/ws/quiet/")
    counts = {"sent": 0, "ok": 0, "rate_limited": 0, "other": 0}
    unanswered = [0]

    def on_flood(raw: bytes) -> None:
        got = payload(raw)
        if "id" not in got:
            return
        unanswered[0] -= 1
        code = got["error"]["code"] if got.get("type") == "error" else "ok"
        counts[code if code in counts else "other"] += 1

    flooder.on_text = on_flood
    waiting: dict[int, asyncio.Future[None]] = {}

    def on_reply(raw: bytes) -> None:
        future = waiting.pop(payload(raw).get("id"), None)
        if future is not None and not future.done():
            future.set_result(None)

    bystander.on_text = on_reply
    end = loop.time() + p.flood_seconds

    async def flood_until_end() -> None:
        n = 0
        while loop.time() < end and not flooder.lost.done():
            while unanswered[0] < 2000:
                flooder.send_text(post(str(n), "flood"))
                n += 1
                unanswered[0] += 1
            counts["sent"] = n
            await asyncio.sleep(0)

    started = loop.time()
    closed_after = [float("nan")]
    flooder.lost.add_done_callback(lambda _: closed_after.__setitem__(0, loop.time() - started))
    task = asyncio.ensure_future(flood_until_end()) if flooding else None
    rtts: list[float] = []
    i = 0
    while loop.time() < end:
        future = waiting[i] = loop.create_future()
        sent = loop.time()
        bystander.send_text(say(i))
        try:
            await asyncio.wait_for(future, 10)
        except TimeoutError:
            break
        rtts.append((loop.time() - sent) * 1000)
        i += 1
    if task is not None:
        await task
    closed = closed_after[0]
    await close_all([flooder, bystander])
    return {
        "bystander_requests": len(rtts),
        "p50_ms": percentile(rtts, 0.50) if rtts else float("nan"),
        "p99_ms": percentile(rtts, 0.99) if rtts else float("nan"),
        "max_ms": max(rtts, default=float("nan")),
        "flooder": counts,
        "flooder_closed_after_s": closed,
        "logs": log_summary(server.text()),
    }


# -- stall ---------------------------------------------------------------------------------


def stalled_socket(port: int, path: str) -> socket.socket:
    """A client that completes its handshake and then reads nothing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((HOST, port))
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    return sock


async def stall(p: Profile, cpu: int | None, logdir: Path) -> dict[str, Any]:
    with servers(1, cpu, logdir, BENCH_STALL_TIMEOUT="5") as (server,):
        return await _stall(server, p)


async def _stall(server: Server, p: Profile) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    stalled = stalled_socket(server.port, "/ws/stall/")
    reader = await connect(server.port, "/ws/stall/")
    sender = await connect(server.port, "/ws/stall/")
    received = [0]
    acked = [0]

    def on_reader(raw: bytes) -> None:
        if payload(raw).get("type") == "posted":
            received[0] += 1

    def on_sender(raw: bytes) -> None:
        if "id" in payload(raw):
            acked[0] += 1

    reader.on_text = on_reader
    sender.on_text = on_sender
    rss_before = server.rss_kib()
    peak = rss_before
    started = loop.time()
    sent = 0
    deadline = started + 120
    while (acked[0] < p.stall_posts) and loop.time() < deadline:
        while sent < p.stall_posts and sent - acked[0] < 64:
            sender.send_text(post(str(sent), STALL_TEXT))
            sent += 1
        await asyncio.sleep(0.001)
        if sent % 500 == 0:
            peak = max(peak, server.rss_kib())
    took = loop.time() - started
    # Past the stall timeout, a post that has to be dropped for the stalled socket closes
    # it: go on posting, slowly, for up to 10 s more.
    extra = 0
    while "with 1013" not in server.text() and loop.time() - started < took + 10:
        sender.send_text(post(f"x{extra}", "x"))
        extra += 1
        await asyncio.sleep(0.01)
    closed_after = loop.time() - started if "with 1013" in server.text() else float("nan")
    for _ in range(100):  # the reader's last events
        if received[0] >= p.stall_posts + extra:
            break
        await asyncio.sleep(0.02)
    peak = max(peak, server.rss_kib())
    log = server.text()
    await close_all([reader, sender])
    stalled.close()
    return {
        "posts": p.stall_posts,
        "seconds": took,
        "reader_received": received[0],
        "rss_before_kib": rss_before,
        "rss_peak_kib": peak,
        "rss_after_kib": server.rss_kib(),
        "stalled_closed_after_s": closed_after,
        **log_summary(log),
    }


# -- report --------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    out: list[str] = []
    for layer in ("redis-core", "redis-pubsub"):
        r = results.get(f"restart/{layer}")
        if r is None:
            continue
        out.append(
            f"Redis restart, {layer}: {r['recovered']}/{r['listeners']} listeners reached "
            f"again, the last {r['recovery_s']:.2f} s after the restart"
        )
        out.append(f"  gap reports: {r['gap_reports']}; answers to posts: {r['answers']}")
        for index, logs in enumerate(r["logs"]):
            out.append(
                f"  process {index}: {logs['log_lines']} log lines, {logs['tracebacks']} tracebacks"
            )
    for limit in ("none", "default", "off"):
        r = results.get(f"flood/{limit}")
        if r is None:
            continue
        what = {
            "none": "no flood",
            "default": "flood, default rate limit",
            "off": "flood, no rate limit",
        }
        out.append(
            f"Bystander request/reply, {what[limit]}: {r['bystander_requests']} requests, "
            f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.1f} ms; "
            f"flooder {r['flooder']}, closed after {r['flooder_closed_after_s']:.1f} s"
        )
    r = results.get("stall")
    if r is not None:
        out.append(
            f"Stalled reader, {r['posts']} posts in {r['seconds']:.1f} s: "
            f"RSS {r['rss_before_kib']} -> peak {r['rss_peak_kib']} -> {r['rss_after_kib']} KiB; "
            f"{r['log_lines']} log lines, "
            f"{r['tracebacks']} tracebacks; stalled socket closed after "
            f"{r['stalled_closed_after_s']:.1f} s; "
            f"reader got {r['reader_received']}"
        )
    return "\n".join(out)


async def run(only: set[str], p: Profile, cpu: int | None, logdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if "restart" in only:
        for layer in ("redis-core", "redis-pubsub"):
            results[f"restart/{layer}"] = await restart(layer, p, cpu, logdir)
    if "flood" in only:
        for limit in ("none", "default", "off"):
            results[f"flood/{limit}"] = await flood(limit, p, cpu, logdir)
    if "stall" in only:
        results["stall"] = await stall(p, cpu, logdir)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny counts: proves the workloads run"
    )
    parser.add_argument("--only", default="restart,flood,stall", help="comma-separated workloads")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--repeats", type=int, default=1, help="runs of every workload")
    args = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[0] if len(cpus) >= 2 else None
    if server_cpu is not None:
        os.sched_setaffinity(0, {cpus[1]})
    profile = QUICK if args.quick else FULL
    runs = []
    with tempfile.TemporaryDirectory(prefix="chgen-faults-") as tmp:
        for _ in range(args.repeats):
            results = asyncio.run(run(set(args.only.split(",")), profile, server_cpu, Path(tmp)))
            print(report(results), flush=True)
            runs.append(results)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1, default=str))
    if args.repeats > 1 and any("flood/default" in r for r in runs):
        p99s = [r["flood/default"]["p99_ms"] for r in runs]
        print(f"bystander p99 under a flood, default limit, median of {len(p99s)}: "
              f"{statistics.median(p99s):.2f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
