"""Relays: a layer without the watch extension (channels_redis, Channels' own), as the
sockets of one process use it.

Each group that sockets of this process are in is joined once, by a channel of the
relay's own (the group's hub), and that channel is read by one task. What arrives is
checked for gaps and handed to the process's members of the group through an in-memory
layer with the watch extension: at once, each in its socket's own context, a slow socket
queued apart, exactly as on chgen's own layer. A process thus reads each group event
once, however many of its sockets are in the group, and a Redis layer keeps up with what
the process sends (a reader per socket could not, and channels_redis' core layer drops
what waits past its ``capacity``).

The layer can fail (Redis restarting). The relay notices a failed receive, group send or
join, logs it once, and from then on tries every second or so to join its groups again
(after a restart Redis has forgotten them); once that works it logs once more, and tells
every socket of a group that events may have been lost in between (``Member.gap``).
Group sends meanwhile raise ``LayerUnavailable``. If the layer stays away longer than
``outage_timeout``, the sockets are closed (1011) so that their clients reconnect.

A process that sends to a group it is in also waits for its own events to come back
before it sends many more (``IN_FLIGHT``): what it sends faster than the layer delivers
would pile up in the layer, and channels_redis' core layer drops what goes past its
``capacity``. That is the backpressure a Channels consumer gets by reading its group and
its socket in turn. A send waits at most ``_ROOM_WAIT`` seconds for room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final, Protocol

from ..layers import ChannelLayer, InMemoryChannelLayer, LayerUnavailable
from .gaps import GapDetector
from .pump import pump
from .watermarks import WATERMARK

__all__ = ["LOST", "OUTAGE", "OUTAGE_TIMEOUT", "Member", "Relay"]

log = logging.getLogger(__name__)
gap_log = logging.getLogger("chgen.runtime.gaps")

# Why events were missed, as a socket's gap report says it.
LOST: Final = "lost"  # the layer lost some: full (a capacity) or unavailable a moment
OUTAGE: Final = "outage"  # the layer was unavailable; how many were missed is not known
# Seconds an outage may last before the sockets are closed for their clients to reconnect.
OUTAGE_TIMEOUT: Final = 30.0
# Seconds between tries to get the groups back after an outage, the last one repeating.
_RETRY_DELAYS: Final = (0.1, 0.25, 0.5, 1.0)
# Events this process's sockets may have on their way through the layer to a group the
# process is in before a further send to it waits: below channels_redis' default
# capacity (100 messages waiting for the process), with room for other senders.
IN_FLIGHT: Final = 40
# Seconds a send waits for its earlier events to arrive; they may never (lost).
_ROOM_WAIT: Final = 1.0
# Senders (sockets of this process that numbered their events) remembered.
_SENDERS: Final = 4096
# A message the relay sends itself to learn that the layer works again; never delivered.
_PROBE: Final = "chgen.probe"
# Characters of an error's text a log line quotes.
_ERROR_TEXT: Final = 160
# redis-py's read timeout cut a read short: most often socket_timeout set below the
# 5-second blocking read of channels_redis' core layer.
_TIMEOUT_HINT: Final = (
    " (if Redis is up, its socket_timeout is shorter than the layer's blocking read: "
    "set socket_timeout=None in the layer's host options, see docs/django.md)"
)


class Member(Protocol):
    """A socket's delivery, as the relay tells it about its groups."""

    def gap(self, group: str | None, lost: int | None, reason: str) -> None:
        """Events of ``group`` (None: of every group) never reached the socket; ``lost``
        of them, or an unknown number (None). Must not raise."""

    def layer_gone(self) -> None:
        """The layer stayed unavailable too long: close the socket. Must not raise."""


class _Hub:
    """The relay's membership of one group: its channel on the layer and its reader."""

    __slots__ = ("arrived", "channel", "gaps", "group", "reader", "ready", "room", "sent")

    def __init__(self, group: str, ready: asyncio.Future[None]) -> None:
        self.group = group
        self.ready = ready  # done once the group is joined (or joining failed)
        self.channel = ""
        self.reader: asyncio.Task[None] | None = None
        self.gaps = GapDetector()
        # This process's own events sent to the group, and those of them that came back.
        self.sent = 0
        self.arrived = 0
        self.room: asyncio.Future[None] | None = None  # set when sends may go on


class Relay:
    """``remote`` as a layer with the watch extension, for the sockets of one process."""

    # Group events can be lost on the way (see Delivery.stamp): senders number them.
    lossy: Final = True

    def __init__(self, remote: ChannelLayer, outage_timeout: float | None = OUTAGE_TIMEOUT) -> None:
        self.remote = remote
        self.local = InMemoryChannelLayer()
        self.outage_timeout = outage_timeout
        self._hubs: dict[str, _Hub] = {}
        self._members: dict[str, Member] = {}  # local channel -> the socket it serves
        self._senders: dict[str, None] = {}  # this process's senders, oldest first
        self._down_since: float | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._nudge: asyncio.Event | None = None  # wakes the recovery before its time

    # -- the layer interface, for Delivery ---------------------------------------------

    async def new_channel(self, prefix: str = "specific.") -> str:
        return await self.local.new_channel(prefix)

    def watch_channel(self, channel: str, offer: Any, lost: Any) -> None:
        self.local.watch_channel(channel, offer, lost)

    def receive_nowait(self, channel: str) -> dict[str, Any] | None:
        return self.local.receive_nowait(channel)

    async def receive(self, channel: str) -> dict[str, Any]:
        return await self.local.receive(channel)

    def attach(self, channel: str, member: Member) -> None:
        """Tell ``member`` about gaps and outages of the groups ``channel`` is in."""
        self._members[channel] = member

    async def close_channel(self, channel: str) -> None:
        self._members.pop(channel, None)
        for group in self.local.groups_of(channel):
            await self.group_discard(group, channel)
        await self.local.close_channel(channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if channel in self._members:
            await self.local.send(channel, message)
            return
        try:
            await self.remote.send(channel, message)
        except Exception as exc:
            raise self._unavailable(exc) from None

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``; the first of the process's sockets in the group
        joins it on the layer. Raises LayerUnavailable if that fails."""
        await self.local.group_add(group, channel)
        hub = self._hubs.get(group)
        try:
            if hub is None:
                await self._open_hub(group)
            elif not hub.ready.done():
                await asyncio.shield(hub.ready)
        except LayerUnavailable:
            await self.local.group_discard(group, channel)
            raise

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; the last of the process's sockets in it
        leaves the group on the layer too."""
        await self.local.group_discard(group, channel)
        hub = self._hubs.get(group)
        if hub is not None and hub.ready.done():  # one still joining closes itself
            await self._close_if_unused(hub)

    async def _close_if_unused(self, hub: _Hub) -> None:
        if self.local.members(hub.group) or self._hubs.get(hub.group) is not hub:
            return
        del self._hubs[hub.group]
        if hub.reader is not None:
            hub.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hub.reader
        if hub.channel:
            try:
                await self.remote.group_discard(hub.group, hub.channel)
            except Exception as exc:  # it lapses on its own (channels_redis: group_expiry)
                self._failed(exc)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``group`` on the layer, this process's members included;
        first wait, if many of this process's events to the group are still on their
        way. Raises LayerUnavailable if the layer failed."""
        hub = self._hubs.get(group)
        sender = message.get("sender")
        if hub is not None and type(sender) is str:
            if hub.sent - hub.arrived >= IN_FLIGHT:
                await self._room(hub)
            self._sender(sender)
            hub.sent += 1
        try:
            await self.remote.group_send(group, message)
        except Exception as exc:
            if hub is not None and type(sender) is str:
                hub.sent -= 1
            raise self._unavailable(exc) from None
        if self._down_since is not None:
            if not self._hubs:
                self._back()  # nothing to join again: the layer works, the outage is over
            elif self._nudge is not None:
                self._nudge.set()  # it works again: join the groups now, not in a second

    async def _room(self, hub: _Hub) -> None:
        if hub.room is None:
            hub.room = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(hub.room), _ROOM_WAIT)
        except TimeoutError:
            hub.arrived = hub.sent  # they are not coming: lost, and reported as a gap
            self._make_room(hub)

    def _make_room(self, hub: _Hub) -> None:
        room, hub.room = hub.room, None
        if room is not None and not room.done():
            room.set_result(None)

    def _sender(self, sender: str) -> None:
        senders = self._senders
        if sender not in senders:
            senders[sender] = None
            if len(senders) > _SENDERS:
                del senders[next(iter(senders))]

    # -- hubs --------------------------------------------------------------------------

    async def _open_hub(self, group: str) -> None:
        loop = asyncio.get_running_loop()
        hub = self._hubs[group] = _Hub(group, loop.create_future())
        try:
            hub.channel = await self.remote.new_channel()
            await self.remote.group_add(group, hub.channel)
        except Exception as exc:
            del self._hubs[group]
            error = self._unavailable(exc)
            hub.ready.set_exception(error)
            hub.ready.exception()  # retrieved: nobody else may be waiting for it
            raise error from None
        hub.reader = loop.create_task(
            pump(self.remote, hub.channel, self._reader(hub), self._failed)
        )
        hub.ready.set_result(None)
        await self._close_if_unused(hub)  # its sockets may have left while it joined

    def _reader(self, hub: _Hub) -> Any:
        async def arrived(message: dict[str, Any]) -> None:
            if "seq" in message:
                if message.get("sender") in self._senders and hub.arrived < hub.sent:
                    hub.arrived += 1
                    if hub.room is not None and hub.sent - hub.arrived < IN_FLIGHT // 2:
                        self._make_room(hub)
                missed = hub.gaps.missed(message)
                if missed:
                    self._gap(hub, missed)
                if message.get("type") == WATERMARK:
                    return
            elif message.get("type") == _PROBE:
                return
            await self.local.group_send(hub.group, message)

        return arrived

    def _gap(self, hub: _Hub, missed: int) -> None:
        members = self.local.members(hub.group)
        gap_log.warning(
            "group %s: %d event(s) from one sender never reached this process (%d "
            "socket(s) here missed them): the channel layer lost them, because it was full "
            "(channels_redis' core layer: raise its capacity) or unavailable a moment",
            hub.group,
            missed,
            len(members),
        )
        for channel in members:
            member = self._members.get(channel)
            if member is not None:
                member.gap(hub.group, missed, LOST)

    # -- outages -----------------------------------------------------------------------

    def _unavailable(self, exc: Exception) -> LayerUnavailable:
        self._failed(exc)
        return LayerUnavailable(f"the channel layer failed: {_describe(exc)}")

    def _failed(self, exc: Exception) -> None:
        """A layer operation failed: start an outage, unless one is under way."""
        if self._down_since is not None:
            return
        loop = asyncio.get_running_loop()
        self._down_since = loop.time()
        log.warning(
            "channel layer unavailable (%s): group events cannot reach this process's "
            "sockets until it is back; trying again every second%s",
            _describe(exc),
            _TIMEOUT_HINT if type(exc).__name__ == "TimeoutError" else "",
        )
        self._nudge = asyncio.Event()
        self._recovery = loop.create_task(self._recover(self._nudge))

    async def _recover(self, nudge: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        closed = False
        for attempt in range(1 << 62):
            with contextlib.suppress(TimeoutError):
                delay = _RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)]
                await asyncio.wait_for(nudge.wait(), delay)
            nudge.clear()
            if self._down_since is None:
                return  # a group send showed the layer works again
            down = loop.time() - self._down_since
            if not closed and self.outage_timeout is not None and down >= self.outage_timeout:
                closed = True
                self._give_up(down)
            if not self._hubs:
                continue  # nothing to join: the next group send that works ends it
            try:
                await self._rejoin()
            except Exception:
                continue
            self._back()
            return

    async def _rejoin(self) -> None:
        """Join every group again (Redis forgets them when it restarts); a probe first,
        since joining may need no round trip (channels_redis' pub/sub layer)."""
        hubs = [hub for hub in self._hubs.values() if hub.ready.done() and hub.channel]
        if hubs:
            await self.remote.send(hubs[0].channel, {"type": _PROBE})
        for hub in hubs:
            await self.remote.group_add(hub.group, hub.channel)

    def _back(self) -> None:
        assert self._down_since is not None
        down = asyncio.get_running_loop().time() - self._down_since
        self._down_since = self._nudge = None
        told: set[str] = set()
        for hub in self._hubs.values():
            # Numbers from before the outage would count its losses a second time.
            hub.gaps = GapDetector()
            told.update(self.local.members(hub.group))
        for channel in told:
            member = self._members.get(channel)
            if member is not None:
                member.gap(None, None, OUTAGE)
        log.warning(
            "channel layer back after %.1f s: joined %d group(s) again and told %d "
            "socket(s) that group events may have been lost",
            down,
            len(self._hubs),
            len(told),
        )

    def _give_up(self, down: float) -> None:
        members = list(self._members.values())
        log.warning(
            "channel layer still unavailable after %.0f s: closing %d socket(s) with 1011 so "
            "that their clients reconnect",
            down,
            len(members),
        )
        for member in members:
            member.layer_gone()


def _describe(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _ERROR_TEXT else text[:_ERROR_TEXT] + "..."
