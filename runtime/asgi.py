"""The ASGI adapter: drives one root consumer through a WebSocket's lifetime.

A root consumer is whatever owns the socket: a JSON consumer on its own route, or a
demultiplexer in front of stream consumers. This module is the only place that reads
ASGI events; everything it calls is plain async methods.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from time import monotonic
from typing import Any, Final, Protocol

from .connection import Connection
from .layers import LayerUnavailable
from .status import WS_1009_MESSAGE_TOO_BIG, WS_1011_INTERNAL_ERROR

__all__ = ["ASGIApp", "Receive", "RootConsumer", "Scope", "Send", "serve"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# RFC 6455: "no status code was actually present"; used when the server saw no close frame.
_NO_STATUS = 1005
# Seconds a socket may handle messages back to back before it lets the others run. Its
# server hands over queued messages without a wait, so a client that sends as fast as it
# can would otherwise hold the event loop for as long as it keeps sending.
SLICE: Final = 0.001
# A receive that took at least this long (seconds) waited for the client: a new slice.
_WAITED: Final = 0.00005


class RootConsumer(Protocol):
    @property
    def max_message_size(self) -> int: ...

    async def on_connect(self) -> None: ...
    def on_text(self, text: str) -> Awaitable[None]: ...
    def on_bytes(self, data: bytes) -> Awaitable[None]: ...
    async def on_disconnect(self, code: int) -> None: ...
    def on_layer_message(self, message: dict[str, Any]) -> Awaitable[None]: ...
    def on_gap(self, group: str | None, lost: int | None, reason: str) -> Awaitable[None]: ...


async def serve(root: RootConsumer, connection: Connection, receive: Receive) -> None:
    """Run the socket until it closes. Groups are always left, whatever happened."""
    first = await receive()
    if first["type"] != "websocket.connect":
        raise RuntimeError(f'Expected "websocket.connect", got {first["type"]!r}')
    connection.delivery.on_message(root.on_layer_message)
    connection.delivery.on_gap(root.on_gap)
    code = _NO_STATUS
    try:
        if await _connect(root, connection):
            code = await _receive_loop(root, connection, receive)
    finally:
        try:
            await root.on_disconnect(code)
        except Exception:
            log.exception("disconnect handler failed")
        finally:
            await connection.delivery.release()


async def _connect(root: RootConsumer, connection: Connection) -> bool:
    try:
        await root.on_connect()
    except LayerUnavailable as exc:
        # The outage is logged once, where the layer failed; this socket may retry.
        log.info("refused a socket while the channel layer is unavailable: %s", exc)
        await connection.close(WS_1011_INTERNAL_ERROR)
        return False
    except Exception:
        log.exception("connect handler failed; refusing the connection")
        await connection.close(WS_1011_INTERNAL_ERROR)
        return False
    if not connection.accepted:
        # connect() neither accepted nor closed: refuse rather than leave it hanging.
        await connection.close()
        return False
    return not connection.closed


async def _receive_loop(root: RootConsumer, connection: Connection, receive: Receive) -> int:
    limit = root.max_message_size
    done = started = monotonic()
    while True:
        message = await receive()
        now = monotonic()
        if now - done >= _WAITED:
            started = now
        elif now - started >= SLICE:
            await asyncio.sleep(0)  # the other sockets' turn
            started = monotonic()
        kind = message["type"]
        if kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                if len(text) > limit:
                    await connection.close(WS_1009_MESSAGE_TOO_BIG, "message too big")
                    continue
                await root.on_text(text)
            else:
                data = message.get("bytes") or b""
                if len(data) > limit:
                    await connection.close(WS_1009_MESSAGE_TOO_BIG, "message too big")
                    continue
                await root.on_bytes(data)
            done = monotonic()
        elif kind == "websocket.disconnect":
            return int(message.get("code", _NO_STATUS))
        else:
            raise RuntimeError(
                f'Expected "websocket.receive" or "websocket.disconnect", got {kind!r}'
            )
