"""(a) The ceiling: the websockets library's own asyncio server, no ASGI, same JSON job.

Run as a script (bench/run.py does): ``python -m bench.servers.raw_websockets --port P``.
It runs on uvloop, like the uvicorn servers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection, broadcast, serve

ROOMS: dict[str, set[ServerConnection]] = {}
_ids = itertools.count(1)


async def handler(ws: ServerConnection) -> None:
    room = ws.request.path.rstrip("/").rsplit("/", 1)[-1] if ws.request else ""
    members = ROOMS.setdefault(room, set())
    members.add(ws)
    try:
        async for text in ws:
            msg: Any = orjson.loads(text)
            kind = msg.get("type")
            if kind == "say":
                reply = {"type": "say", "id": msg["id"], "data": {"text": msg["data"]["text"]}}
                await ws.send(orjson.dumps(reply).decode())
            elif kind == "post":
                n = next(_ids)
                event = {"type": "posted", "data": {"id": n, "text": msg["data"]["text"]}}
                broadcast(members, orjson.dumps(event).decode())
                ack = {"type": "post", "id": msg["id"], "data": {"id": n}}
                await ws.send(orjson.dumps(ack).decode())
    finally:
        members.discard(ws)


async def main(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=1 << 20):
        await stop


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(main(parser.parse_args().port))
