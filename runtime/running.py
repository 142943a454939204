"""Handlers that run side by side, for consumers without strict ordering.

Up to a bound per consumer at once; while every slot is busy the socket is not read
(backpressure, not an unbounded queue); handlers still running when the socket closes
are cancelled, since nobody can get their replies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Running"]


class Running:
    """The handler tasks of one consumer."""

    __slots__ = ("_slots", "_tasks")

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, handle: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
        """Run ``handle(*args)`` as a task once a slot is free; await the result, which
        waits only for the slot."""
        await self._slots.acquire()
        task = asyncio.create_task(handle(*args))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def cancel(self) -> None:
        """Cancel every handler still running, and wait until they have stopped."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
