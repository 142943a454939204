"""What the generated Python client costs its caller: CPU time per request, beside frames
written by hand on the same library.

The example chat app runs under uvicorn in a child process (bench/servers/chgen_app.py's
``mux``, whose rate limits are out of the way, as for bench/run.py); this process is the client,
so its own CPU time (``time.process_time``) is the client's cost alone. Two ways to ask
the echo stream to ``say`` a short text, each on a fresh connection over websockets'
asyncio client (no compression, as the generated client connects):

* ``frames``: what a hand-written client does, and no more: ``orjson.dumps`` of the
  wrapped frame with an id, ``send``, ``recv``, ``orjson.loads``, the id compared, the
  data left a dict. No check of what goes out or comes in, no timeout, no reconnect.
* ``client``: ``await lobby.echo.request.say(Say(text=...))`` on the generated
  ``LobbyClient``, which checks and encodes the payload, keeps a pending request with its
  timeout, reads the frame and decodes the reply into a ``Say``.

Each is run one request at a time (``rr``) and with ``--window`` requests in flight
(``pipe``). Rounds alternate between the cases; the table shows medians and the ratio to
``frames``:

    .venv/bin/python bench/pyclient.py [--requests 5000] [--rounds 5] [--window 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chgen.runtime.client import ClientOptions  # noqa: E402
from generated.chat.client import LobbyClient, lobby_url  # noqa: E402
from generated.chat.payloads import Say  # noqa: E402

HOST = "127.0.0.1"
UVICORN = ("--host", HOST, "--log-level", "warning", "--port")
TEXT = "the quick brown fox jumps over the lazy dog"
Case = Callable[[str, int, int], Awaitable[None]]


def serve() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.servers.chgen_app:mux",
            *UVICORN,
            str(port),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return server, f"ws://{HOST}:{port}"
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("uvicorn did not start in 20 s")


def frame(msg_id: int) -> str:
    return orjson.dumps(
        {"stream": "echo", "payload": {"type": "say", "id": msg_id, "data": {"text": TEXT}}}
    ).decode()


async def answer(ws: ClientConnection) -> dict[str, object]:
    reply = orjson.loads(await ws.recv())
    payload: dict[str, object] = reply["payload"]
    return payload


async def frames(base: str, requests: int, window: int) -> None:
    async with connect(lobby_url(base, room="bench"), compression=None) as ws:
        for first in range(0, requests, window):
            ids = range(first, min(first + window, requests))
            for msg_id in ids:
                await ws.send(frame(msg_id))
            for msg_id in ids:
                payload = await answer(ws)
                assert payload["id"] == msg_id, payload
                assert isinstance(payload.get("data"), dict), payload


async def client(base: str, requests: int, window: int) -> None:
    async with LobbyClient(lobby_url(base, room="bench"), ClientOptions()) as lobby:
        say = lobby.echo.request.say
        for first in range(0, requests, window):
            count = min(window, requests - first)
            if count == 1:
                assert (await say(Say(text=TEXT))).text == TEXT
            else:
                replies = await asyncio.gather(*(say(Say(text=TEXT)) for _ in range(count)))
                assert all(r.text == TEXT for r in replies)


CASES: dict[str, Case] = {"frames": frames, "client": client}


async def measure(case: Case, base: str, requests: int, window: int) -> tuple[float, float]:
    """(client CPU µs, wall µs) per request."""
    cpu, wall = time.process_time(), time.perf_counter()
    await case(base, requests, window)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / requests * 1e6, wall / requests * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window", type=int, default=32)
    args = parser.parse_args()
    server, base = serve()
    try:
        for case in CASES.values():  # warm up: imports, the server's first connection
            asyncio.run(measure(case, base, min(args.requests, 100), 1))
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for workload, window in (("rr", 1), ("pipe", args.window)):
                for name, case in CASES.items():
                    found = asyncio.run(measure(case, base, args.requests, window))
                    results.setdefault((workload, name), []).append(found)
    finally:
        server.terminate()
        server.wait(10)
    print(f"{args.requests} requests a round, {args.rounds} rounds, medians")
    print(f"pipe: {args.window} requests in flight")
    header = ("workload", "case", "client CPU µs/req", "ratio", "wall µs/req", "ratio")
    print(f"{header[0]:<9}{header[1]:<8}{header[2]:>19}{header[3]:>8}{header[4]:>13}{header[5]:>8}")
    for (workload, name), runs in results.items():
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        base_runs = results[(workload, "frames")]
        base_cpu = statistics.median(r[0] for r in base_runs)
        base_wall = statistics.median(r[1] for r in base_runs)
        print(
            f"{workload:<9}{name:<8}{cpu:>19.1f}{cpu / base_cpu:>8.2f}"
            f"{wall:>13.1f}{wall / base_wall:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
