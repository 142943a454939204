"""A member that stops reading is closed (1013) and removed from its groups, and what it
missed is logged once per incident with a count, not once per event.

A socket whose client does not read has its group events queued, up to the layer's
capacity; past it they are dropped. If its queue stays full for ``stall_timeout`` seconds
(``Router(stall_timeout=...)``, default 30), the socket leaves its groups and is closed
with 1013. One that catches up first is told how many it missed (a gap frame, reason
``slow``), and the incident is one log line. In-process with a paused test client, then
over a real socket whose client stopped reading, served by uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
import uuid
from typing import ClassVar

import pytest
from e2e.server import ThreadServer, open_ws, recv_json, send_json

from chgen.runtime import InMemoryChannelLayer, JsonWebsocketConsumer, Router, route
from chgen.runtime.testing import WebsocketClient
from generated.chat.payloads import Post
from generated.chat.routing import Lobby
from handlers.chat import Chat

ROOM = r"^/ws/(?P<room>[a-z0-9-]+)/$"


class Unlimited(Chat):
    rate_limit = None  # the sender here posts far faster than a person


class UnlimitedLobby(Lobby):
    consumers: ClassVar[dict[str, type[JsonWebsocketConsumer]]] = {
        **Lobby.consumers,
        "chat": Unlimited,
    }


def incident_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "chgen.runtime.delivery.inbox"]


@pytest.mark.scenario_timeout(15)
async def test_a_member_whose_queue_stays_full_is_closed_and_leaves_its_groups(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    layer = InMemoryChannelLayer(capacity=5)
    app = Router([route(ROOM, UnlimitedLobby)], layer=layer, stall_timeout=0.3)
    sender, slow, fast = (WebsocketClient(app, "/ws/stall/", timeout=5) for _ in range(3))
    for client in (sender, slow, fast):
        await client.connect()
    slow.pause()
    posts = 0
    deadline = time.monotonic() + 5
    while len(layer.members("room.stall")) == 3 and time.monotonic() < deadline:
        await sender.send("post", Post(text=f"m{posts}"), stream="chat", id=posts)
        await fast.event("posted", stream="chat")
        posts += 1
        await asyncio.sleep(0.01)
    assert len(layer.members("room.stall")) == 2, "the stalled socket left the room"
    assert await slow.closed() == 1013
    # The others go on as before.
    await sender.send("post", Post(text="after"), stream="chat", id="after")
    assert (await fast.event("posted", stream="chat"))["text"] == "after"
    lines = incident_lines(caplog)
    assert len(lines) == 1, lines
    assert lines[0].startswith("closed a socket on '/ws/stall/' with 1013: its queue of group ")
    assert f"; {posts - 1 - 5} event(s) dropped for it" in lines[0], (posts, lines)
    for client in (sender, fast):
        await client.close()


async def test_a_member_that_catches_up_is_told_what_it_missed_in_one_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    layer = InMemoryChannelLayer(capacity=5)
    app = Router([route(ROOM, UnlimitedLobby)], layer=layer, stall_timeout=30)
    sender, slow = (WebsocketClient(app, "/ws/behind/", timeout=5) for _ in range(2))
    for client in (sender, slow):
        await client.connect()
    slow.pause()
    for n in range(500):
        await sender.send("post", Post(text=f"m{n}"), stream="chat", id=n)
    for _ in range(500):
        await sender.receive()  # acks and its own events
        await sender.receive()
    slow.resume()
    for _ in range(6):  # one in its blocked send, five queued
        await slow.event("posted", stream="chat")
    assert await slow.gap(stream="chat") == {"lost": 494, "reason": "slow"}
    lines = incident_lines(caplog)
    assert len(lines) == 1, lines
    assert re.fullmatch(
        r"a socket on '/ws/behind/' read too slowly for [\d.]+ s: 494 group event\(s\) "
        r"dropped for it",
        lines[0],
    ), lines
    assert layer.members("room.behind") != frozenset()
    for client in (sender, slow):
        await client.close()


# -- over a real socket ------------------------------------------------------------------


def stalled_client(port: int, path: str) -> socket.socket:
    """A client that completes its handshake, then reads nothing more, with a small
    receive buffer so that what the server sends it backs up soon."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 4096:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


@pytest.mark.scenario_timeout(30)
async def test_a_client_that_stops_reading_is_dropped_from_its_room_in_uvicorn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="chgen")
    layer = InMemoryChannelLayer(capacity=50)
    server = ThreadServer(Router([route(ROOM, UnlimitedLobby)], layer=layer, stall_timeout=1.0))
    server.start()
    room = f"stall-{uuid.uuid4().hex[:8]}"
    url = f"{server.base_url()}/ws/{room}/"
    stalled = stalled_client(server.port, f"/ws/{room}/")
    try:
        async with open_ws(url) as sender:
            text = "x" * 2000  # big events fill the transport's buffers sooner
            deadline = time.monotonic() + 20
            n = 0
            while len(layer.members(f"room.{room}")) == 2 and time.monotonic() < deadline:
                await send_json(
                    sender, {"stream": "chat", "payload": {"type": "post", "data": {"text": text}}}
                )
                n += 1
                if n % 50 == 0:
                    await asyncio.sleep(0)
                while True:  # the sender reads what comes back: it is no slow reader
                    try:
                        await asyncio.wait_for(sender.recv(), 0.0005)
                    except TimeoutError:
                        break
            assert len(layer.members(f"room.{room}")) == 1, f"still in the room after {n} posts"
            lines = [r.getMessage() for r in caplog.records if "with 1013" in r.getMessage()]
            assert len(lines) == 1 and "event(s) dropped for it" in lines[0], lines
            # The sender's room goes on without it.
            await send_json(
                sender,
                {
                    "stream": "chat",
                    "payload": {"type": "post", "id": "last", "data": {"text": "last"}},
                },
            )
            for _ in range(200):
                frame = await recv_json(sender)
                if frame["payload"].get("id") == "last":
                    break
    finally:
        stalled.close()
        server.stop()
