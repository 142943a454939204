"""Listeners of a client's events: called in order, each one's failure its own.

A listener that raises is logged (logger ``chgen.client``) and the others still run; a
listener that returns an awaitable (a coroutine function) runs as a task of its own, and
its failure is logged likewise. A listener never stops the socket's reader.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Generic, TypeVar

__all__ = ["Listener", "Listeners", "Unsubscribe"]

log = logging.getLogger("chgen.client")

T = TypeVar("T")
#: A callback: a plain function, or a coroutine function run as a task.
Listener = Callable[[T], object]
#: Stops the listener it was returned for; calling it again does nothing.
Unsubscribe = Callable[[], None]

# Tasks of coroutine listeners still running: the event loop keeps only weak references.
_RUNNING: Final[set[asyncio.Task[Any]]] = set()


class Listeners(Generic[T]):
    def __init__(self) -> None:
        self._items: list[Listener[T]] = []

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, listener: Listener[T]) -> Unsubscribe:
        # Wrapped, so that the same function added twice is two listeners, each removed
        # by its own unsubscribe.
        def entry(value: T) -> object:
            return listener(value)

        self._items.append(entry)

        def unsubscribe() -> None:
            if entry in self._items:
                self._items.remove(entry)

        return unsubscribe

    def emit(self, value: T) -> None:
        for listener in list(self._items):
            try:
                result = listener(value)
            except Exception:
                log.exception("a chgen client listener raised; the other listeners still run")
                continue
            if inspect.isawaitable(result):
                _spawn(result)


def _spawn(awaitable: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(awaitable)
    _RUNNING.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[Any]) -> None:
    _RUNNING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("a chgen client listener raised", exc_info=task.exception())
