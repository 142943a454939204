"""Half-open handshakes are dropped: uvicorn with chgen's HTTP protocol and its deadline.

uvicorn itself waits forever for a request head. Served with ``--http
chgen.runtime.handshake:AutoHTTPProtocol`` (httptools) or ``...:H11Protocol``, a
connection that has not sent a complete request head within the deadline (1 s here, set
with ``CHGEN_HANDSHAKE_TIMEOUT``) is closed: a silent one, one that sent half its
headers, and a slowloris that sends a header line every 0.3 s. Clients that complete
their handshake are served as before, and keep their sockets past the deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from e2e.server import REPO_ROOT, SubprocessServer, open_ws, recv_json, send_json

DEADLINE = 1.0
# Seconds a dropped connection may take beyond the deadline (a loaded machine), and the
# most a test waits for it.
SLACK = 4.0
REQUEST_HEAD = (
    b"GET /ws/lobby/ HTTP/1.1\r\n",
    b"Host: 127.0.0.1\r\n",
    b"Upgrade: websocket\r\n",
    b"Connection: Upgrade\r\n",
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    b"Sec-WebSocket-Version: 13\r\n",
    b"X-Slow-1: a\r\n",
    b"X-Slow-2: b\r\n",
    b"X-Slow-3: c\r\n",
    b"X-Slow-4: d\r\n",
    b"X-Slow-5: e\r\n",
    b"X-Slow-6: f\r\n",
    b"X-Slow-7: g\r\n",
    b"X-Slow-8: h\r\n",
    b"X-Slow-9: i\r\n",
)


@pytest.fixture(scope="module", params=["AutoHTTPProtocol", "H11Protocol"])
def server(request: pytest.FixtureRequest) -> Iterator[SubprocessServer]:
    served = SubprocessServer(
        "generated.chat.routing:application",
        cwd=REPO_ROOT,
        args=["--http", f"chgen.runtime.handshake:{request.param}"],
        env={"CHGEN_HANDSHAKE_TIMEOUT": str(DEADLINE)},
    ).start()
    try:
        yield served
    finally:
        served.close()


async def closed_after(
    server: SubprocessServer, lines: tuple[bytes, ...] = (), every: float = 0.0
) -> float:
    """Seconds until the server closed a connection that sends ``lines``, one each
    ``every`` seconds, and never finishes its request head; fails after the slack."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        for line in lines:
            writer.write(line)
            await writer.drain()
            if every:
                try:
                    if await asyncio.wait_for(reader.read(1), every) == b"":
                        return time.monotonic() - started
                except TimeoutError:
                    continue
        data = await asyncio.wait_for(reader.read(1), DEADLINE + SLACK)
        assert data == b"", f"the server answered an incomplete request: {data!r}"
        return time.monotonic() - started
    except ConnectionResetError:
        return time.monotonic() - started
    finally:
        writer.close()


async def test_a_silent_connection_is_closed(server: SubprocessServer) -> None:
    assert await closed_after(server) >= DEADLINE * 0.9


async def test_a_connection_that_sent_half_its_headers_is_closed(server: SubprocessServer) -> None:
    assert await closed_after(server, REQUEST_HEAD[:3]) >= DEADLINE * 0.9


async def test_a_slowloris_sending_a_header_line_every_so_often_is_closed(
    server: SubprocessServer,
) -> None:
    # 15 lines at 0.3 s would take 4.5 s; the deadline ends it after about a second.
    took = await closed_after(server, REQUEST_HEAD, every=0.3)
    assert took < len(REQUEST_HEAD) * 0.3, took


async def test_a_socket_that_finished_its_handshake_outlives_the_deadline(
    server: SubprocessServer,
) -> None:
    async with open_ws(f"{server.base_url()}/ws/lobby/") as ws:
        await asyncio.sleep(DEADLINE * 1.5)
        say = {"type": "say", "id": 1, "data": {"text": "still here"}}
        await send_json(ws, {"stream": "echo", "payload": say})
        assert await recv_json(ws) == {"stream": "echo", "payload": say}
