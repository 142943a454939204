"""chgen.runtime.delivery.eager: a coroutine's first step runs now, in the given context;
only the rest that has to wait becomes a task. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any, TypeVar

import pytest

from chgen.runtime.delivery.eager import (
    NOTHING,
    WRITTEN,
    eager_writer,
    finish_writing,
    start_eagerly,
)

T = TypeVar("T")
WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="caller")


def member_context() -> contextvars.Context:
    context = contextvars.copy_context()
    context.run(WHO.set, "member")
    return context


async def test_a_coroutine_that_never_waits_finishes_in_the_call_with_no_task() -> None:
    seen: list[str] = []

    async def work(n: int) -> None:
        seen.append(f"{WHO.get()} {n}")

    before = len(asyncio.all_tasks())
    assert start_eagerly(work, 1, member_context()) is None
    assert seen == ["member 1"], "ran at once, in the given context"
    assert WHO.get() == "caller", "the caller's context is untouched"
    assert len(asyncio.all_tasks()) == before


async def test_the_part_after_a_wait_runs_as_a_task_in_the_same_context() -> None:
    gate = asyncio.Event()
    steps: list[str] = []

    async def work(n: int) -> None:
        steps.append(f"before {WHO.get()}")
        await gate.wait()
        await asyncio.sleep(0)  # a bare yield, too
        steps.append(f"after {WHO.get()} {n}")

    context = member_context()
    rest = start_eagerly(work, 7, context)
    assert rest is not None and steps == ["before member"]
    task = asyncio.get_running_loop().create_task(rest, context=context)
    await asyncio.sleep(0)
    assert steps == ["before member"], "still waiting on the gate"
    gate.set()
    await asyncio.wait_for(task, 5)
    assert steps == ["before member", "after member 7"]


async def test_cancelling_the_rest_cancels_the_coroutine_and_runs_its_cleanup() -> None:
    cleaned = asyncio.Event()

    async def work(_: None) -> None:
        try:
            await asyncio.Event().wait()  # forever
        finally:
            cleaned.set()

    rest = start_eagerly(work, None, member_context())
    assert rest is not None
    task = asyncio.get_running_loop().create_task(rest)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert cleaned.is_set()


async def test_an_exception_in_the_first_step_reaches_the_caller_and_a_later_one_the_task() -> None:
    async def fails_now(_: None) -> None:
        raise ValueError("now")

    async def fails_later(_: None) -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    with pytest.raises(ValueError, match="now"):
        start_eagerly(fails_now, None, member_context())
    rest = start_eagerly(fails_later, None, member_context())
    assert rest is not None
    with pytest.raises(KeyError, match="later"):
        await asyncio.wait_for(rest, 5)


async def test_a_start_from_inside_a_first_step_is_left_for_later() -> None:
    order: list[str] = []
    inner_rest: list[Any] = []

    async def inner(_: None) -> None:
        order.append("inner")

    async def outer(_: None) -> None:
        order.append("outer begins")
        inner_rest.append(start_eagerly(inner, None, member_context()))
        order.append("outer ends")

    assert start_eagerly(outer, None, member_context()) is None
    assert order == ["outer begins", "outer ends"], "the nested start did not recurse"
    (rest,) = inner_rest
    assert rest is not None
    await asyncio.wait_for(rest, 5)
    assert order[-1] == "inner"
    # The guard is down again: the next start is eager.
    assert start_eagerly(inner, None, member_context()) is None
    assert order[-1] == "inner"


async def test_any_awaitable_is_driven_not_only_coroutines() -> None:
    assert start_eagerly(lambda _: NOTHING, None, member_context()) is None
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    rest = start_eagerly(lambda _: future, None, member_context())
    assert rest is not None
    task = asyncio.get_running_loop().create_task(rest)
    await asyncio.sleep(0)
    assert not task.done()
    future.set_result(None)
    await asyncio.wait_for(task, 5)


async def test_a_writer_writes_each_event_at_once_in_the_given_context_and_is_reused() -> None:
    written: list[str] = []

    async def send(event: Any) -> None:
        written.append(f"{WHO.get()} {event['text']}")

    before = len(asyncio.all_tasks())
    writer = eager_writer(send)
    context = member_context()
    for n in range(3):
        assert context.run(writer.send, {"text": str(n)}) is WRITTEN
    assert written == ["member 0", "member 1", "member 2"]
    assert WHO.get() == "caller", "the caller's context is untouched"
    assert len(asyncio.all_tasks()) == before


async def test_a_write_that_waits_is_finished_by_a_task_and_the_writer_goes_on() -> None:
    gate = asyncio.Event()
    written: list[str] = []

    async def send(event: Any) -> None:
        if event["text"] == "slow":
            await gate.wait()
            await asyncio.sleep(0)  # a bare yield, too
        written.append(f"{WHO.get()} {event['text']}")

    writer = eager_writer(send)
    context = member_context()
    awaited = context.run(writer.send, {"text": "slow"})
    assert awaited is not WRITTEN
    task = asyncio.get_running_loop().create_task(finish_writing(writer, awaited), context=context)
    await asyncio.sleep(0)
    assert written == [] and not task.done()
    gate.set()
    await asyncio.wait_for(task, 5)
    assert written == ["member slow"]
    assert context.run(writer.send, {"text": "next"}) is WRITTEN
    assert written == ["member slow", "member next"]


async def test_a_failed_write_reaches_the_caller_and_ends_the_writer() -> None:
    async def send(event: Any) -> None:
        if event["text"] == "bad":
            raise ConnectionResetError("client went away")

    writer = eager_writer(send)
    with pytest.raises(ConnectionResetError):
        writer.send({"text": "bad"})
    with pytest.raises(StopIteration):
        writer.send({"text": "after"})


async def test_cancelling_the_rest_of_a_write_cancels_the_send() -> None:
    outcome: list[str] = []

    async def send(event: Any) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    writer = eager_writer(send)
    awaited = writer.send({"text": "never"})
    task = asyncio.get_running_loop().create_task(finish_writing(writer, awaited))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert outcome == ["cancelled"]


async def test_a_writer_drives_any_awaitable_a_send_returns() -> None:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    results = iter([NOTHING, future])
    writer = eager_writer(lambda _: next(results))
    assert writer.send({"text": "done already"}) is WRITTEN
    awaited = writer.send({"text": "a future"})
    assert awaited is future
    task = asyncio.get_running_loop().create_task(finish_writing(writer, awaited))
    await asyncio.sleep(0)
    assert not task.done()
    future.set_result(None)
    await asyncio.wait_for(task, 5)
