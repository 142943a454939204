"""One WebSocket connection: the ASGI send side, its layer channel and group memberships.

Every consumer serving the socket (one, or one per stream behind a demultiplexer) shares
this object. The layer channel exists only once a group is joined, so connections that
never join a group cost nothing extra. On a layer with the watch extension (runtime's
in-memory layer) the task delivering layer messages exists only while messages wait, so
an idle member has none; on other layers one task per channel blocks in ``receive``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from .gaps import GapDetector, Sequencer
from .layers import ChannelLayer, WatchableLayer
from .status import WS_1011_INTERNAL_ERROR

__all__ = ["Connection"]

log = logging.getLogger(__name__)

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
LayerHandler = Callable[[dict[str, Any]], Awaitable[None]]

# Seconds between retries of a failing layer receive; after the last, the socket closes.
RECEIVE_RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)
# A receive that fails after waiting at least this long (seconds) timed out while idle.
IDLE_TIMEOUT_THRESHOLD = 1.0


class Connection:
    # One per socket, thousands at once: no per-instance __dict__.
    __slots__ = (
        "scope",
        "layer",
        "accepted",
        "closed",
        "channel_name",
        "session",
        "_send",
        "_groups",
        "_pump",
        "_on_layer_message",
        "_sequencer",
        "_gaps",
        "_context",
    )

    def __init__(self, scope: MutableMapping[str, Any], send: Send, layer: ChannelLayer) -> None:
        self.scope = scope
        self.layer = layer
        self.accepted = False
        self.closed = False
        self.channel_name: str | None = None
        self.session: dict[str, Any] = {}  # what consumers keep for the socket's lifetime
        self._send = send
        self._groups: dict[str, int] = {}  # joins per group, counted per consumer
        self._pump: asyncio.Task[None] | None = None
        self._on_layer_message: LayerHandler | None = None
        self._sequencer: Sequencer | None = None
        self._gaps: GapDetector | None = None
        self._context: contextvars.Context | None = None

    @property
    def sequencer(self) -> Sequencer:
        """Numbers the group events this socket sends (created on first use)."""
        if self._sequencer is None:
            self._sequencer = Sequencer()
        return self._sequencer

    @property
    def lost_events(self) -> int:
        """Group events addressed to this socket that the channel layer lost."""
        return 0 if self._gaps is None else self._gaps.lost

    def on_layer_message(self, handler: LayerHandler) -> None:
        """Set where messages arriving on this connection's channel go."""
        self._on_layer_message = handler

    async def accept(self, subprotocol: str | None = None) -> None:
        if self.accepted or self.closed:
            return
        self.accepted = True
        await self._send({"type": "websocket.accept", "subprotocol": subprotocol})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        await self._send({"type": "websocket.close", "code": code, "reason": reason})

    # send_text and send_bytes repeat their few lines rather than share a helper: every
    # reply and every group event goes through here, and a coroutine call per frame shows.
    async def send_text(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception as exc:
            self._gone(exc)

    async def send_bytes(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            await self._send({"type": "websocket.send", "bytes": data})
        except Exception as exc:
            self._gone(exc)

    def _gone(self, exc: Exception) -> None:
        # The client left before the app read its disconnect (ASGI servers raise an
        # OSError subclass, some implementations their own error). Frames still queued
        # for it, group events above all, are dropped quietly; the receive loop sees the
        # disconnect next and cleans up.
        self.closed = True
        log.debug("socket gone, frame dropped: %s", exc)

    async def join(self, group: str) -> None:
        """Add the connection to ``group``; joins are counted per consumer."""
        self._groups[group] = self._groups.get(group, 0) + 1
        if self._groups[group] == 1:
            await self.layer.group_add(group, await self._channel())

    async def leave(self, group: str) -> None:
        if self._groups.get(group, 0) <= 0:
            return
        self._groups[group] -= 1
        if self._groups[group] == 0:
            del self._groups[group]
            if self.channel_name is not None:
                await self.layer.group_discard(group, self.channel_name)

    async def release(self) -> None:
        """Leave every group and stop reading the channel; safe to call more than once."""
        for group in list(self._groups):
            self._groups[group] = 1
            try:
                await self.leave(group)
            except Exception:
                log.exception("could not leave group %s", group)
        # Closing the channel first also ends its watch: nothing arriving from here on
        # can start another delivery task.
        close_channel = getattr(self.layer, "close_channel", None)
        if self.channel_name is not None and close_channel is not None:
            await close_channel(self.channel_name)
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            try:
                await pump
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("reading the channel layer failed")

    async def _channel(self) -> str:
        if self.channel_name is None:
            self.channel_name = channel = await self.layer.new_channel()
            watch = getattr(self.layer, "watch_channel", None)
            if watch is not None and hasattr(self.layer, "receive_nowait"):
                # Delivery tasks start inside a sender's group_send; they must run in this
                # socket's context, as a pump started here would, not in the sender's.
                self._context = contextvars.copy_context()
                watch(channel, self._wake)
            else:
                self._pump = asyncio.create_task(self._read_channel(channel))
        return self.channel_name

    def _wake(self) -> None:
        # Called by a watched layer, inside the sender's group_send, for every message.
        if self._pump is None and self.channel_name is not None:
            coro = self._deliver(self.channel_name)
            self._pump = asyncio.create_task(coro, context=self._context)

    async def _deliver(self, channel: str) -> None:
        """Hand every message waiting on a watched channel to the consumer, in order.

        One task per burst rather than per socket: it ends when the channel is empty, and
        the next message starts a new one. A slow socket blocks only its own task, while
        its messages wait in the layer up to the layer's capacity.
        """
        take = cast(WatchableLayer, self.layer).receive_nowait
        try:
            while (message := take(channel)) is not None:
                # _handle's await inlined (this loop runs once per group delivery); the
                # checks are shared through _handler_for.
                handler = self._handler_for(message)
                if handler is None:
                    continue
                try:
                    await handler(message)
                except Exception:
                    log.exception("error handling layer message of type %r", message.get("type"))
        finally:
            # No await between the empty receive_nowait above and this: a message that
            # arrives later finds no task and starts one.
            self._pump = None

    async def _read_channel(self, channel: str) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            started = loop.time()
            try:
                message = await self.layer.receive(channel)
            except Exception:
                if loop.time() - started >= IDLE_TIMEOUT_THRESHOLD:
                    # A read that timed out after waiting (redis-py's socket_timeout on an
                    # idle channel) is not the layer failing: read again.
                    log.debug("channel layer receive timed out while idle; reading again")
                    continue
                # A layer can fail transiently (reconnects). Retry a few times; then close
                # the socket rather than leave it silently deaf to its groups.
                if failures == len(RECEIVE_RETRY_DELAYS):
                    log.exception("channel layer unavailable; closing the socket")
                    await self.close(WS_1011_INTERNAL_ERROR, "channel layer unavailable")
                    return
                log.warning("channel layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(RECEIVE_RETRY_DELAYS[failures])
                failures += 1
                continue
            failures = 0
            await self._handle(message)

    def _handler_for(self, message: dict[str, Any]) -> LayerHandler | None:
        """Where ``message`` goes, once its sequence number (if any) was checked for gaps."""
        handler = self._on_layer_message
        if handler is not None and "seq" in message:
            if self._gaps is None:
                self._gaps = GapDetector()
            self._gaps.check(message)
        return handler

    async def _handle(self, message: dict[str, Any]) -> None:
        handler = self._handler_for(message)
        if handler is None:
            return
        try:
            await handler(message)
        except Exception:
            # A bad layer message must not end delivery for the rest of the connection.
            log.exception("error handling layer message of type %r", message.get("type"))
