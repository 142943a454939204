"""(b) A bare hand-written ASGI app: the same JSON job, its own in-process broadcast."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ROOMS: dict[str, set[Send]] = {}
_ids = itertools.count(1)


async def app(scope: MutableMapping[str, Any], receive: Any, send: Send) -> None:
    if scope["type"] != "websocket":
        return
    room = scope["path"].rstrip("/").rsplit("/", 1)[-1]
    await receive()  # websocket.connect
    members = ROOMS.setdefault(room, set())
    members.add(send)
    await send({"type": "websocket.accept"})
    try:
        while True:
            event = await receive()
            if event["type"] != "websocket.receive":
                return
            msg = orjson.loads(event["text"])
            kind = msg.get("type")
            if kind == "say":
                reply = {"type": "say", "id": msg["id"], "data": {"text": msg["data"]["text"]}}
                await send({"type": "websocket.send", "text": orjson.dumps(reply).decode()})
            elif kind == "post":
                n = next(_ids)
                posted = {"type": "posted", "data": {"id": n, "text": msg["data"]["text"]}}
                frame = {"type": "websocket.send", "text": orjson.dumps(posted).decode()}
                for member in tuple(members):
                    try:
                        await member(frame)
                    except Exception:  # a member that went away meanwhile
                        members.discard(member)
                ack = {"type": "post", "id": msg["id"], "data": {"id": n}}
                await send({"type": "websocket.send", "text": orjson.dumps(ack).decode()})
    finally:
        members.discard(send)
