"""Application-layer cost per message, in process: no sockets, no ASGI server, no client.

Each app under test gets one WebSocket scope whose ``receive`` hands out N request frames
from memory and whose ``send`` only counts replies, so what is measured is exactly the
app's own work per message (decode, validate, dispatch, encode, its ASGI calls), the part
that differs between the servers of bench/run.py. Useful for profiling the runtime:

    .venv/bin/python bench/inproc.py [--msgs 20000] [--repeats 5] [--profile chgen-mux]

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

from bench.load import FLAVORS  # noqa: E402

# key -> (module:attr, flavor, path)
APPS = {
    "bare": ("bench.servers.bare_asgi:app", "plain", "/ws/bench/"),
    "chgen": ("bench.servers.chgen_app:plain", "plain", "/echo/bench/"),
    "chgen-mux": ("bench.servers.chgen_app:mux", "mux", "/ws/bench/"),
    "channels": ("bench.servers.channels_app:plain", "plain", "/ws/bench/"),
    "channels-mux": ("bench.servers.channels_app:mux", "mux", "/ws/bench/"),
    "chanx": ("bench.servers.chanx_app:app", "chanx", "/ws/bench/"),
}


def load(target: str) -> Callable[..., Any]:
    module, _, attr = target.partition(":")
    app: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return app


async def drive(app: Callable[..., Any], flavor: str, path: str, msgs: int) -> float:
    """CPU seconds the app spent on ``msgs`` request/reply round trips."""
    fl = FLAVORS[flavor]
    frames = [fl.request(i).decode() for i in range(msgs)]
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies = 0
    accepted = loop.create_future()
    done = loop.create_future()
    reply_waiter: list[asyncio.Future[None] | None] = [None]

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        nonlocal replies
        kind = message["type"]
        if kind == "websocket.accept" and not accepted.done():
            accepted.set_result(None)
        elif kind == "websocket.send":
            replies += 1
            w = reply_waiter[0]
            if w is not None and not w.done():
                w.set_result(None)
        elif kind == "websocket.close" and not accepted.done():
            accepted.set_exception(RuntimeError("the app refused the connection"))

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
    task = asyncio.create_task(app(scope, receive, send))
    task.add_done_callback(lambda t: done.done() or done.set_result(None))
    inbox.put_nowait({"type": "websocket.connect"})
    await asyncio.wait_for(accepted, 10)

    async def one(frame: str) -> None:
        w = reply_waiter[0] = loop.create_future()
        inbox.put_nowait({"type": "websocket.receive", "text": frame})
        await asyncio.wait_for(w, 10)

    for frame in frames[:200]:  # warm-up
        await one(frame)
    start = time.process_time()
    for frame in frames:
        await one(frame)
    spent = time.process_time() - start
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(done, 10)
    return spent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--msgs", type=int, default=20_000)
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
    results: dict[str, list[float]] = {k: [] for k in apps}
    import uvloop

    for _ in range(args.repeats):
        for key, app in apps.items():
            _, flavor, path = APPS[key]
            spent = uvloop.run(drive(app, flavor, path, args.msgs))
            results[key].append(spent / args.msgs * 1e6)
    base = statistics.median(results["bare"]) if results.get("bare") else float("nan")
    print(f"In-process app cost per request/reply (median of {args.repeats} x {args.msgs})")
    print(f"{'app':14} {'us/msg':>8} {'vs bare':>8}")
    for key, values in results.items():
        us = statistics.median(values)
        print(f"{key:14} {us:8.2f} {us / base:7.2f}x")
    if args.profile:
        _, flavor, path = APPS[args.profile]
        prof = cProfile.Profile()
        prof.enable()
        uvloop.run(drive(apps[args.profile], flavor, path, args.msgs))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
