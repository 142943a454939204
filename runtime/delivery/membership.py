"""``Delivery``: one socket's group membership, and the interface of the whole package.

Consumers join and leave groups through it, number the group events they send, and
say which group events the socket may write itself; the ASGI side (``Connection``) sets
where layer messages go, tells it when the socket closes and releases it at the end.
The layer channel exists only once a group is joined, so a socket that never joins one
costs nothing more.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from ..layers import ChannelLayer, watchable
from .forwarding import with_entry, without_entry
from .gaps import Sequencer
from .inbox import IDLE, Inbox, LayerHandler, Send, Socket
from .pump import pump
from .watermarks import Watermarks

__all__ = ["Delivery"]

log = logging.getLogger(__name__)


class Delivery(Inbox):
    """Group delivery for one socket; ``Connection.delivery``."""

    __slots__ = ("_groups", "_sequencer", "_watermark_delay")

    def __init__(
        self,
        socket: Socket,
        send: Send,
        layer: ChannelLayer,
        watermark_delay: float | None = None,
    ) -> None:
        """``send`` is the socket's ASGI send, for the group events it forwards.
        ``watermark_delay`` turns on watermarks for the group events this socket sends,
        on layers that may drop them silently (see ``watermarks``)."""
        super().__init__(socket, send, layer)
        self._groups: dict[str, int] = {}  # joins per group, counted per consumer
        self._sequencer: Sequencer | None = None
        self._watermark_delay = watermark_delay

    def on_message(self, handler: LayerHandler) -> None:
        """Set where messages arriving on the socket's channel go (the root consumer's
        ``on_layer_message``); call it before the first join."""
        self._handler = handler

    async def join(self, group: str) -> None:
        """Add the socket to ``group``; joins are counted, one per consumer that joins."""
        self._groups[group] = self._groups.get(group, 0) + 1
        if self._groups[group] == 1:
            await self.layer.group_add(group, await self._channel())

    async def leave(self, group: str) -> None:
        """Undo one ``join``; the socket leaves the group with the last consumer in it."""
        if self._groups.get(group, 0) <= 0:
            return
        self._groups[group] -= 1
        if self._groups[group] == 0:
            del self._groups[group]
            if self.channel_name is not None:
                await self.layer.group_discard(group, self.channel_name)

    async def release(self) -> None:
        """Leave every group and stop receiving; safe to call more than once."""
        for group in list(self._groups):
            self._groups[group] = 1
            try:
                await self.leave(group)
            except Exception:
                log.exception("could not leave group %s", group)
        await self._stop_receiving()

    def forward(self, group: str, source: str, prefix: str) -> None:
        """Write ``source``'s group events in ``group`` straight to the socket.

        On a layer with the watch extension, such an event's ``frame`` goes out as it is
        (``prefix`` "") or as ``prefix + frame + "}"`` (a stream's envelope) without the
        layer handler: one step per member instead of a chain of calls. A consumer asks
        for it only when its own delivery hooks would do exactly that. With more than one
        prefix for the same events (two streams), the handler delivers them.
        """
        self._forwards = with_entry(self._forwards, (group, source, prefix))

    def stop_forwarding(self, group: str, source: str, prefix: str) -> None:
        """Undo one ``forward``."""
        self._forwards = without_entry(self._forwards, (group, source, prefix))

    def stamp(self, group: str) -> dict[str, Any]:
        """The sender and sequence number to put on the next group event this socket
        sends to ``group``."""
        if self._sequencer is None:
            watermarks = None
            # A watched layer reports its own drops: watermarks would add nothing.
            if self._watermark_delay is not None and not watchable(self.layer):
                watermarks = Watermarks(self.layer, self._watermark_delay)
            self._sequencer = Sequencer(watermarks)
        return self._sequencer.stamp(group)

    @property
    def lost_events(self) -> int:
        """Group events addressed to this socket that the channel layer lost."""
        return 0 if self._gaps is None else self._gaps.lost

    async def _channel(self) -> str:
        if self.channel_name is None:
            self.channel_name = channel = await self.layer.new_channel()
            self._receive_on(channel)
        return self.channel_name

    def _receive_on(self, channel: str) -> None:
        """Deliver what arrives on ``channel`` from now on: watched, or read by a pump."""
        layer = self.layer
        if not watchable(layer):
            self._pump = asyncio.create_task(pump(layer, channel, self._handle, self._give_up))
            return
        # Deliveries start inside a sender's group_send; they must run in this socket's
        # context, as a pump started here would, not in the sender's.
        self._context = contextvars.copy_context()
        layer.watch_channel(channel, self._offer, self._lost)
        pending = layer.receive_nowait(channel)
        if pending is not None:  # sent to the channel before the watch began
            self._offer(pending)

    async def _stop_receiving(self) -> None:
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
        self._delivering = IDLE  # a delivery cancelled before it started cannot say so
