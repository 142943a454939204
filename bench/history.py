"""What group history costs, and what recovery saves: in process, no sockets or server.

The apps are the example chat app's Chat consumer (handlers/chat.py) on chgen's Router
and in-memory layer, driven through ASGI scopes whose ``receive`` and ``send`` are in
memory (as bench/inproc.py does), so the figures are the app's own work. Three tables:

* **fan-out**: 50 sockets in one room, one posts N times, each post waiting until every
  member got it; cost per delivery, wall and CPU, for Chat without history, with
  ``History(size=200, ttl=120)`` in the in-process store, and in Redis Streams (the
  layer stays in memory, so only the store differs).
* **store**: one operation of each store, per event: ``append``, ``since`` (50 events
  read back), beside the in-memory layer's ``group_send`` to a 50-member group.
* **mass reconnect**: 1,000 sockets that dropped together come back after 50 events
  were posted to their room. *recover*: they present their position (the ``recover``
  token) and get the 50 events replayed. *refetch*: they connect afresh and each asks a
  handler for the room's state, which sends back the last 50 events from a list in
  process memory (a floor: a real app reads a database there). Time from the first
  connect to the last socket served, and CPU.

    .venv/bin/python bench/history.py [--quick] [--no-redis]

The Redis rows need ``redis-server`` on PATH; this script starts one on a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import orjson

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from chgen.runtime import Router, route  # noqa: E402
from chgen.runtime.history import HistoryStore, Position, Retention  # noqa: E402
from chgen.runtime.history.memory import MemoryHistory  # noqa: E402
from chgen.runtime.layers import InMemoryChannelLayer  # noqa: E402
from generated.chat.payloads import Ack, Post, Posted  # noqa: E402
from handlers.chat import Chat  # noqa: E402

App = Callable[..., Any]
ROOM = "bench"
GROUP = f"room.{ROOM}"
PATH = f"/ws/{ROOM}/"
HISTORY = (None, 200, 120.0)  # what History(size=200, ttl=120) generates, every group
MISSED = 50  # events a reconnecting socket missed
Chat.rate_limit = 1e9  # one bench socket posts far faster than any person


class KeptChat(Chat):
    """Chat whose groups keep history, as the spec's ``history=History(200, 120)``."""

    group_history = (HISTORY,)


class StatefulChat(Chat):
    """Chat whose app keeps the room's events and sends them to a socket that asks: a
    post whose text is ``"fetch"`` gets the last 50 events, then its ack."""

    state: ClassVar[list[Posted]] = []

    async def post(self, data: Post) -> Ack:
        if data.text == "fetch":
            for event in self.state[-MISSED:]:
                await self.send_posted(event)
            return Ack(id=0)
        ack = await super().post(data)
        self.state.append(Posted(id=ack.id, text=data.text))
        return ack


def router(consumer: type[Chat], history: HistoryStore | None = None) -> Router:
    layer = InMemoryChannelLayer(capacity=10_000)
    return Router([route(r"^/ws/(?P<room>[a-z0-9-]+)/$", consumer)], layer=layer, history=history)


class Socket:
    """One connection of the app under test: frames in from memory, frames out kept."""

    def __init__(self, app: App, query: str = "") -> None:
        loop = asyncio.get_running_loop()
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.frames: list[dict[str, Any]] = []
        self.accepted = loop.create_future()
        self.done = loop.create_future()
        self._until: Callable[[dict[str, Any]], bool] | None = None
        self._waiter: asyncio.Future[None] | None = None
        scope = {
            "type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws",
            "http_version": "1.1", "path": PATH, "raw_path": PATH.encode(),
            "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2), "subprotocols": [], "state": {}, "extensions": {},
        }  # fmt: skip
        task = asyncio.create_task(app(scope, self.inbox.get, self.send))
        task.add_done_callback(lambda _: self.done.done() or self.done.set_result(None))

    async def open(self) -> None:
        self.inbox.put_nowait({"type": "websocket.connect"})
        await asyncio.wait_for(self.accepted, 30)

    async def close(self) -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.done, 30)

    def put(self, frame: dict[str, Any]) -> None:
        self.inbox.put_nowait({"type": "websocket.receive", "text": orjson.dumps(frame).decode()})

    def until(self, done: Callable[[dict[str, Any]], bool]) -> asyncio.Future[None]:
        """A future done once a frame for which ``done(frame)`` is true goes out."""
        self._until, self._waiter = done, asyncio.get_running_loop().create_future()
        return self._waiter

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.accept" and not self.accepted.done():
            self.accepted.set_result(None)
        elif kind == "websocket.send":
            frame = orjson.loads(message["text"])
            self.frames.append(frame)
            waiter = self._waiter
            until = self._until
            if waiter is not None and not waiter.done() and until is not None and until(frame):
                waiter.set_result(None)
        elif kind == "websocket.close" and not self.accepted.done():
            self.accepted.set_exception(RuntimeError(f"refused: {message}"))


def is_ack(msg_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("id") == msg_id


async def post(poster: Socket, msg_id: int, text: str) -> None:
    waiter = poster.until(is_ack(msg_id))
    poster.put({"type": "post", "id": msg_id, "data": {"text": text}})
    await asyncio.wait_for(waiter, 30)


# -- fan-out ---------------------------------------------------------------------------------


async def fanout(app: App, posts: int, members: int) -> tuple[float, float]:
    """Wall and CPU seconds per delivery: ``members`` sockets, ``posts`` posts by one."""
    socks = [Socket(app) for _ in range(members)]
    for sock in socks:
        await sock.open()
    poster = socks[0]

    async def one(n: int) -> None:
        text = f"post {n}"
        waiters = [
            s.until(lambda f, t=text: f.get("type") == "posted" and f["data"]["text"] == t)
            for s in socks[1:]
        ]
        await post(poster, n, text)
        await asyncio.wait_for(asyncio.gather(*waiters), 30)

    for n in range(20):  # warm-up
        await one(n)
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(20, 20 + posts):
        await one(n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for sock in socks:
        await sock.close()
    deliveries = posts * members
    return wall / deliveries, cpu / deliveries


# -- store -----------------------------------------------------------------------------------


async def store_costs(store: HistoryStore, count: int) -> tuple[float, float]:
    """Seconds per ``append`` and per event read by ``since`` (50 at a time)."""
    keep = Retention(size=200, ttl=120.0)
    message = {"frame": '{"type":"posted","data":{"id":1,"text":"hello there"}}'}
    first = await store.append("bench.store", message, keep)
    start = time.perf_counter()
    for _ in range(count):
        top = await store.append("bench.store", message, keep)
    appended = (time.perf_counter() - start) / count
    after = Position(first.epoch, top.offset - MISSED)
    reads = max(1, count // MISSED)
    start = time.perf_counter()
    for _ in range(reads):
        await store.since("bench.store", after, keep)
    read = (time.perf_counter() - start) / (reads * MISSED)
    return appended, read


async def layer_send_cost(count: int, members: int = 50) -> float:
    """Seconds per in-memory ``group_send`` to ``members`` channels (drained as it goes)."""
    layer = InMemoryChannelLayer(capacity=count + 10)
    channels = [await layer.new_channel() for _ in range(members)]
    for channel in channels:
        await layer.group_add("bench.layer", channel)
    message = {"type": "chgen.event", "frame": '{"type":"posted"}'}
    start = time.perf_counter()
    for _ in range(count):
        await layer.group_send("bench.layer", message)
    spent = (time.perf_counter() - start) / count
    return spent


# -- mass reconnect --------------------------------------------------------------------------


def token(position: list[Any]) -> str:
    group, epoch, offset = position
    data = orjson.dumps({"": {group: [epoch, offset]}})
    return "1." + base64.urlsafe_b64encode(data).decode().rstrip("=")


async def reconnect(app: App, clients: int, recover: bool) -> tuple[float, float]:
    """Wall and CPU seconds for ``clients`` sockets that dropped together to come back
    and get the ``MISSED`` events posted meanwhile: replayed, or refetched."""
    poster = Socket(app)
    await poster.open()
    socks = [Socket(app, "recover=" if recover else "") for _ in range(clients)]
    await asyncio.gather(*(s.open() for s in socks))
    waiters = [s.until(lambda f: f.get("type") == "posted") for s in socks]
    await post(poster, 1, "before the drop")
    await asyncio.wait_for(asyncio.gather(*waiters), 60)
    seen = socks[0].frames[-1].get("pos")
    await asyncio.gather(*(s.close() for s in socks))
    for n in range(MISSED):
        await post(poster, 2 + n, f"missed {n}")

    query = f"recover={token(seen)}" if recover else ""
    wall, cpu = time.perf_counter(), time.process_time()
    back = [Socket(app, query) for _ in range(clients)]
    if recover:
        waiters = [s.until(lambda f: f.get("type") == "recovery") for s in back]
        await asyncio.gather(*(s.open() for s in back))
    else:
        await asyncio.gather(*(s.open() for s in back))
        waiters = [s.until(is_ack(9)) for s in back]
        for sock in back:
            sock.put({"type": "post", "id": 9, "data": {"text": "fetch"}})
    await asyncio.wait_for(asyncio.gather(*waiters), 120)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for sock in back:
        got = [f for f in sock.frames if f.get("type") == "posted"]
        assert len(got) == MISSED, (recover, len(got), sock.frames[:3])
    await asyncio.gather(*(s.close() for s in back))
    await poster.close()
    return wall, cpu


# -- the run ---------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--posts", type=int, default=1000, help="posts per fan-out repeat")
    p.add_argument("--members", type=int, default=50)
    p.add_argument("--clients", type=int, default=1000, help="sockets that reconnect")
    p.add_argument("--events", type=int, default=20_000, help="store operations a repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="fewer posts, clients and repeats")
    p.add_argument("--no-redis", action="store_true", help="leave out the Redis store")
    args = p.parse_args(argv)
    if args.quick:
        args.posts, args.clients, args.events, args.repeats = 100, 100, 2000, 1
    import uvloop

    server = None
    if not args.no_redis:
        from redis_server import RedisServer  # tests/redis_server.py

        server = RedisServer().start()
    try:
        run(args, server, uvloop.run)
    finally:
        if server is not None:
            server.stop()
    return 0


def run(args: argparse.Namespace, server: Any, run_loop: Callable[[Any], Any]) -> None:
    def redis_store() -> HistoryStore:
        from chgen.runtime.history.redis import RedisHistory

        return RedisHistory.from_url(server.url)

    fan: dict[str, list[tuple[float, float]]] = {"no history": [], "memory": []}
    if server is not None:
        fan["redis"] = []
    for repeat in range(args.repeats):
        names = list(fan)
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:  # rotated
            if name == "no history":
                app = router(Chat)
            elif name == "memory":
                app = router(KeptChat, MemoryHistory())
            else:
                app = router(KeptChat, redis_store())
            fan[name].append(run_loop(fanout(app, args.posts, args.members)))
    base = median([w for w, _ in fan["no history"]])
    base_cpu = median([c for _, c in fan["no history"]])
    print(f"\nFan-out: {args.members} members, median of {args.repeats} x {args.posts} posts")
    print(f"{'history':12} {'us/delivery':>12} {'vs none':>8} {'cpu us':>8} {'vs none':>8}")
    for name, values in fan.items():
        wall = median([w for w, _ in values])
        cpu = median([c for _, c in values])
        print(f"{name:12} {wall * 1e6:12.2f} {wall / base:7.2f}x {cpu * 1e6:8.2f} "
              f"{cpu / base_cpu:7.2f}x")  # fmt: skip

    count = args.events
    stores: dict[str, Callable[[], HistoryStore]] = {"memory": MemoryHistory}
    if server is not None:
        stores["redis"] = redis_store
    layer = median([run_loop(layer_send_cost(count)) for _ in range(args.repeats)])
    print(f"\nStore, per event (median of {args.repeats} x {count:,})")
    print(f"{'operation':36} {'us':>8} {'vs group_send':>14}")
    print(f"{'in-memory group_send, 50 members':36} {layer * 1e6:8.2f} {1.0:13.2f}x")
    for name, make in stores.items():
        costs = [run_loop(store_costs(make(), count)) for _ in range(args.repeats)]
        append = median([a for a, _ in costs])
        since = median([s for _, s in costs])
        print(f"{name + ' append':36} {append * 1e6:8.2f} {append / layer:13.2f}x")
        print(f"{name + ' since, per event read':36} {since * 1e6:8.2f} {since / layer:13.2f}x")

    peers: dict[str, list[tuple[float, float]]] = {"recover": [], "refetch": []}
    for repeat in range(args.repeats):
        for name in ("recover", "refetch") if repeat % 2 else ("refetch", "recover"):
            StatefulChat.state = []
            app = router(KeptChat, MemoryHistory()) if name == "recover" else router(StatefulChat)
            peers[name].append(run_loop(reconnect(app, args.clients, name == "recover")))
    base = median([w for w, _ in peers["refetch"]])
    print(
        f"\nMass reconnect: {args.clients:,} sockets back at once, {MISSED} events missed each"
        f" (median of {args.repeats})"
    )
    print(f"{'how':10} {'wall ms':>9} {'vs refetch':>11} {'cpu ms':>8}")
    for name, values in peers.items():
        wall = median([w for w, _ in values])
        cpu = median([c for _, c in values])
        print(f"{name:10} {wall * 1e3:9.1f} {wall / base:10.2f}x {cpu * 1e3:8.1f}")


if __name__ == "__main__":
    sys.exit(main())
