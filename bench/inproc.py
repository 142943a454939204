"""Application-layer cost per message, in process: no sockets, no ASGI server, no client.

Each app under test gets WebSocket scopes whose ``receive`` hands out frames from memory
and whose ``send`` only counts what goes out, so what is measured is exactly the app's
own work (decode, validate, dispatch, encode, its ASGI calls), the part that differs
between the servers of bench/run.py. Two workloads:

* ``rr``: one socket, N request/reply round trips; cost per message.
* ``fanout``: ``--members`` sockets in one room, one of them posts N times, each post
  waiting until every member got it; cost per delivery.

Useful for profiling the runtime:

    .venv/bin/python bench/inproc.py [--workload fanout] [--msgs 20000] [--profile chgen-mux]

``--profile KEY`` runs that app once more under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.flavors import FLAVORS  # noqa: E402

# key -> (module:attr, flavor, request/reply path, group path)
APPS = {
    "bare": ("bench.servers.bare_asgi:app", "plain", "/ws/bench/", "/ws/bench/"),
    "chgen": ("bench.servers.chgen_app:plain", "plain", "/echo/bench/", "/ws/bench/"),
    "chgen-mux": ("bench.servers.chgen_app:mux", "mux", "/ws/bench/", "/ws/bench/"),
    "chgen-mux-custom": ("bench.servers.chgen_app:mux_custom", "mux", "/ws/bench/", "/ws/bench/"),
    "channels": ("bench.servers.channels_app:plain", "plain", "/ws/bench/", "/ws/bench/"),
    "channels-mux": ("bench.servers.channels_app:mux", "mux", "/ws/bench/", "/ws/bench/"),
    "chanx": ("bench.servers.chanx_app:app", "chanx", "/ws/bench/", "/ws/bench/"),
}


def load(target: str) -> Callable[..., Any]:
    module, _, attr = target.partition(":")
    app: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return app


class Socket:
    """One connection of the app under test: an inbox for ``receive``, a counting ``send``.

    ``expect(n)`` returns a future that completes once ``n`` more frames went out.
    """

    def __init__(self, app: Callable[..., Any], path: str) -> None:
        loop = asyncio.get_running_loop()
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent = 0
        self.accepted = loop.create_future()
        self.done = loop.create_future()
        self._target = 0
        self._waiter: asyncio.Future[None] | None = None
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2),
            "subprotocols": [],
            "state": {},
            "extensions": {},
        }
        task = asyncio.create_task(app(scope, self.inbox.get, self.send))
        task.add_done_callback(lambda t: self.done.done() or self.done.set_result(None))

    async def open(self) -> None:
        self.inbox.put_nowait({"type": "websocket.connect"})
        await asyncio.wait_for(self.accepted, 10)

    async def close(self) -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.done, 10)

    def put(self, text: str) -> None:
        self.inbox.put_nowait({"type": "websocket.receive", "text": text})

    def expect(self, n: int) -> asyncio.Future[None]:
        self._target = self.sent + n
        self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.accept" and not self.accepted.done():
            self.accepted.set_result(None)
        elif kind == "websocket.send":
            self.sent += 1
            w = self._waiter
            if w is not None and self.sent >= self._target and not w.done():
                w.set_result(None)
        elif kind == "websocket.close" and not self.accepted.done():
            self.accepted.set_exception(RuntimeError("the app refused the connection"))


async def drive(app: Callable[..., Any], flavor: str, path: str, msgs: int) -> float:
    """CPU seconds the app spends per request/reply round trip, over ``msgs`` of them."""
    fl = FLAVORS[flavor]
    frames = [fl.request(i).decode() for i in range(msgs)]
    sock = Socket(app, path)
    await sock.open()

    async def one(frame: str) -> None:
        waiter = sock.expect(1)
        sock.put(frame)
        await asyncio.wait_for(waiter, 10)

    for frame in frames[:200]:  # warm-up
        await one(frame)
    start = time.process_time()
    for frame in frames:
        await one(frame)
    spent = time.process_time() - start
    await sock.close()
    return spent / msgs


async def drive_fanout(
    app: Callable[..., Any], flavor: str, path: str, msgs: int, members: int
) -> float:
    """CPU seconds per delivery: ``members`` sockets in one room, ``msgs`` posts by one."""
    fl = FLAVORS[flavor]
    socks = [Socket(app, path) for _ in range(members)]
    for sock in socks:
        await sock.open()
    poster = socks[0]

    async def one(seq: int) -> None:
        # Every member gets the post; the poster also gets its ack.
        waiters = [s.expect(2 if s is poster else 1) for s in socks]
        poster.put(fl.post(seq).decode())
        await asyncio.wait_for(asyncio.gather(*waiters), 10)

    for seq in range(20):  # warm-up
        await one(seq)
    start = time.process_time()
    for seq in range(msgs):
        await one(seq)
    spent = time.process_time() - start
    for sock in socks:
        await sock.close()
    return spent / (msgs * members)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--workload", choices=("rr", "fanout"), default="rr")
    p.add_argument("--msgs", type=int, default=20_000, help="round trips, or posts for fanout")
    p.add_argument("--members", type=int, default=50, help="sockets in the room (fanout)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", help="comma-separated app keys")
    p.add_argument("--profile", help="profile this app key with cProfile")
    args = p.parse_args(argv)
    os.environ.setdefault("BENCH_LAYER", "inmem")
    keys = args.only.split(",") if args.only else list(APPS)
    apps = {}
    for key in keys:
        try:
            apps[key] = load(APPS[key][0])
        except ImportError as exc:
            print(f"{key}: skipped ({exc})")
    import uvloop

    def run_once(key: str) -> float:
        _, flavor, rr_path, group_path = APPS[key]
        if args.workload == "fanout":
            return uvloop.run(drive_fanout(apps[key], flavor, group_path, args.msgs, args.members))
        return uvloop.run(drive(apps[key], flavor, rr_path, args.msgs))

    results: dict[str, list[float]] = {k: [] for k in apps}
    for _ in range(args.repeats):
        for key in apps:
            results[key].append(run_once(key) * 1e6)
    base = statistics.median(results["bare"]) if results.get("bare") else float("nan")
    if args.workload == "fanout":
        unit = "delivery"
        what = f"group delivery ({args.members} members, median of {args.repeats} x {args.msgs})"
    else:
        unit = "msg"
        what = f"request/reply (median of {args.repeats} x {args.msgs})"
    print(f"In-process app cost per {what}")
    print(f"{'app':16} {'us/' + unit:>11} {'vs bare':>8}")
    for key, values in results.items():
        us = statistics.median(values)
        print(f"{key:16} {us:11.2f} {us / base:7.2f}x")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run_once(args.profile)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
