"""chgen's benchmark suite, one command: ``.venv/bin/python bench/run.py [--quick]``.

Every server under test runs under the same ASGI server and options (uvicorn, uvloop,
httptools, websockets-sansio: what ``uvicorn --loop auto --ws auto`` picks here), one at a
time, on its own free loopback port, started and stopped by this script; the raw
``websockets`` ceiling runs on uvloop too. The load client (bench/load.py) runs in a
separate process. With two or more cores the server (and redis-server) is pinned to one
core and the client to another. Each workload runs ``--repeats`` times, servers
interleaved within a repeat, and the tables show medians and ratios between peers of
this run. Every wait is bounded; the whole run stops starting new measurements once
``--budget`` seconds have passed.

Benchmark-only dependencies: ``pip install -r bench/requirements.txt``. A server whose
packages are missing is skipped, saying so; the Redis rows need ``redis-server`` on PATH
(``apt-get install redis-server``), which the suite starts on a free port and stops.

Hooks: bench/client_size.py (min+gzip size of the generated JS client) runs as part of
the suite and its table is included. If bench/build_speed.py exists it runs too, after the
servers (skipped with ``--no-codegen``, ``--only`` or ``--workloads``; under ``--quick``
only if it has a ``--quick`` option, which is then passed on); it prints its own table to
stdout and exits 0 on success. bench/faults.py (a Redis restart, a flooding socket, a
socket that never reads) runs last in a full run (skipped with ``--no-faults``,
``--only``, ``--workloads`` or ``--quick``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PY = sys.executable
UVICORN_OPTS = [
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--ws",
    "websockets-sansio",
    "--lifespan",
    "off",
    "--log-level",
    "warning",
    "--no-access-log",
]

# -- what runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    key: str
    label: str
    target: str  # "module:attr" served by uvicorn, or "-m module" for a script
    flavor: str  # wire format, see bench/load.py
    rr_path: str = "/ws/bench/"
    group_path: str = "/ws/bench/"
    layer: str = "inmem"  # inmem | redis-core | redis-pubsub
    requires: tuple[str, ...] = ()
    workloads: frozenset[str] = frozenset({"rr", "pipe", "fanout", "burst", "setup"})

    @property
    def heavy(self) -> bool:
        """On Django or Redis (what ``requires`` names): 20-80x the cost per delivery."""
        return bool(self.requires)


GROUP_ONLY = frozenset({"fanout", "burst"})
DJANGO = ("django", "channels")
# bench/servers/channels_app.py serves both Channels rows, so each needs all it imports.
CHANNELS_APP = (*DJANGO, "channelsmultiplexer")

SERVERS = [
    Server("raw", "websockets (raw, ceiling)", "-m bench.servers.raw_websockets", "plain"),
    Server("bare", "bare ASGI", "bench.servers.bare_asgi:app", "plain"),
    Server(
        "channels",
        "Channels consumer",
        "bench.servers.channels_app:plain",
        "plain",
        requires=CHANNELS_APP,
    ),
    Server(
        "channels-mux",
        "Channels + channelsmultiplexer",
        "bench.servers.channels_app:mux",
        "mux",
        requires=CHANNELS_APP,
    ),
    Server(
        "chanx",
        "chanx (Channels)",
        "bench.servers.chanx_app:app",
        "chanx",
        requires=(*DJANGO, "chanx", "pydantic", "rest_framework"),
    ),
    Server(
        "chgen", "chgen plain", "bench.servers.chgen_app:plain", "plain", rr_path="/echo/bench/"
    ),
    Server("chgen-mux", "chgen multiplexed", "bench.servers.chgen_app:mux", "mux"),
    # Group workloads through Redis (channels_redis layers, a redis-server of our own).
    Server(
        "channels@redis-core",
        "Channels, redis core layer",
        "bench.servers.channels_app:plain",
        "plain",
        layer="redis-core",
        requires=(*CHANNELS_APP, "channels_redis"),
        workloads=GROUP_ONLY,
    ),
    Server(
        "channels@redis-pubsub",
        "Channels, redis pubsub layer",
        "bench.servers.channels_app:plain",
        "plain",
        layer="redis-pubsub",
        requires=(*CHANNELS_APP, "channels_redis"),
        workloads=GROUP_ONLY,
    ),
    Server(
        "chgen-mux@redis-core",
        "chgen mux, redis core layer",
        "bench.servers.chgen_app:mux",
        "mux",
        layer="redis-core",
        requires=("channels_redis",),
        workloads=GROUP_ONLY,
    ),
    Server(
        "chgen-mux@redis-pubsub",
        "chgen mux, redis pubsub layer",
        "bench.servers.chgen_app:mux",
        "mux",
        layer="redis-pubsub",
        requires=("channels_redis",),
        workloads=GROUP_ONLY,
    ),
]


@dataclass(frozen=True)
class Profile:
    repeats: int
    rr: dict[str, Any]
    pipe: dict[str, Any]
    fanout_sizes: tuple[int, ...]
    # Deliveries per fan-out run and size (posts = max(min_msgs, deliveries // members)):
    # enough for about half a second of server work, so that start-up effects and noise
    # do not decide the ratios. Servers on Django or Redis cost 20-80x more per delivery
    # and get fewer, which is still seconds of work each.
    fanout_deliveries: int
    fanout_deliveries_heavy: int
    fanout_min_msgs: int
    fanout_window: tuple[int, int]  # (min, max) broadcasts in flight
    fanout_inflight: int  # aim: this many deliveries in flight -> window = this // members
    burst: dict[str, Any]
    setup: dict[str, Any]
    budget: float  # seconds
    deadline: float  # per client run

    def fanout_msgs(self, members: int, heavy: bool) -> int:
        deliveries = self.fanout_deliveries_heavy if heavy else self.fanout_deliveries
        return max(self.fanout_min_msgs, deliveries // members)

    def window(self, members: int) -> int:
        low, high = self.fanout_window
        return max(low, min(high, self.fanout_inflight // members))


FULL = Profile(
    repeats=3,
    rr={"conns": 50, "msgs": 1000, "warmup": 20},
    pipe={"conns": 50, "msgs": 400, "window": 16, "warmup": 20},
    fanout_sizes=(10, 50, 100, 1000),
    fanout_deliveries=100_000,
    fanout_deliveries_heavy=20_000,
    fanout_min_msgs=20,
    fanout_window=(8, 64),
    fanout_inflight=1000,
    burst={"conns": 10, "msgs": 1000},
    setup={"conns": 1000, "concurrency": 50, "settle": 1.0},
    budget=45 * 60,
    deadline=60.0,
)
QUICK = Profile(
    repeats=1,
    rr={"conns": 4, "msgs": 10, "warmup": 2},
    pipe={"conns": 4, "msgs": 20, "window": 4, "warmup": 2},
    fanout_sizes=(5,),
    fanout_deliveries=25,
    fanout_deliveries_heavy=25,
    fanout_min_msgs=5,
    fanout_window=(2, 2),
    fanout_inflight=10,
    burst={"conns": 3, "msgs": 20},
    setup={"conns": 10, "concurrency": 10, "settle": 0.1},
    budget=45.0,
    deadline=10.0,
)


# -- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with code {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"not listening on {port} after {timeout:.0f} s")


def preexec(cpu: int | None) -> Any:
    def setup() -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    return setup


def stop(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Redis:
    proc: subprocess.Popen[bytes]
    port: int
    version: str

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def flush(self) -> None:
        with socket.create_connection((HOST, self.port), timeout=5) as sock:
            sock.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n")
            reply = sock.recv(64)
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL answered {reply!r}")


@contextlib.contextmanager
def redis_server(cpu: int | None, log: Path) -> Iterator[Redis | None]:
    exe = shutil.which("redis-server")
    if exe is None:
        yield None
        return
    port = free_port()
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [exe, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec(cpu),
        )
        try:
            wait_for_port(port, proc, 10)
            yield Redis(proc, port, version)
        finally:
            stop(proc)


class Running:
    """One server under test, started on a free port with its output in a log file."""

    def __init__(self, server: Server, cpu: int | None, redis: Redis | None, logdir: Path):
        self.server = server
        self.port = free_port()
        self.log = logdir / f"{server.key}.log"
        env = dict(os.environ, BENCH_LAYER=server.layer, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        if redis is not None:
            env["BENCH_REDIS_URL"] = redis.url
        if server.target.startswith("-m "):
            cmd = [PY, "-m", server.target[3:], "--port", str(self.port)]
        else:
            cmd = [PY, "-m", "uvicorn", server.target, "--host", HOST, "--port", str(self.port)]
            cmd += UVICORN_OPTS
        self._out = self.log.open("ab")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
            preexec_fn=preexec(cpu),
        )  # fmt: skip
        try:
            wait_for_port(self.port, self.proc, 30)
        except Exception:
            self.close()
            raise

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_text(self, offset: int) -> str:
        """What the server wrote to its log since ``offset``."""
        with self.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def tail(self, n: int = 15) -> str:
        self._out.flush()
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def close(self) -> None:
        stop(self.proc)
        self._out.close()


# -- running the workloads -----------------------------------------------------------------


@dataclass
class Suite:
    profile: Profile
    client_cpu: int | None
    results: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def client(
        self,
        running: Running,
        redis: Redis | None,
        workload: str,
        path: str,
        **opts: Any,
    ) -> dict[str, Any]:
        cmd = [
            PY, str(ROOT / "bench" / "load.py"), workload,
            "--port", str(running.port), "--path", path,
            "--flavor", running.server.flavor,
            "--server-pid", str(running.proc.pid),
            "--deadline", str(self.profile.deadline),
        ]  # fmt: skip
        if redis is not None and running.server.layer != "inmem":
            cmd += ["--redis-pid", str(redis.proc.pid)]
        if self.client_cpu is not None:
            cmd += ["--cpu", str(self.client_cpu)]
        for key, value in opts.items():
            cmd += [f"--{key}", str(value)]
        proc = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=self.profile.deadline * 2 + 30
        )
        if proc.returncode != 0:
            err = proc.stderr.strip().splitlines()
            raise RuntimeError(err[-1] if err else f"load client exited {proc.returncode}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result

    def record(self, key: tuple[str, str], fn: Any, running: Running) -> None:
        if key in self.failures:
            return
        try:
            self.results.setdefault(key, []).append(fn())
        except Exception as exc:  # a server failing a workload is a result, not a crash
            self.failures[key] = f"{type(exc).__name__}: {exc}\n    server log: " + (
                running.tail().replace("\n", "\n    ") or "(empty)"
            )

    def run_server(self, running: Running, redis: Redis | None) -> None:
        s, p = running.server, self.profile
        # First, on the fresh process: later workloads leave freed memory in the allocator
        # that new connections would reuse, hiding their cost from the RSS delta.
        if "setup" in s.workloads:
            self.record(
                (s.key, "setup"),
                lambda: self.client(running, redis, "setup", s.group_path, **p.setup),
                running,
            )
        if "rr" in s.workloads:
            self.record(
                (s.key, "rr"), lambda: self.client(running, redis, "rr", s.rr_path, **p.rr), running
            )
        if "pipe" in s.workloads:
            self.record(
                (s.key, "pipe"),
                lambda: self.client(running, redis, "pipe", s.rr_path, **p.pipe),
                running,
            )
        if "fanout" in s.workloads:
            for size in p.fanout_sizes:
                msgs = p.fanout_msgs(size, s.heavy)
                opts = {"conns": size, "msgs": msgs, "window": p.window(size)}
                opts["concurrency"] = 50
                self.record(
                    (s.key, f"fanout{size}"),
                    lambda o=opts: self.client(running, redis, "fanout", s.group_path, **o),
                    running,
                )
        if "burst" in s.workloads:
            opts = dict(p.burst, window=p.burst["msgs"])

            def burst() -> dict[str, Any]:
                offset = running.log_size()
                result = self.client(running, redis, "fanout", s.group_path, **opts)
                result["reported"] = reported_gaps(running.log_text(offset))
                return result

            self.record((s.key, "burst"), burst, running)


# What chgen.runtime.gaps logs, once per process, for every gap in a sender's sequence.
GAP_LINE = re.compile(
    r"group .*?: (\d+) event\(s\) from one sender never reached this process \((\d+) socket"
)


def reported_gaps(log: str) -> int:
    """Deliveries the server itself reported lost (chgen's gap warnings) in ``log``: the
    events a process missed, times its sockets that missed them."""
    return sum(int(m.group(1)) * int(m.group(2)) for m in GAP_LINE.finditer(log))


def missing_requirements(server: Server, redis_available: bool) -> str | None:
    missing = [m for m in server.requires if importlib.util.find_spec(m) is None]
    if missing:
        return "not installed: " + ", ".join(missing) + " (pip install -r bench/requirements.txt)"
    if server.layer != "inmem" and not redis_available:
        return "redis-server is not on PATH (apt-get install redis-server)"
    return None


# -- reporting -----------------------------------------------------------------------------


def med(rows: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else float("nan")


def fmt(value: float, digits: int = 0) -> str:
    if value != value:  # nan
        return "-"
    return f"{value:,.{digits}f}"


def div(a: float, b: float) -> float:
    return a / b if b else float("nan")


def ratio(a: float, b: float) -> str:
    if a != a or b != b or b == 0:
        return "-"
    return f"{a / b:.2f}x"


class Report:
    def __init__(self, suite: Suite, servers: list[Server]) -> None:
        self.suite = suite
        self.servers = servers
        self.lines: list[str] = []

    def m(self, key: str, workload: str, metric: str) -> float:
        return med(self.suite.results.get((key, workload), []), metric)

    def out(self, line: str = "") -> None:
        self.lines.append(line)

    def table(self, title: str, header: list[str], rows: list[list[str]]) -> None:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        self.out(title)
        for cells in [header, *rows]:
            padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                      enumerate(zip(cells, widths, strict=True))]  # fmt: skip
            self.out("  ".join(padded))
        self.out()

    def with_results(self, workload: str) -> list[Server]:
        return [
            s
            for s in self.servers
            if (s.key, workload) in self.suite.results or (s.key, workload) in self.suite.failures
        ]

    def cell_fail(self, key: str, workload: str) -> bool:
        return (key, workload) in self.suite.failures and (
            key,
            workload,
        ) not in self.suite.results

    def messages(self, workload: str, title: str) -> None:
        rows = []
        for s in self.with_results(workload):
            if self.cell_fail(s.key, workload):
                rows.append([s.label, "FAILED", *["-"] * 8])
                continue
            rate, us = self.m(s.key, workload, "rate"), self.m(s.key, workload, "server_us")
            rows.append([
                s.label,
                fmt(rate),
                ratio(rate, self.m("bare", workload, "rate")),
                fmt(us, 1),
                ratio(us, self.m("bare", workload, "server_us")),
                fmt(self.m(s.key, workload, "p50_ms"), 2),
                fmt(self.m(s.key, workload, "p99_ms"), 2),
                fmt(self.m(s.key, workload, "server_util") * 100),
                fmt(self.m(s.key, workload, "client_us"), 1),
                fmt(self.m(s.key, workload, "client_util") * 100),
            ])  # fmt: skip
        if rows:
            self.table(
                title,
                ["server", "msg/s", "vs bare", "srv us/msg", "vs bare", "p50 ms", "p99 ms",
                 "srv cpu%", "cli us/msg", "cli cpu%"],
                rows,
            )  # fmt: skip

    def fanout(self, size: int) -> None:
        workload = f"fanout{size}"
        rows = []
        for s in self.with_results(workload):
            if self.cell_fail(s.key, workload):
                rows.append([s.label, "FAILED", *["-"] * 7])
                continue
            rate = self.m(s.key, workload, "rate")
            peer = "bare" if s.layer == "inmem" else "channels@redis-pubsub"
            rows.append([
                s.label,
                fmt(rate),
                ratio(rate, self.m(peer, workload, "rate")),
                fmt(self.m(s.key, workload, "server_us"), 1),
                fmt(self.m(s.key, workload, "redis_us"), 1) if s.layer != "inmem" else "-",
                fmt(self.m(s.key, workload, "lost")),
                fmt(self.m(s.key, workload, "server_util") * 100),
                fmt(self.m(s.key, workload, "client_util") * 100),
            ])  # fmt: skip
        if rows:
            p = self.suite.profile
            light, heavy = p.fanout_msgs(size, False), p.fanout_msgs(size, True)
            posts = (
                f"{light} posts" if light == heavy else f"{light} posts, {heavy} on Django or Redis"
            )
            self.table(
                f"Group fan-out to {size} members ({posts}, {p.window(size)} in flight; "
                "in-memory rows vs bare ASGI, Redis rows vs Channels' pubsub layer)",
                ["server", "deliv/s", "vs peer", "srv us/deliv", "redis us", "lost",
                 "srv cpu%", "cli cpu%"],
                rows,
            )  # fmt: skip

    def burst(self) -> None:
        rows = []
        for s in self.with_results("burst"):
            if self.cell_fail(s.key, "burst"):
                rows.append([s.label, "FAILED", "-", "-", "-", "-"])
                continue
            rows.append([
                s.label,
                fmt(self.m(s.key, "burst", "expected")),
                fmt(self.m(s.key, "burst", "delivered")),
                fmt(self.m(s.key, "burst", "lost")),
                fmt(self.m(s.key, "burst", "reported")) if s.key.startswith("chgen") else "-",
                fmt(self.m(s.key, "burst", "rate")),
            ])  # fmt: skip
        if rows:
            b = self.suite.profile.burst
            self.table(
                f"Pipelined group burst: {b['msgs']} posts sent back to back into a group of "
                f"{b['conns']} (lost = deliveries that never arrived; reported = lost "
                "deliveries the server logged as gaps)",
                ["server", "expected", "delivered", "lost", "reported", "deliv/s"],
                rows,
            )

    def setup(self) -> None:
        rows = []
        # "over bare": what the framework itself adds to an idle connection, beyond what
        # uvicorn and a hand-written ASGI app already hold for it.
        bare = self.m("bare", "setup", "kib_per_conn")
        channels = self.m("channels", "setup", "kib_per_conn")
        for s in self.with_results("setup"):
            if self.cell_fail(s.key, "setup"):
                rows.append([s.label, "FAILED", "-", "-", "-", "-", "-"])
                continue
            kib = self.m(s.key, "setup", "kib_per_conn")
            rows.append([
                s.label,
                fmt(self.m(s.key, "setup", "rate")),
                fmt(self.m(s.key, "setup", "server_us")),
                fmt(kib, 1),
                ratio(kib, channels),
                fmt(kib - bare, 1),
                ratio(kib - bare, channels - bare) if s.key not in ("raw", "bare") else "-",
            ])  # fmt: skip
        if rows:
            n = self.suite.profile.setup["conns"]
            self.table(
                f"Connection setup ({n} connections, {self.suite.profile.setup['concurrency']} "
                f"at a time) and server RSS per idle connection",
                [
                    "server",
                    "conn/s",
                    "srv us/conn",
                    "KiB/conn",
                    "vs Channels",
                    "over bare",
                    "vs Channels (over bare)",
                ],
                rows,
            )

    def targets(self) -> None:
        g = self.m
        checks: list[tuple[str, float, str, float]] = []  # (what, value, op, limit)

        def check(what: str, value: float, op: str, limit: float) -> None:
            checks.append((what, value, op, limit))

        for key in ("chgen-mux", "chgen"):
            us = div(g(key, "rr", "server_us"), g("bare", "rr", "server_us"))
            check(f"rr: {key} server us/msg vs bare", us, "<=", 1.3)
        us = div(g("channels-mux", "rr", "server_us"), g("chgen-mux", "rr", "server_us"))
        check("rr: Channels+mux us/msg vs chgen-mux", us, ">=", 5.0)
        for key in ("chgen-mux", "chgen"):
            rate = div(g(key, "rr", "rate"), g("bare", "rr", "rate"))
            check(f"rr: {key} msg/s vs bare", rate, ">=", 0.8)
        for size in self.suite.profile.fanout_sizes:
            w = f"fanout{size}"
            ours = g("chgen-mux", w, "rate")
            check(f"fan-out {size}: chgen-mux deliv/s vs bare", div(ours, g("bare", w, "rate")),
                  ">=", 0.8)  # fmt: skip
            check(f"fan-out {size}: chgen-mux deliv/s vs Channels in-memory",
                  div(ours, g("channels", w, "rate")), ">=", 4.0)  # fmt: skip
            peer = g("channels@redis-pubsub", w, "rate")
            for layer in ("redis-pubsub", "redis-core"):
                check(f"fan-out {size}: chgen-mux@{layer} vs Channels@redis-pubsub",
                      div(g(f"chgen-mux@{layer}", w, "rate"), peer), ">=", 2.0)  # fmt: skip
        for key in ("chgen-mux@redis-pubsub", "chgen-mux@redis-core"):
            silent = g(key, "burst", "lost") - g(key, "burst", "reported")
            check(f"burst: {key} deliveries lost without a report", silent, "<=", 0)
        for key in ("chgen-mux", "chgen"):
            kib = div(g(key, "setup", "kib_per_conn"), g("channels", "setup", "kib_per_conn"))
            check(f"idle memory: {key} KiB/conn vs Channels", kib, "<=", 0.5)
            bare = g("bare", "setup", "kib_per_conn")
            own = div(g(key, "setup", "kib_per_conn") - bare,
                      g("channels", "setup", "kib_per_conn") - bare)  # fmt: skip
            check(f"idle memory: {key} KiB/conn over bare ASGI vs Channels'", own, "<=", 0.5)
        for w in ("rr", "pipe"):
            frameworks = [g(s.key, w, "rate") for s in self.servers if s.key not in ("raw", "bare")]
            baseline = max(g("raw", w, "rate"), g("bare", w, "rate"))
            fastest = max(frameworks, default=float("nan"))
            check(f"{w}: client drives a baseline (raw/bare) faster than any framework",
                  div(baseline, fastest), ">=", 1.0)  # fmt: skip
            busiest = max((g(s.key, w, "client_util") for s in self.servers), default=float("nan"))
            check(f"{w}: load client's busiest CPU use (1.0 = a whole core)", busiest, "<=", 0.9)
        quick = self.suite.profile is QUICK
        rows = []
        for what, value, op, limit in checks:
            if value != value:
                continue
            ok = value <= limit if op == "<=" else value >= limit
            rows.append([what, f"{value:.2f}", f"{op} {limit:g}", "met" if ok else "MISSED"])
        if rows:
            self.table(
                "Targets (issue #6), from the medians above"
                + (" (--quick: counts far too small to mean anything)" if quick else ""),
                ["check", "value", "target", ""],
                rows,
            )

    def render(self) -> str:
        self.messages(
            "rr",
            "Request/reply ({conns} connections x {msgs} messages, one in flight each)".format(
                **self.suite.profile.rr
            ),
        )
        self.messages(
            "pipe",
            "Pipelined ({conns} connections x {msgs} messages, window {window})".format(
                **self.suite.profile.pipe
            ),
        )
        for size in self.suite.profile.fanout_sizes:
            self.fanout(size)
        self.burst()
        self.setup()
        self.targets()
        if self.suite.failures:
            self.out("Failures")
            for (key, workload), why in sorted(self.suite.failures.items()):
                self.out(f"  {key} / {workload}: {why}")
            self.out()
        return "\n".join(self.lines)


# -- environment ---------------------------------------------------------------------------


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "runtime", "generated", "handlers"],
            cwd=ROOT,
            timeout=10,
        ).returncode
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + (" with uncommitted runtime/generated/handlers changes" if dirty else "")


def describe(pinning: str, redis: Redis | None) -> str:
    dists = ["uvicorn", "uvloop", "httptools", "websockets", "orjson", "django", "channels",
             "channels-redis", "channelsmultiplexer", "chanx", "pydantic", "redis", "cattrs",
             "attrs"]  # fmt: skip
    return "\n".join([
        f"machine: {os.cpu_count()} cores, {cpu_model()}, {platform.platform()}",
        f"chgen: {revision()}",
        f"python {platform.python_version()}; "
        + ", ".join(f"{d} {version(d)}" for d in dists),
        f"redis-server: {redis.version if redis else 'not available'}",
        f"uvicorn {' '.join(UVICORN_OPTS)}",
        pinning,
    ])  # fmt: skip


def run_script(label: str, args: list[str], timeout: float) -> str:
    try:
        proc = subprocess.run(
            [PY, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"{label}: timed out after {timeout:.0f} s\n"
    if proc.returncode != 0:
        return f"{label}: skipped ({proc.stderr.strip() or f'exit {proc.returncode}'})\n"
    return proc.stdout


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny counts: proves the suite works")
    p.add_argument("--repeats", type=int, help="runs of every workload (default 3; quick 1)")
    p.add_argument("--only", help="comma-separated server keys to run (default: all)")
    p.add_argument("--workloads", help="comma-separated subset of: setup, rr, pipe, fanout, burst")
    p.add_argument("--budget", type=float, help="seconds after which no new run starts")
    p.add_argument(
        "--fanout-deliveries",
        type=int,
        help="deliveries per fan-out run and group size, for servers on neither Django nor "
        f"Redis (default {FULL.fanout_deliveries:,})",
    )
    p.add_argument("--json", type=Path, help="also write every raw result to this file")
    p.add_argument("--no-pin", action="store_true", help="do not pin server and client to cores")
    p.add_argument("--no-client-size", action="store_true", help="skip bench/client_size.py")
    p.add_argument("--no-faults", action="store_true", help="skip bench/faults.py")
    p.add_argument(
        "--no-codegen",
        action="store_true",
        help="skip bench/build_speed.py (also skipped with --only or --workloads)",
    )
    args = p.parse_args(argv)

    profile = QUICK if args.quick else FULL
    if args.fanout_deliveries:
        profile = replace(profile, fanout_deliveries=args.fanout_deliveries)
    repeats = args.repeats or profile.repeats
    budget = args.budget or profile.budget
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) >= 2 and not args.no_pin:
        server_cpu, client_cpu = cpus[0], cpus[1]
        pinning = (
            f"pinning: server and redis-server on core {server_cpu}, load client on core "
            f"{client_cpu} (sched_setaffinity)"
        )
    else:
        server_cpu = client_cpu = None
        pinning = "pinning: none (fewer than 2 cores, or --no-pin)"
    wanted = set(args.only.split(",")) if args.only else None
    if wanted and (unknown := wanted - {s.key for s in SERVERS}):
        p.error(f"unknown servers: {', '.join(sorted(unknown))}")

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chgen-bench-") as tmp:
        logdir = Path(tmp)
        with redis_server(server_cpu, logdir / "redis.log") as redis:
            print(f"chgen benchmark suite ({'quick' if args.quick else 'full'}), "
                  f"{repeats} repeat(s)")  # fmt: skip
            environment = describe(pinning, redis)
            print(environment)
            print()
            servers, skipped = [], []
            only_workloads = frozenset(args.workloads.split(",")) if args.workloads else None
            for s in SERVERS:
                if only_workloads is not None:
                    s = replace(s, workloads=s.workloads & only_workloads)
                    if not s.workloads:
                        continue
                if wanted is not None and s.key not in wanted:
                    continue
                why = missing_requirements(s, redis is not None)
                if why:
                    skipped.append(f"  {s.label}: {why}")
                else:
                    servers.append(s)
            suite = Suite(profile, client_cpu)
            out_of_time = False
            # Servers that need nothing beyond chgen's own setup run first, so a tight
            # --budget still measures them; the tables keep the order of SERVERS.
            run_order = sorted(servers, key=lambda s: bool(s.requires))
            for rep in range(repeats):
                for s in run_order:
                    if time.monotonic() - started > budget:
                        out_of_time = True
                        break
                    print(f"[{time.monotonic() - started:6.1f}s] repeat {rep + 1}/{repeats}: "
                          f"{s.label}", file=sys.stderr, flush=True)  # fmt: skip
                    if redis is not None and s.layer != "inmem":
                        redis.flush()
                    try:
                        running = Running(s, server_cpu, redis, logdir)
                    except Exception as exc:
                        for w in s.workloads:
                            suite.failures.setdefault((s.key, w), f"server did not start: {exc}")
                        continue
                    try:
                        suite.run_server(running, redis)
                    finally:
                        running.close()
            report = Report(suite, servers).render()
        print(report)
        if skipped:
            print("Skipped servers")
            print("\n".join(skipped))
            print()
        if out_of_time:
            print(f"Budget of {budget:.0f} s spent: later runs were not started.\n")
        if args.json:
            args.json.write_text(json.dumps({
                "environment": environment,
                "results": {f"{k}|{w}": v for (k, w), v in suite.results.items()},
                "failures": {f"{k}|{w}": v for (k, w), v in suite.failures.items()},
            }, indent=1))  # fmt: skip

    if not args.no_client_size:
        print(run_script("client size", ["bench/client_size.py"], 180))
    codegen = ROOT / "bench" / "build_speed.py"
    if codegen.exists() and not (args.no_codegen or args.only or args.workloads):
        extra: list[str] = []
        if args.quick:
            usage = subprocess.run(
                [PY, str(codegen), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
            ).stdout
            extra = ["--quick"] if "--quick" in usage else []
        if args.quick and not extra:
            print("codegen: skipped under --quick (bench/build_speed.py has no --quick option)\n")
        else:
            print(run_script("codegen", [str(codegen), *extra], 900))
    if not (args.no_faults or args.only or args.workloads or args.quick):
        print(run_script("faults", ["bench/faults.py"], 900))
    print(f"suite finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
