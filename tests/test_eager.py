"""runtime.eager: a coroutine's first step runs now, in the given context; only the rest
that has to wait becomes a task. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from runtime.eager import NOTHING, first_step, start_eagerly

T = TypeVar("T")
WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="caller")


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), 10)

    return asyncio.run(bounded())


def member_context() -> contextvars.Context:
    context = contextvars.copy_context()
    context.run(WHO.set, "member")
    return context


def test_a_coroutine_that_never_waits_finishes_in_the_call_with_no_task() -> None:
    async def scenario() -> None:
        seen: list[str] = []

        async def work(n: int) -> None:
            seen.append(f"{WHO.get()} {n}")

        before = len(asyncio.all_tasks())
        assert start_eagerly(work, 1, member_context()) is None
        assert member_context().run(first_step, work, 2) is None
        assert seen == ["member 1", "member 2"], "ran at once, in the given context"
        assert WHO.get() == "caller", "the caller's context is untouched"
        assert len(asyncio.all_tasks()) == before

    run(scenario)


def test_the_part_after_a_wait_runs_as_a_task_in_the_same_context() -> None:
    async def scenario() -> None:
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

    run(scenario)


def test_cancelling_the_rest_cancels_the_coroutine_and_runs_its_cleanup() -> None:
    async def scenario() -> None:
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

    run(scenario)


def test_an_exception_in_the_first_step_reaches_the_caller_and_a_later_one_the_task() -> None:
    async def scenario() -> None:
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

    run(scenario)


def test_a_start_from_inside_a_first_step_is_left_for_later() -> None:
    async def scenario() -> None:
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

    run(scenario)


def test_any_awaitable_is_driven_not_only_coroutines() -> None:
    async def scenario() -> None:
        assert start_eagerly(lambda _: NOTHING, None, member_context()) is None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        rest = start_eagerly(lambda _: future, None, member_context())
        assert rest is not None
        task = asyncio.get_running_loop().create_task(rest)
        await asyncio.sleep(0)
        assert not task.done()
        future.set_result(None)
        await asyncio.wait_for(task, 5)

    run(scenario)
