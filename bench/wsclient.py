"""A minimal WebSocket client over asyncio protocols, for the load generators.

It speaks just enough of RFC 6455 to stay cheap: no compression, no fragmentation, one
masking key per connection (masked with websockets' C speedup). bench/load.py drives
servers with it; bench/faults.py and bench/reconnect.py open their sockets with it.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable

from websockets.frames import apply_mask  # the C speedup when built, else pure Python

__all__ = ["HOST", "WS", "HandshakeFailed", "close_all", "connect", "connect_many"]

HOST = "127.0.0.1"
CONNECT_TIMEOUT = 10.0


class HandshakeFailed(Exception):
    pass


class WS(asyncio.Protocol):
    """One client connection; ``on_text(payload_bytes)`` is called for every text frame."""

    def __init__(self, host: str, port: int, path: str) -> None:
        loop = asyncio.get_running_loop()
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.on_text: Callable[[bytes], None] = _ignore
        self.mask = os.urandom(4)
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._open = False
        self._closing = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeFailed(f"connection lost: {exc}"))
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self._open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    self._fail("handshake response too long")
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self._fail(bytes(buf[: buf.find(b"\r\n")]).decode(errors="replace"))
                return
            del buf[: end + 4]
            self._open = True
            self.opened.set_result(None)
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0 = buf[pos]
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            end = pos + head + length
            if end > size:
                break
            opcode = b0 & 0x0F
            if opcode == 1:
                self.on_text(bytes(buf[pos + head : end]))
            elif opcode == 8:
                self._send_close()
            elif opcode == 9 and self.transport is not None:
                self._write(0x8A, bytes(buf[pos + head : end]))
            pos = end
        if pos:
            del buf[:pos]

    # sending

    def send_text(self, data: bytes) -> None:
        self._write(0x81, data)

    def _write(self, first: int, data: bytes) -> None:
        n = len(data)
        if n < 126:
            header = bytes((first, 0x80 | n))
        elif n < 65536:
            header = bytes((first, 0xFE)) + n.to_bytes(2, "big")
        else:
            header = bytes((first, 0xFF)) + n.to_bytes(8, "big")
        assert self.transport is not None
        self.transport.write(header + self.mask + apply_mask(data, self.mask))

    def _send_close(self) -> None:
        if not self._closing and self.transport is not None and not self.transport.is_closing():
            self._closing = True
            self._write(0x88, (1000).to_bytes(2, "big"))

    def _fail(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeFailed(why))
        if self.transport is not None:
            self.transport.close()

    async def close(self, timeout: float = 2.0) -> None:
        """Close handshake, then TCP; aborts if the server does not answer in time."""
        if self.transport is None or self.lost.done():
            return
        self._send_close()
        try:
            await asyncio.wait_for(asyncio.shield(self.lost), timeout)
        except TimeoutError:
            self.transport.abort()


def _ignore(_: bytes) -> None:
    pass


async def connect(port: int, path: str, on_text: Callable[[bytes], None] | None = None) -> WS:
    """An open connection; ``on_text`` gets every text frame, those that arrive with the
    handshake's response too (a server may send its first frames right after it)."""
    loop = asyncio.get_running_loop()

    def made() -> WS:
        ws = WS(HOST, port, path)
        if on_text is not None:
            ws.on_text = on_text
        return ws

    _, proto = await loop.create_connection(made, HOST, port)
    await asyncio.wait_for(proto.opened, CONNECT_TIMEOUT)
    return proto


async def connect_many(port: int, path: str, count: int, concurrency: int) -> list[WS]:
    sem = asyncio.Semaphore(concurrency)

    async def one() -> WS:
        async with sem:
            return await connect(port, path)

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    conns = [r for r in results if isinstance(r, WS)]
    errors = [r for r in results if not isinstance(r, WS)]
    if errors:
        await close_all(conns)
        raise RuntimeError(f"{len(errors)} of {count} connections failed: {errors[0]!r}")
    return conns


async def close_all(conns: list[WS]) -> None:
    for start in range(0, len(conns), 200):
        await asyncio.gather(*(c.close() for c in conns[start : start + 200]))
