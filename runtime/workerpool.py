"""``WorkerPool``: the workers of one process, each reading its channel of one layer.

One task per worker blocks in the layer's ``receive`` on the worker's channel and hands
each job to the worker, one at a time. On chgen's in-memory layer only workers of the
same process can read what its sockets send, so the generated app runs its workers beside
its sockets (``Router(workers=...)``). On Redis (channels_redis' core layer, where a job
waits in Redis until a process reads it) any number of processes may run the same
workers (``chgen worker``): each job goes to one of them.

A layer that fails (Redis restarting) does not stop a worker: the failure is logged once,
the channel is read again every second or sooner, and the first job read afterwards is
logged as the layer being back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from .appretention import AppEventHistory
from .delivery.pump import pump
from .history import HistoryStore
from .layers import ChannelLayer
from .worker import WorkerConsumer

__all__ = ["WorkerPool"]

log = logging.getLogger("chgen.runtime.worker")


class WorkerPool:
    """Run ``classes`` (one instance each) on ``layer``, until stopped; ``history`` and
    ``app_history`` keep the app events they send (``WorkerConsumer``)."""

    def __init__(
        self,
        classes: Iterable[type[WorkerConsumer]],
        layer: ChannelLayer,
        history: HistoryStore | None = None,
        app_history: AppEventHistory | None = None,
    ) -> None:
        self.classes = tuple(dict.fromkeys(classes))
        self.layer = layer
        self.history = history
        self.app_history = app_history
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def channels(self) -> list[str]:
        return [cls.channel for cls in self.classes]

    @property
    def running(self) -> bool:
        """Whether the workers run (on the loop that started them)."""
        return any(not task.done() for task in self._tasks)

    def start(self) -> None:
        """Start every worker on the running loop, unless they already run there. (A pool
        used on a second loop, as a test suite may, starts afresh on it.)"""
        loop = asyncio.get_running_loop()
        if self._loop is loop or not self.classes:
            return
        self._loop = loop
        self._tasks = [
            loop.create_task(
                _read(self._worker(cls), self.layer), name=f"chgen worker {cls.channel}"
            )
            for cls in self.classes
        ]

    def _worker(self, cls: type[WorkerConsumer]) -> WorkerConsumer:
        return cls(self.layer, history=self.history, app_history=self.app_history)

    async def stop(self) -> None:
        """Stop every worker; a job being handled is cancelled."""
        tasks, self._tasks, self._loop = self._tasks, [], None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """Run the workers until cancelled (``chgen worker``)."""
        self.start()
        try:
            await asyncio.gather(*self._tasks)
        finally:
            await self.stop()


async def _read(worker: WorkerConsumer, layer: ChannelLayer) -> None:
    outage = _Outage(worker.channel)

    async def deliver(message: dict[str, Any]) -> None:
        outage.over()
        await worker.dispatch(message)

    await pump(layer, worker.channel, deliver, outage.failed)


class _Outage:
    """Whether reading one channel is failing, so that an outage is logged twice, not
    once per retry: when it starts, and when a job is read again."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.failures = 0

    def failed(self, exc: Exception) -> None:
        if not self.failures:
            log.warning(
                "channel layer unavailable (%s: %s): worker channel %r is read again every "
                "second until it is back",
                type(exc).__name__,
                str(exc)[:160],
                self.channel,
            )
        self.failures += 1

    def over(self) -> None:
        if self.failures:
            log.warning(
                "channel layer back: worker channel %r read again after %d failed reads",
                self.channel,
                self.failures,
            )
            self.failures = 0
