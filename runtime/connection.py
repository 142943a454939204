"""One WebSocket connection: its ASGI send side, and the state its consumers share.

Every consumer serving the socket (one, or one per stream behind a demultiplexer) shares
this object. What reaches the socket through the channel layer (groups, forwarding,
gap reports) is its ``delivery``'s business (``chgen.runtime.delivery``).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from .delivery import GROUP_EVENT, STALL_TIMEOUT, AppEventKeepers, Delivery, Send
from .history import HistoryStore
from .layers import ChannelLayer

__all__ = ["GROUP_EVENT", "Connection"]

log = logging.getLogger(__name__)


class Connection:
    # One per socket, thousands at once: no per-instance __dict__.
    __slots__ = ("_send", "accepted", "closed", "delivery", "scope", "session")

    def __init__(
        self,
        scope: MutableMapping[str, Any],
        send: Send,
        layer: ChannelLayer,
        watermark_delay: float | None = None,
        stall_timeout: float | None = STALL_TIMEOUT,
        history: HistoryStore | None = None,
        app_history: AppEventKeepers | None = None,
    ) -> None:
        """``watermark_delay``: turns on watermarks for the group events this socket
        sends, on layers that may drop them silently (see chgen.runtime.delivery).
        ``stall_timeout``: seconds its queue of group events may stay full before the
        socket is closed (None: never). ``history``: the store of the groups that keep
        history (see chgen.runtime.history); ``app_history``: which consumers keep the app
        events this socket sends (see chgen.runtime.appretention)."""
        self.scope = scope
        self.accepted = False
        self.closed = False
        self.session: dict[str, Any] = {}  # what consumers keep for the socket's lifetime
        self._send = send
        self.delivery = Delivery(
            self, send, layer, watermark_delay, stall_timeout, history, app_history
        )

    @property
    def layer(self) -> ChannelLayer:
        """The channel layer the app shares: send to groups and channels with it."""
        return self.delivery.layer

    @property
    def lost_events(self) -> int:
        """Group events addressed to this socket that never reached it."""
        return self.delivery.lost_events

    async def accept(self, subprotocol: str | None = None) -> None:
        if self.accepted or self.closed:
            return
        self.accepted = True
        await self._send({"type": "websocket.accept", "subprotocol": subprotocol})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self.delivery.socket_closed()
        await self._send({"type": "websocket.close", "code": code, "reason": reason})

    # send_text and send_bytes repeat their few lines rather than share a helper: every
    # reply and every group event goes through here, and a coroutine call per frame shows.
    async def send_text(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception as exc:
            self.gone(exc)

    async def send_bytes(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            await self._send({"type": "websocket.send", "bytes": data})
        except Exception as exc:
            self.gone(exc)

    def gone(self, exc: Exception) -> None:
        """A send raised: the client left before the app read its disconnect. Frames
        still on their way to it, group events above all, are dropped quietly; the
        receive loop sees the disconnect next and cleans up."""
        # ASGI servers raise an OSError subclass here, some implementations their own.
        self.closed = True
        self.delivery.socket_closed()
        log.debug("socket gone, frame dropped: %s", exc)
