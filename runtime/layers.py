"""The in-memory channel layer, with the interface of Channels' layers.

Channels' ``InMemoryChannelLayer`` scans every channel on each ``group_send``; here each
group keeps its member set, so a group send costs O(members). Messages are shared, not
copied, between members: receivers must treat them as read-only.

Beyond Channels' interface the layer offers one optional extension, which group
delivery (``chgen.runtime.delivery``) uses when a layer has it (``watchable``):
``watch_channel(channel, offer)`` with ``receive_nowait(channel)``. A watched channel
needs no task blocked in ``receive``: the layer hands each arriving message straight to
``offer(message)``, and queues it only while the receiver is busy; the receiver then
drains the queue, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, Protocol, TypeGuard

__all__ = [
    "ChannelFull",
    "ChannelLayer",
    "InMemoryChannelLayer",
    "LayerUnavailable",
    "WatchableLayer",
    "watchable",
]

log = logging.getLogger(__name__)


class ChannelFull(Exception):
    """A channel's queue is at capacity; the message was not delivered."""


class LayerUnavailable(Exception):
    """The channel layer failed (Redis is down or restarting): a group send, or joining a
    group, did not happen. The runtime logs the outage once and answers the message being
    handled with ``unavailable``; the client may try again later."""


class ChannelLayer(Protocol):
    """The subset of the Channels layer interface the runtime uses."""

    async def new_channel(self, prefix: str = ...) -> str: ...
    async def send(self, channel: str, message: dict[str, Any]) -> None: ...
    async def receive(self, channel: str) -> dict[str, Any]: ...
    async def group_add(self, group: str, channel: str) -> None: ...
    async def group_discard(self, group: str, channel: str) -> None: ...
    async def group_send(self, group: str, message: dict[str, Any]) -> None: ...


class WatchableLayer(ChannelLayer, Protocol):
    """The optional extension: delivery without a task waiting on every channel."""

    def watch_channel(
        self,
        channel: str,
        offer: Callable[[dict[str, Any]], bool],
        lost: Callable[[dict[str, Any]], None],
    ) -> None: ...
    def receive_nowait(self, channel: str) -> dict[str, Any] | None: ...


def watchable(layer: ChannelLayer) -> TypeGuard[WatchableLayer]:
    """Whether ``layer`` has the watch extension."""
    return hasattr(layer, "receive_nowait") and getattr(layer, "watch_channel", None) is not None


class _Mailbox:
    """One channel: its pending messages and the groups it is in.

    Lighter than an asyncio.Queue (which holds four deques and an Event): the message
    deque exists once a message arrives, the waiter deque once someone blocks in
    ``receive``, and the groups are a tuple (a socket is in one or two). Thousands of
    idle channels make the difference.
    """

    __slots__ = ("channel", "dropping", "groups", "lost", "messages", "offer", "waiters")

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.messages: deque[dict[str, Any]] | None = None
        self.waiters: deque[asyncio.Future[None]] | None = None
        self.offer: Callable[[dict[str, Any]], bool] | None = None
        self.lost: Callable[[dict[str, Any]], None] | None = None
        self.groups: tuple[str, ...] = ()
        self.dropping = 0  # messages dropped since the queue was last read while full


def _dropping(box: _Mailbox, group: str) -> None:
    if not box.dropping:
        log.warning(
            "channel %s is full; dropping messages for group %s until it is read",
            box.channel,
            group,
        )
    box.dropping += 1


def _drained(box: _Mailbox) -> None:
    log.warning("channel %s: %d message(s) dropped while it was full", box.channel, box.dropping)
    box.dropping = 0


def _wake_next(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


class InMemoryChannelLayer:
    """Channels and groups within one process; the default layer of a generated app."""

    extensions = ("groups", "flush")

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self.dropped = 0  # messages lost to full queues, for monitoring
        self._boxes: dict[str, _Mailbox] = {}
        # group -> its members' mailboxes, by channel: a group send needs no lookup.
        self._groups: defaultdict[str, dict[str, _Mailbox]] = defaultdict(dict)

    async def new_channel(self, prefix: str = "specific.") -> str:
        name = f"{prefix}{uuid.uuid4().hex}"
        self._boxes[name] = _Mailbox(name)
        return name

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if not self._put(channel, message):
            raise ChannelFull(channel)

    async def receive(self, channel: str) -> dict[str, Any]:
        box = self._box(channel)
        while not box.messages:
            if box.waiters is None:
                box.waiters = deque()
            waiter = asyncio.get_running_loop().create_future()
            box.waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                # Cancelled: if a put had already picked this waiter, hand its turn on
                # to the next one, as asyncio.Queue.get does.
                waiter.cancel()
                with contextlib.suppress(ValueError):  # a put already took it off
                    box.waiters.remove(waiter)
                if box.messages and not waiter.cancelled():
                    _wake_next(box.waiters)
                raise
        if box.dropping:
            _drained(box)
        return box.messages.popleft()

    def receive_nowait(self, channel: str) -> dict[str, Any] | None:
        """The next message waiting on ``channel``, or None (the watch extension)."""
        box = self._boxes.get(channel)
        if box is None or not box.messages:
            return None
        if box.dropping:
            _drained(box)
        return box.messages.popleft()

    def watch_channel(
        self,
        channel: str,
        offer: Callable[[dict[str, Any]], bool],
        lost: Callable[[dict[str, Any]], None],
    ) -> None:
        """Hand messages put on ``channel`` to ``offer`` (the watch extension).

        While nothing is queued on the channel, each message is offered as it is put,
        inside the sender's ``send``/``group_send``: ``offer(message)`` returns True if
        it took the message, False if the receiver is busy. A refused message is queued,
        and so is every later one until the queue is empty again: the receiver, once
        done, takes them with ``receive_nowait``, in order. ``offer`` must not raise.
        Messages queued before the watch began wait for ``receive_nowait`` too.
        ``lost(message)`` hears of every group message dropped because the channel was
        at capacity; it must not raise either.
        """
        box = self._box(channel)
        box.offer = offer
        box.lost = lost

    async def group_add(self, group: str, channel: str) -> None:
        box = self._box(channel)
        self._groups[group][channel] = box
        if group not in box.groups:
            box.groups += (group,)

    async def group_discard(self, group: str, channel: str) -> None:
        members = self._groups.get(group)
        if members is not None:
            members.pop(channel, None)
            if not members:
                del self._groups[group]
        box = self._boxes.get(channel)
        if box is not None and group in box.groups:
            box.groups = tuple(g for g in box.groups if g != group)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        members = self._groups.get(group)
        for box in tuple(members.values()) if members is not None else ():
            # _put, inlined: this runs once per member.
            if box.offer is not None and not box.messages and box.offer(message):
                continue
            if not self._queue(box, message):
                # Channels drops these silently; we drop too but say so, once per time
                # the channel fills up (a watcher, the socket's delivery, says it itself).
                self.dropped += 1
                if box.lost is not None:
                    box.lost(message)
                else:
                    _dropping(box, group)

    def groups_of(self, channel: str) -> tuple[str, ...]:
        """The groups ``channel`` is in."""
        box = self._boxes.get(channel)
        return () if box is None else box.groups

    def members(self, group: str) -> frozenset[str]:
        """The channels currently in ``group``, for monitoring and tests."""
        return frozenset(self._groups.get(group, ()))

    async def close_channel(self, channel: str) -> None:
        """Forget a channel whose connection ended, and its group memberships.

        Not part of Channels' interface; the runtime calls it when a connection closes.
        """
        box = self._boxes.pop(channel, None)
        for group in box.groups if box is not None else ():
            await self.group_discard(group, channel)

    async def flush(self) -> None:
        self._boxes.clear()
        self._groups.clear()

    def _box(self, channel: str) -> _Mailbox:
        box = self._boxes.get(channel)
        if box is None:  # like Channels' layer: buffer for a channel not received yet
            box = self._boxes[channel] = _Mailbox(channel)
        return box

    def _put(self, channel: str, message: dict[str, Any]) -> bool:
        """Hand ``message`` to the channel's watcher, or else queue it and wake a
        receiver; False when the queue is full."""
        box = self._box(channel)
        # Straight to the watcher only when nothing queued could be overtaken.
        if box.offer is not None and not box.messages and box.offer(message):
            return True
        return self._queue(box, message)

    def _queue(self, box: _Mailbox, message: dict[str, Any]) -> bool:
        """Queue ``message`` in ``box`` and wake a receiver; False when full."""
        messages = box.messages
        if messages is None:
            messages = box.messages = deque()
        elif 0 < self.capacity <= len(messages):  # as asyncio.Queue: 0 means unbounded
            return False
        messages.append(message)
        if box.waiters:
            _wake_next(box.waiters)
        return True
