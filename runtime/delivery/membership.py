"""``Delivery``: one socket's group membership, and the interface of the whole package.

Consumers join and leave groups through it, number the group events they send, and
say which group events the socket may write itself; the ASGI side (``Connection``) sets
where layer messages and gap reports go, tells it when the socket closes and releases it
at the end. The layer channel exists only once a group is joined, so a socket that never
joins one costs nothing more. A layer without the watch extension is used through a
``Relay``, one per such layer (and event loop), shared by the sockets of the process.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Awaitable, Mapping
from typing import Any

from ..history import HistoryStore
from ..layers import ChannelLayer, LayerUnavailable, WatchableLayer, watchable
from .appevents import KEPT, AppEventKeepers
from .forwarding import GROUP_EVENT, with_entry, without_entry
from .gaps import Sequencer
from .inbox import BUSY, IDLE, STALL_TIMEOUT, GapHandler, Inbox, LayerHandler, Send, Socket
from .relay import OUTAGE_TIMEOUT, Relay
from .watermarks import Watermarks

__all__ = ["Delivery", "relay_for"]

log = logging.getLogger(__name__)


class Delivery(Inbox):
    """Group delivery for one socket; ``Connection.delivery``."""

    __slots__ = ("_groups", "_sequencer", "_watermark_delay", "app_history", "history")

    def __init__(
        self,
        socket: Socket,
        send: Send,
        layer: ChannelLayer,
        watermark_delay: float | None = None,
        stall_timeout: float | None = STALL_TIMEOUT,
        history: HistoryStore | None = None,
        app_history: AppEventKeepers | None = None,
    ) -> None:
        """``send`` is the socket's ASGI send, for the group events it forwards.
        ``watermark_delay`` turns on watermarks for the group events this socket sends,
        on layers that may drop them silently (see ``watermarks``). ``stall_timeout``:
        seconds the socket's queue of group events may stay full before it is closed
        (None: never). ``history``: where the groups that keep history keep it;
        ``app_history``: which consumers keep the app events this socket sends."""
        super().__init__(socket, send, relay_for(layer), stall_timeout)
        self.history = history
        self.app_history = app_history
        self._groups: dict[str, int] = {}  # joins per group, counted per consumer
        self._sequencer: Sequencer | None = None
        self._watermark_delay = watermark_delay

    def on_message(self, handler: LayerHandler) -> None:
        """Set where messages arriving on the socket's channel go (the root consumer's
        ``on_layer_message``); call it before the first join."""
        self._handler = handler

    def on_gap(self, handler: GapHandler) -> None:
        """Set who tells the client that group events never reached it (the root
        consumer's ``on_gap``)."""
        self._gap_handler = handler

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

    async def _leave_all(self) -> None:
        await self.release()

    async def release(self) -> None:
        """Leave every group and stop receiving; safe to call more than once."""
        for group in list(self._groups):
            self._groups[group] = 1
            try:
                await self.leave(group)
            except Exception:
                log.exception("could not leave group %s", group)
        await self._stop_receiving()

    def hold(self) -> None:
        """Keep every layer message for the socket queued from now until ``resume``
        (the layer queues them as for a busy socket, up to its capacity): call it before
        the joins of a socket that recovers, so that no live event overtakes a replay."""
        if self._delivering == IDLE:
            self._delivering = BUSY

    async def resume(self, replayed: Mapping[tuple[str, str], tuple[str, int]]) -> None:
        """Deliver what queued since ``hold``, in order, without the group events a
        replay gave already: ``replayed`` maps (consumer, group) to the (epoch, offset)
        the socket was given up to in that consumer's stream. A kept app event is in the
        stream of each consumer that keeps it: it goes on to the consumers whose replay
        did not give it (their position is left), and not to the others (theirs becomes
        None)."""

        def given(upto: tuple[str, int] | None, epoch: Any, offset: Any) -> bool:
            return (
                upto is not None and epoch == upto[0] and type(offset) is int and offset <= upto[1]
            )

        def unseen(message: dict[str, Any]) -> dict[str, Any] | None:
            if message.get("type") != GROUP_EVENT:
                return message
            group = message.get("group")
            kept = message.get(KEPT)
            if type(kept) is dict:
                had = [
                    name
                    for name, position in kept.items()
                    if type(position) is list
                    and len(position) == 2
                    and given(replayed.get((name, group)), *position)  # type: ignore[arg-type]
                ]
                # A copy: the layer may have handed the same message to other sockets.
                return {**message, KEPT: {**kept, **dict.fromkeys(had)}} if had else message
            upto = replayed.get((message.get("source"), group))  # type: ignore[arg-type]
            return None if given(upto, message.get("epoch"), message.get("offset")) else message

        if self._delivering == IDLE:
            return  # released meanwhile: the socket closed
        try:
            await self._drain(self._take(), unseen)
            if self._dropping_since is not None:
                self._caught_up()
        finally:
            self._delivering = IDLE

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

    def group_send(self, group: str, message: dict[str, Any]) -> Awaitable[None]:
        """Put ``message`` (a group event) on ``group``, numbered as ``stamp`` numbers it;
        await the result. Raises LayerUnavailable when the layer failed, and then the
        number goes to the next event."""
        message.update(self.stamp(group))
        if not getattr(self.layer, "lossy", False):
            return self.layer.group_send(group, message)
        return self._send_relayed(group, message)

    async def _send_relayed(self, group: str, message: dict[str, Any]) -> None:
        try:
            await self.layer.group_send(group, message)
        except LayerUnavailable:
            assert self._sequencer is not None
            self._sequencer.unstamp(group, message["seq"])
            raise

    def stamp(self, group: str) -> dict[str, Any]:
        """The sender and sequence number to put on the next group event this socket
        sends to ``group``."""
        if self._sequencer is None:
            watermarks = None
            # Only a relayed layer loses events on the way: elsewhere the in-memory layer
            # reports its own drops, and watermarks would add nothing.
            if self._watermark_delay is not None and getattr(self.layer, "lossy", False):
                watermarks = Watermarks(self.layer, self._watermark_delay)
            self._sequencer = Sequencer(watermarks)
        return self._sequencer.stamp(group)

    @property
    def lost_events(self) -> int:
        """Group events addressed to this socket that never reached it: dropped while
        it read too slowly, or lost by the layer (an outage's losses are not counted:
        nobody knows how many there were)."""
        return self.lost

    async def _channel(self) -> str:
        if self.channel_name is None:
            self.channel_name = channel = await self.layer.new_channel()
            self._receive_on(channel)
        return self.channel_name

    def _receive_on(self, channel: str) -> None:
        """Deliver what arrives on ``channel`` from now on, as it arrives."""
        layer = self.layer
        # Deliveries start inside a sender's group_send; they must run in this socket's
        # context, as a task started here would, not in the sender's.
        self._context = contextvars.copy_context()
        layer.watch_channel(channel, self._offer, self._lost)
        attach = getattr(layer, "attach", None)
        if attach is not None:
            attach(channel, self)
        if self._delivering:
            return  # held (see hold): what is there waits for resume
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


# Layers without the watch extension -> their relay, per event loop (a relay's readers
# are tasks of one loop). Forgotten with the layer.
_RELAYS: weakref.WeakKeyDictionary[Any, dict[asyncio.AbstractEventLoop, Relay]] = (
    weakref.WeakKeyDictionary()
)


def relay_for(layer: ChannelLayer, outage_timeout: float | None = OUTAGE_TIMEOUT) -> WatchableLayer:
    """``layer`` itself if it has the watch extension, else this process's relay of it
    (made on first use, on the running loop; ``outage_timeout`` is the relay's then)."""
    if watchable(layer):
        return layer
    loop = asyncio.get_running_loop()
    relays = _RELAYS.get(layer)
    if relays is None:
        relays = _RELAYS[layer] = {}
    relay = relays.get(loop)
    if relay is None or relay.remote is not layer:
        relay = relays[loop] = Relay(layer, outage_timeout)
    return relay
