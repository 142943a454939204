"""The in-memory channel layer, with the interface of Channels' layers.

Channels' ``InMemoryChannelLayer`` scans every channel on each ``group_send``; here each
group keeps its member set, so a group send costs O(members). Messages are shared, not
copied, between members: receivers must treat them as read-only.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from typing import Any, Protocol

__all__ = ["ChannelFull", "ChannelLayer", "InMemoryChannelLayer"]

log = logging.getLogger(__name__)


class ChannelFull(Exception):
    """A channel's queue is at capacity; the message was not delivered."""


class ChannelLayer(Protocol):
    """The subset of the Channels layer interface the runtime uses."""

    async def new_channel(self, prefix: str = ...) -> str: ...
    async def send(self, channel: str, message: dict[str, Any]) -> None: ...
    async def receive(self, channel: str) -> dict[str, Any]: ...
    async def group_add(self, group: str, channel: str) -> None: ...
    async def group_discard(self, group: str, channel: str) -> None: ...
    async def group_send(self, group: str, message: dict[str, Any]) -> None: ...


class InMemoryChannelLayer:
    """Channels and groups within one process; the default layer of a generated app."""

    extensions = ("groups", "flush")

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self.dropped = 0  # messages lost to full queues, for monitoring
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._groups: defaultdict[str, set[str]] = defaultdict(set)
        self._memberships: defaultdict[str, set[str]] = defaultdict(set)  # channel -> groups

    async def new_channel(self, prefix: str = "specific.") -> str:
        name = f"{prefix}{uuid.uuid4().hex}"
        self._queues[name] = asyncio.Queue(self.capacity)
        return name

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        queue = self._queue(channel)
        try:
            queue.put_nowait(message)
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel: str) -> dict[str, Any]:
        return await self._queue(channel).get()

    async def group_add(self, group: str, channel: str) -> None:
        self._groups[group].add(channel)
        self._memberships[channel].add(group)

    async def group_discard(self, group: str, channel: str) -> None:
        members = self._groups.get(group)
        if members is not None:
            members.discard(channel)
            if not members:
                del self._groups[group]
        groups = self._memberships.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self._memberships[channel]

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        for channel in tuple(self._groups.get(group, ())):
            # Like send(), buffer for a member that has not started receiving yet.
            queue = self._queue(channel)
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                # Channels drops these silently; we drop too but say so.
                self.dropped += 1
                log.warning("channel %s is full; dropped a message for group %s", channel, group)

    def members(self, group: str) -> frozenset[str]:
        """The channels currently in ``group``, for monitoring and tests."""
        return frozenset(self._groups.get(group, ()))

    async def close_channel(self, channel: str) -> None:
        """Forget a channel whose connection ended, and its group memberships.

        Not part of Channels' interface; the runtime calls it when a connection closes.
        """
        for group in tuple(self._memberships.get(channel, ())):
            await self.group_discard(group, channel)
        self._queues.pop(channel, None)

    async def flush(self) -> None:
        self._queues.clear()
        self._groups.clear()
        self._memberships.clear()

    def _queue(self, channel: str) -> asyncio.Queue[dict[str, Any]]:
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = asyncio.Queue(self.capacity)
        return queue
