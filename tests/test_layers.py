"""The in-memory channel layer: channels, groups, back-pressure and fan-out.

Each test runs its own event loop with ``asyncio.run``; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar

import pytest

from chgen.runtime.layers import ChannelFull, InMemoryChannelLayer

T = TypeVar("T")
TIMEOUT = 2.0


async def receive(layer: InMemoryChannelLayer, channel: str) -> dict[str, Any]:
    return await asyncio.wait_for(layer.receive(channel), TIMEOUT)


async def drain(layer: InMemoryChannelLayer, channel: str) -> list[dict[str, Any]]:
    """Every message waiting on ``channel`` right now, without blocking."""
    out: list[dict[str, Any]] = []
    while True:
        try:
            out.append(await asyncio.wait_for(layer.receive(channel), 0.01))
        except TimeoutError:
            return out


async def test_send_then_receive_on_a_channel() -> None:
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "a", "n": 1})
    await layer.send(channel, {"type": "a", "n": 2})
    assert await receive(layer, channel) == {"type": "a", "n": 1}
    assert await receive(layer, channel) == {"type": "a", "n": 2}


async def test_new_channels_are_distinct_and_use_the_prefix() -> None:
    layer = InMemoryChannelLayer()
    names = {await layer.new_channel() for _ in range(50)}
    assert len(names) == 50
    assert all(name.startswith("specific.") for name in names)
    assert (await layer.new_channel("worker.")).startswith("worker.")


async def test_receive_waits_for_a_later_send() -> None:
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    waiting = asyncio.create_task(receive(layer, channel))
    await asyncio.sleep(0)
    assert not waiting.done()
    await layer.send(channel, {"type": "late"})
    assert await asyncio.wait_for(waiting, TIMEOUT) == {"type": "late"}


async def test_channels_do_not_share_messages() -> None:
    layer = InMemoryChannelLayer()
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.send(a, {"type": "for-a"})
    assert await drain(layer, b) == []
    assert await drain(layer, a) == [{"type": "for-a"}]


async def test_group_send_reaches_every_member_once_and_no_one_else() -> None:
    layer = InMemoryChannelLayer()
    a, b, outsider = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    await layer.group_add("room", a)  # adding twice keeps one membership
    await layer.group_add("other", outsider)
    await layer.group_send("room", {"type": "hello"})
    assert await drain(layer, a) == [{"type": "hello"}]
    assert await drain(layer, b) == [{"type": "hello"}]
    assert await drain(layer, outsider) == []


async def test_group_send_to_an_unknown_group_does_nothing() -> None:
    layer = InMemoryChannelLayer()
    a = await layer.new_channel()
    await layer.group_send("nobody", {"type": "x"})
    assert await drain(layer, a) == []
    assert layer.dropped == 0


async def test_group_discard_stops_delivery() -> None:
    layer = InMemoryChannelLayer()
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    await layer.group_discard("room", a)
    await layer.group_send("room", {"type": "after"})
    assert await drain(layer, a) == []
    assert await drain(layer, b) == [{"type": "after"}]


async def test_members_reflects_membership_and_empty_groups_disappear() -> None:
    layer = InMemoryChannelLayer()
    a, b = await layer.new_channel(), await layer.new_channel()
    assert layer.members("room") == frozenset()
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    assert layer.members("room") == {a, b}
    await layer.group_discard("room", a)
    assert layer.members("room") == {b}
    await layer.group_discard("room", b)
    assert layer.members("room") == frozenset()
    # Discarding from a gone group, or a non-member, is harmless and creates nothing.
    await layer.group_discard("room", b)
    await layer.group_discard("never", a)
    assert layer.members("never") == frozenset()
    # The emptied group is really gone: re-adding starts it afresh.
    await layer.group_add("room", a)
    assert layer.members("room") == {a}


async def test_members_is_a_snapshot() -> None:
    layer = InMemoryChannelLayer()
    a = await layer.new_channel()
    await layer.group_add("room", a)
    snapshot = layer.members("room")
    await layer.group_discard("room", a)
    assert snapshot == {a}


async def test_send_to_a_full_channel_raises_channel_full() -> None:
    layer = InMemoryChannelLayer(capacity=2)
    channel = await layer.new_channel()
    await layer.send(channel, {"n": 1})
    await layer.send(channel, {"n": 2})
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"n": 3})
    # The queued messages are intact and the channel takes messages again once read.
    assert await receive(layer, channel) == {"n": 1}
    await layer.send(channel, {"n": 4})
    assert await drain(layer, channel) == [{"n": 2}, {"n": 4}]


async def test_group_send_drops_for_a_full_member_counts_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = InMemoryChannelLayer(capacity=2)
    full, ok1, ok2 = [await layer.new_channel() for _ in range(3)]
    for channel in (full, ok1, ok2):
        await layer.group_add("room", channel)
    await layer.send(full, {"n": 1})
    await layer.send(full, {"n": 2})
    with caplog.at_level(logging.WARNING, logger="chgen.runtime.layers"):
        await layer.group_send("room", {"type": "fan"})  # must not raise
    assert layer.dropped == 1
    assert await drain(layer, ok1) == [{"type": "fan"}]
    assert await drain(layer, ok2) == [{"type": "fan"}]
    assert await drain(layer, full) == [{"n": 1}, {"n": 2}]
    # One line when the channel fills up, one with the count once it is read again.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert full in warnings[0] and "room" in warnings[0]
    assert warnings[1] == f"channel {full}: 1 message(s) dropped while it was full"
    assert not any(ok1 in text or ok2 in text for text in warnings)


async def test_dropped_counts_every_lost_message() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    await layer.group_send("room", {"n": 1})  # fills both
    await layer.group_send("room", {"n": 2})  # both full: two drops
    await layer.group_send("room", {"n": 3})
    assert layer.dropped == 4


async def test_close_channel_forgets_the_channel() -> None:
    layer = InMemoryChannelLayer(capacity=2)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.send(channel, {"n": 1})
    await layer.send(channel, {"n": 2})
    await layer.close_channel(channel)
    # A group send to the closed channel is neither delivered nor counted as dropped.
    await layer.group_send("room", {"type": "after-close"})
    assert layer.dropped == 0
    # Its pending messages are gone: a later send starts from an empty queue.
    await layer.send(channel, {"n": 3})
    assert await drain(layer, channel) == [{"n": 3}]
    await layer.close_channel("specific.never-existed")  # harmless


async def test_group_member_named_by_the_caller_receives_group_messages() -> None:
    # As in Channels' layers, a channel name need not come from new_channel(): send()
    # accepts any name, and a group member must get group messages whether or not its
    # queue exists yet. Losing them silently (not counted in `dropped`, not logged) is a bug.
    layer = InMemoryChannelLayer()
    await layer.group_add("room", "worker.one")
    await layer.group_send("room", {"type": "job"})
    assert await drain(layer, "worker.one") == [{"type": "job"}]


async def test_flush_forgets_channels_and_groups() -> None:
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.send(channel, {"n": 1})
    await layer.flush()
    assert layer.members("room") == frozenset()
    assert await drain(layer, channel) == []


async def test_group_send_fans_out_to_a_thousand_members() -> None:
    layer = InMemoryChannelLayer()
    channels = [await layer.new_channel() for _ in range(1000)]
    for channel in channels:
        await layer.group_add("big", channel)
    assert len(layer.members("big")) == 1000
    message = {"type": "broadcast", "n": 1}
    await layer.group_send("big", message)
    received = await asyncio.wait_for(
        asyncio.gather(*(layer.receive(c) for c in channels)), TIMEOUT
    )
    assert len(received) == 1000
    assert all(r == message for r in received)
    assert layer.dropped == 0
    # Exactly once each: nothing more is waiting anywhere.
    await layer.group_send("big", {"type": "second"})
    seconds = await asyncio.wait_for(asyncio.gather(*(layer.receive(c) for c in channels)), TIMEOUT)
    assert all(s == {"type": "second"} for s in seconds)
