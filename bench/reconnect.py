"""Mass reconnect across processes: recovery from Redis against a refetch from a database.

Issue #18 asks for "the time for 1,000 clients that dropped together to reconnect and
recover 50 missed events each, against the same clients refetching from a handler that
reads the state". This script measures it as a deployment would see it: a redis-server,
two uvicorn processes of bench/servers/reconnect_app.py on one channels_redis layer, and
real sockets from this process (bench/wsclient.py).

Each round, for each peer, in a room of its own: a poster and ``--clients`` sockets join
the room, half on each process; one post reaches them all; then every socket's TCP
connection is aborted (no close handshake, as a network drop), and once both processes
are idle again (they have dropped them), the poster posts 50 events. Then all the sockets come
back at once, each to the other process than before, and the clock runs from the first
connect to the last socket that holds the 50 events and knows it:

* **recover** (``/kept/<room>/``, ``History(200, 120)`` in Redis Streams): each socket
  presents the ``recover`` token of the last event it saw, built as the Python client
  builds it (``Positions.query``), and is done at its ``recovery`` frame, which must say
  ``recovered`` with 50 events replayed. Twice: with hiredis reading the store's replies
  (when it is installed; redis-py then picks it), and with redis-py's pure-Python parser
  (``/py/kept/<room>/``), which is what a plain ``pip install chgen[redis]`` gets;
* **refetch** (``/db/<room>/``, no history; posts are rows of a SQLite file): each socket
  connects afresh and asks for the room's state (a post ``"fetch"``); the consumer reads
  the last 50 rows in a worker thread and sends them, and the socket is done at the ack.

Every socket must have received exactly the 50 missed events, in order, or the run fails.
Peers alternate which goes first, round by round; the table shows medians and ratios of
this run: wall time, CPU of both uvicorn processes together, of redis-server, and of this
client. Nothing is pinned: the servers, redis-server and this client share the machine's
cores, so the client's own work competes with the servers' for them.

    .venv/bin/python bench/reconnect.py [--clients 1000] [--rounds 5] [--quick]

Needs redis-server on PATH (``apt-get install redis-server``); this script starts it, and
the servers, on free loopback ports and stops them. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import redis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cpu import cpu_seconds  # noqa: E402
from bench.run import (  # noqa: E402
    PY,
    UVICORN_OPTS,
    free_port,
    preexec,
    redis_server,
    stop,
    wait_for_port,
)
from bench.wsclient import HOST, WS, connect  # noqa: E402
from chgen.runtime.client.recovery import Positions  # noqa: E402

APP = "bench.servers.reconnect_app:application"
MISSED = 50  # events each socket misses: as many as the app's state request sends back
BACKLOG = 2048  # listen backlog of each server: half the sockets connect to it at once
PHASE_TIMEOUT = 120.0  # seconds any one phase of a round may take
CONNECT_CONCURRENCY = 200  # sockets opening at once before the drop (not measured)


@dataclass(frozen=True)
class Peer:
    name: str
    route: str  # the path before the room: /<route>/<room>/
    recover: bool  # presents its position; else asks for the state


def peers() -> list[Peer]:
    """The rows of the table: recovery with hiredis reading the store's replies when it is
    installed (redis-py then uses it), with redis-py's pure-Python parser, and refetch."""
    kept = []
    if importlib.util.find_spec("hiredis") is not None:
        kept.append(Peer("recover, hiredis", "kept", True))
    kept.append(Peer("recover, python parser", "py/kept", True))
    return [*kept, Peer("refetch, sqlite", "db", False)]


# -- processes -----------------------------------------------------------------------------


class Server:
    """One uvicorn process of the app, its output in a log file."""

    def __init__(self, name: str, env: dict[str, str], logdir: Path) -> None:
        self.port = free_port()
        self.log = logdir / f"{name}.log"
        cmd = [PY, "-m", "uvicorn", APP, "--host", HOST, "--port", str(self.port)]
        cmd += ["--backlog", str(BACKLOG), *UVICORN_OPTS]
        self._out = self.log.open("ab")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
            preexec_fn=preexec(None),  # its own fd limit raised to the hard limit
        )  # fmt: skip
        try:
            wait_for_port(self.port, self.proc, 30)
        except Exception:
            self.close()
            raise

    def tail(self, lines: int = 20) -> str:
        self._out.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        stop(self.proc)
        self._out.close()


def raise_fd_limit(needed: int) -> int:
    """Raise this process's open-file limit to its hard limit; fail if that is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft < needed:
        raise SystemExit(f"open-file limit {soft} is below the {needed} this run needs")
    return soft


# -- the sockets ---------------------------------------------------------------------------


@dataclass
class Client:
    """One reconnecting socket: its frames on the current connection, and, when it asks
    for recovery, the positions it saw, kept across connections as a client keeps them."""

    home: int  # which process it first connects to (0 or 1)
    positions: Positions | None
    frames: list[dict[str, Any]] = field(default_factory=list)
    done_at: float = 0.0
    matched: dict[str, Any] | None = None  # the frame that ended the last wait
    ws: WS | None = None
    _want: Callable[[dict[str, Any]], bool] | None = None
    _done: asyncio.Future[None] | None = None

    def on_text(self, payload: bytes) -> None:
        frame = orjson.loads(payload)
        self.frames.append(frame)
        if self.positions is not None:
            kind = frame.get("type")
            if kind == "posted":
                self.positions.seen(None, frame.get("pos"))
            elif kind == "recovery":
                self.positions.told(None, frame["recovery"].get("groups") or {})
        want, done = self._want, self._done
        if want is not None and done is not None and not done.done() and want(frame):
            self.done_at = time.perf_counter()
            self.matched = frame
            done.set_result(None)

    def until(self, want: Callable[[dict[str, Any]], bool]) -> asyncio.Future[None]:
        """A future done at the first frame on this connection for which ``want`` holds."""
        self._want, self._done = want, asyncio.get_running_loop().create_future()
        return self._done

    async def open(self, port: int, path: str) -> None:
        self.frames = []
        self.ws = await connect(port, path, self.on_text)

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake, as a lost network does."""
        if self.ws is not None and self.ws.transport is not None:
            self.ws.transport.abort()


def is_reply(msg_id: int) -> Callable[[dict[str, Any]], bool]:
    """The answer to request ``msg_id``: its reply, or an error (which fails the run)."""
    return lambda frame: frame.get("id") == msg_id


def posted(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("type") == "posted" and frame["data"]["text"] == text


async def post(poster: Client, msg_id: int, text: str) -> None:
    reply = poster.until(is_reply(msg_id))
    assert poster.ws is not None
    poster.ws.send_text(orjson.dumps({"type": "post", "id": msg_id, "data": {"text": text}}))
    await asyncio.wait_for(reply, PHASE_TIMEOUT)
    if poster.matched is None or poster.matched.get("type") != "post":
        raise RuntimeError(f"post {text!r} was answered {poster.matched}")


async def group_size(db: redis.Redis, group: str, want: int) -> None:
    """Wait until channels_redis' group ``group`` has ``want`` members. Each process joins
    it once for all its sockets in the group (chgen's relay), so 0 says both processes
    saw every socket go."""
    key = f"asgi:group:{group}"
    deadline = time.monotonic() + PHASE_TIMEOUT
    while (size := await asyncio.to_thread(db.zcard, key)) != want:
        if time.monotonic() > deadline:
            raise TimeoutError(f"group {group} has {size} members, not {want}")
        await asyncio.sleep(0.02)


async def quiet(pids: list[int]) -> None:
    """Wait until the processes are idle (under 5 ms of CPU in 100 ms, all together): the
    work of one phase (sockets dropped, say) must not run into the next one's figures."""
    deadline = time.monotonic() + PHASE_TIMEOUT
    before = sum(cpu_seconds(pid) for pid in pids)
    while True:
        await asyncio.sleep(0.1)
        now = sum(cpu_seconds(pid) for pid in pids)
        if now - before < 0.005:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the servers are still busy after {PHASE_TIMEOUT:.0f} s")
        before = now


# -- one measurement -----------------------------------------------------------------------


@dataclass
class Figures:
    wall: float
    servers_cpu: float
    redis_cpu: float
    client_cpu: float


def check(peer: Peer, clients: list[Client], room: str) -> None:
    """Each socket got exactly the missed events, in order, and was told so."""
    expected = [f"missed {n}" for n in range(MISSED)]
    for index, client in enumerate(clients):
        events = [f for f in client.frames if f.get("type") == "posted"]
        texts = [f["data"]["text"] for f in events]
        if texts != expected:
            told = (client.matched or {}).get("recovery", client.matched)
            raise AssertionError(
                f"{peer.name}: socket {index} got {len(texts)} events ({texts[:2]}...), then {told}"
            )
        if peer.recover:
            offsets = [f["pos"][2] for f in events]
            if offsets != list(range(offsets[0], offsets[0] + MISSED)):
                raise AssertionError(f"recover: socket {index}'s offsets skip: {offsets}")
            assert client.matched is not None
            told = client.matched["recovery"]
            group = told["groups"][f"room.{room}"]
            if not (told["recovered"] and group["replayed"] == MISSED):
                raise AssertionError(f"recover: socket {index} was told {told}")
        else:
            ids = [f["data"]["id"] for f in events]
            if ids != sorted(set(ids)) or (client.matched or {}).get("type") != "post":
                raise AssertionError(f"refetch: socket {index}: ids {ids}, {client.matched}")


async def measure(
    peer: Peer, room: str, count: int, servers: list[Server], redis_pid: int, db: redis.Redis
) -> Figures:
    path = f"/{peer.route}/{room}/"
    recover = peer.recover
    group = f"room.{room}"
    ports = [s.port for s in servers]

    poster = Client(0, None)
    await poster.open(ports[0], path)
    clients = [Client(n % 2, Positions() if recover else None) for n in range(count)]
    query = "?recover=" if recover else ""  # a client that tracks positions says so at once
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def join(client: Client) -> None:
        async with gate:
            await client.open(ports[client.home], path + query)

    await asyncio.wait_for(asyncio.gather(*(join(c) for c in clients)), PHASE_TIMEOUT)
    seen = [c.until(posted("before the drop")) for c in clients]
    await post(poster, 1, "before the drop")
    await asyncio.wait_for(asyncio.gather(*seen), PHASE_TIMEOUT)

    pids = [s.proc.pid for s in servers]
    for client in clients:
        client.abort()
    await quiet(pids)  # both processes have dropped them
    for n in range(MISSED):
        await post(poster, 2 + n, f"missed {n}")
    await quiet([*pids, redis_pid])

    async def come_back(client: Client) -> None:
        if recover:
            assert client.positions is not None
            done = client.until(lambda f: f.get("type") == "recovery")
            await client.open(ports[1 - client.home], f"{path}?{client.positions.query()}")
        else:
            done = client.until(is_reply(9))
            await client.open(ports[1 - client.home], path)
            assert client.ws is not None
            client.ws.send_text(b'{"type":"post","id":9,"data":{"text":"fetch"}}')
        await done

    servers0 = sum(cpu_seconds(pid) for pid in pids)
    redis0, client0 = cpu_seconds(redis_pid), time.process_time()
    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(come_back(c) for c in clients)), PHASE_TIMEOUT)
    wall = max(c.done_at for c in clients) - start
    figures = Figures(
        wall,
        sum(cpu_seconds(pid) for pid in pids) - servers0,
        cpu_seconds(redis_pid) - redis0,
        time.process_time() - client0,
    )
    check(peer, clients, room)

    for client in [*clients, poster]:
        client.abort()
    await group_size(db, group, 0)
    await quiet([*pids, redis_pid])  # the next measurement starts on idle servers
    return figures


# -- the run -------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(results: dict[Peer, list[Figures]], clients: int, rounds: int) -> str:
    refetch = [f for peer, figures in results.items() if not peer.recover for f in figures]
    base_wall = median([f.wall for f in refetch])
    base_cpu = median([f.servers_cpu for f in refetch])
    lines = [
        f"Mass reconnect, 2 uvicorn processes on Redis: {clients:,} sockets back at once, "
        f"{MISSED} events missed each (median of {rounds} rounds)",
        f"{'how':23} {'wall ms':>9} {'vs refetch':>11} {'servers cpu ms':>15} "
        f"{'vs refetch':>11} {'redis cpu ms':>13} {'client cpu ms':>14}",
    ]
    for peer, values in results.items():
        wall = median([f.wall for f in values])
        cpu = median([f.servers_cpu for f in values])
        lines.append(
            f"{peer.name:23} {wall * 1e3:9.1f} {wall / base_wall:10.2f}x {cpu * 1e3:15.1f} "
            f"{cpu / base_cpu:10.2f}x {median([f.redis_cpu for f in values]) * 1e3:13.1f} "
            f"{median([f.client_cpu for f in values]) * 1e3:14.1f}"
        )
    if not any(p.name.endswith("hiredis") for p in results):
        lines.append("(hiredis is not installed here: pip install hiredis for its row)")
    return "\n".join(lines)


async def run_rounds(
    args: argparse.Namespace, servers: list[Server], redis_pid: int, url: str
) -> dict[Peer, list[Figures]]:
    db = redis.Redis.from_url(url)
    order = peers()
    results: dict[Peer, list[Figures]] = {peer: [] for peer in order}
    try:
        for n in range(args.rounds):
            for index in range(len(order)):  # who goes first rotates, round by round
                peer = order[(n + index) % len(order)]
                print(f"round {n + 1}/{args.rounds}: {peer.name}", file=sys.stderr, flush=True)
                room = f"r{n}-{order.index(peer)}"
                results[peer].append(
                    await measure(peer, room, args.clients, servers, redis_pid, db)
                )
    finally:
        db.close()
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=1000, help="sockets that drop and come back")
    p.add_argument("--rounds", type=int, default=5, help="measurements of each peer")
    p.add_argument("--quick", action="store_true", help="100 sockets, 2 rounds")
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.rounds = 100, 2
    limit = raise_fd_limit(args.clients + 100)
    import uvloop

    with tempfile.TemporaryDirectory(prefix="chgen-reconnect-") as tmp:
        logdir = Path(tmp)
        with redis_server(None, logdir / "redis.log") as server:
            if server is None:
                raise SystemExit("redis-server is not on PATH (apt-get install redis-server)")
            env = dict(
                os.environ,
                BENCH_REDIS_URL=server.url,
                BENCH_SQLITE=str(logdir / "events.sqlite"),
                PYTHONUNBUFFERED="1",
            )
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
            servers: list[Server] = []
            try:
                for name in ("a", "b"):
                    servers.append(Server(name, env, logdir))
                print(
                    f"{server.version.split(' sha=')[0]}; 2 x uvicorn --backlog {BACKLOG} "
                    f"{' '.join(UVICORN_OPTS[:6])}; open-file limit {limit}; "
                    f"{os.cpu_count()} cores, nothing pinned"
                )
                results = uvloop.run(run_rounds(args, servers, server.proc.pid, server.url))
            except BaseException:
                for s in servers:
                    print(f"--- server {s.port}:\n{s.tail()}", file=sys.stderr)
                raise
            finally:
                for s in servers:
                    s.close()
    print(report(results, args.clients, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
