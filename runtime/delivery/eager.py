"""Start an awaitable now, in a given context; leave only what has to wait for a task.

Group delivery runs on this. Writing a frame to a socket whose transport takes it never
waits (uvicorn's ``send`` returns at once unless the client stopped reading), so most
deliveries finish inside the sender's ``group_send``, with no task and no trip through
the event loop per member. A delivery that does wait (a slow client) goes on in a task
of its own and never holds up the sender. Python 3.12's eager tasks do much the same;
3.11, which chgen supports, has none.

``start_eagerly`` serves any handler. ``eager_writer`` is the same idea kept for the
whole life of a socket, for the one call that runs on every member of every group send:
writing a forwarded event with the socket's ASGI ``send``.
"""

from __future__ import annotations

import contextvars
import threading
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, MutableMapping
from typing import Any, Final, TypeVar

__all__ = ["NOTHING", "WRITTEN", "Writer", "eager_writer", "finish_writing", "start_eagerly"]

T = TypeVar("T")


class _State(threading.local):
    # True while a first step runs. A start from inside another one's first step (a
    # member's handler that sends to a group in turn) is left entirely for later, so a
    # chain of deliveries cannot grow the stack without bound.
    running = False


_state = _State()


def start_eagerly(
    call: Callable[[T], Awaitable[None]], arg: T, context: contextvars.Context
) -> Coroutine[Any, None, None] | None:
    """Call ``call(arg)`` in ``context`` and run what it returns up to its first wait.

    Returns None when it finished there, or else a coroutine that finishes it: run that
    as a task in the same ``context`` (and close it if the task may be cancelled before
    it starts). An exception from the first step propagates.
    """
    if _state.running:
        return _later(call, arg)
    _state.running = True
    try:
        return context.run(_first_step, call, arg)
    finally:
        _state.running = False


def _first_step(call: Callable[[T], Awaitable[None]], arg: T) -> Coroutine[Any, None, None] | None:
    """``start_eagerly`` in the current context and without its guard against nesting."""
    awaitable: Any = call(arg)
    if type(awaitable) is not types.CoroutineType:
        awaitable = awaitable.__await__()  # any other awaitable: drive its iterator the same way
    try:
        awaited = awaitable.send(None)
    except StopIteration:
        return None
    return _finish(awaitable, awaited)


class _Written:
    __slots__ = ()

    def __repr__(self) -> str:
        return "WRITTEN"


# What a Writer yields once it wrote an event: it waits for the next one.
WRITTEN: Final = _Written()

# Fed an event with ``.send(event)``: writes it, then yields WRITTEN (or, when the write
# has to wait, what it waits on: see ``finish_writing``).
Writer = Generator[Any, MutableMapping[str, Any], None]


def eager_writer(send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> Writer:
    """A reusable ``start_eagerly`` for one socket's ASGI ``send``, for the path that
    runs no application handler (forwarded group events), so has no guard against nesting.

    ``context.run(s.send, event)`` writes ``event`` in ``context`` and returns WRITTEN, as
    ``start_eagerly`` would return None, but cheaper per write: the send's coroutine runs
    inside this generator's ``yield from``, which finishes it without the StopIteration
    that driving it by hand raises and catches. That is a tenth of a microsecond on
    every member of every group send. An exception from the write propagates and ends
    the writer; make a new one.
    """
    primed = _writing(send)
    next(primed)
    return primed


@types.coroutine
def _writing(send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> Writer:
    event = yield WRITTEN
    while True:
        awaitable: Any = send(event)
        if type(awaitable) is not types.CoroutineType:
            awaitable = awaitable.__await__()
        yield from awaitable
        event = yield WRITTEN


async def finish_writing(writer: Writer, awaited: Any) -> None:
    """The rest of a write whose ``writer.send(event)`` returned ``awaited``, not WRITTEN:
    run it as a task in the same context. The writer takes no other event until it
    finishes."""
    await _continue(writer, awaited)


async def _later(call: Callable[[T], Awaitable[None]], arg: T) -> None:
    await call(arg)


async def _finish(awaitable: Any, awaited: Any) -> None:
    await _continue(awaitable, awaited)


@types.coroutine
def _continue(awaitable: Any, awaited: Any) -> Generator[Any, None, None]:
    """Hand the task what ``awaitable`` waits on, and resume it with what the task says.

    ``awaitable`` already yielded ``awaited`` (a future, or None for a bare yield) to
    ``start_eagerly`` or to a writer's caller; the task takes over from there: it waits
    on that, then resumes ``awaitable`` or throws into it (a cancellation) until it
    returns, or, for a writer, until it yields WRITTEN (its write is done).
    """
    while awaited is not WRITTEN:
        try:
            yield awaited
        except BaseException as exc:
            try:
                awaited = awaitable.throw(exc)
            except StopIteration:
                return
        else:
            try:
                awaited = awaitable.send(None)
            except StopIteration:
                return


class _Nothing:
    """An awaitable that is already done: for plain functions with nothing to await."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # makes this a generator, one that ends at once


NOTHING: Final = _Nothing()
