"""Group events lost by a channel layer are reported, never silent: logged once per gap by
the process that noticed it, and told to each socket that missed them as a gap frame."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chgen.runtime import InMemoryChannelLayer, Router
from chgen.runtime.delivery.gaps import MAX_SENDERS, GapDetector
from chgen.runtime.testing import WebsocketClient
from generated.chat.payloads import Post
from generated.chat.routing import routes


def _event(group: str, sender: str, seq: int) -> dict[str, Any]:
    return {"type": "chgen.event", "group": group, "sender": sender, "seq": seq}


def test_missing_sequence_numbers_are_counted_per_sender_and_group() -> None:
    gaps = GapDetector()
    assert [gaps.check(_event("a", "s1", n)) for n in (1, 2, 5)] == [0, 0, 2]
    assert gaps.check(_event("b", "s1", 9)) == 0, "the first event seen starts the count"
    assert gaps.check(_event("a", "s2", 1)) == 0
    assert gaps.check(_event("a", "s1", 4)) == 0, "a late event is not a gap"
    assert gaps.check({"type": "x.y", "text": "unnumbered"}) == 0
    assert gaps.lost == 2


def test_a_watermark_counts_every_event_up_to_its_number() -> None:
    gaps = GapDetector()
    assert [gaps.check(_event("a", "s1", n)) for n in (1, 2)] == [0, 0]
    assert gaps.check_watermark(_event("a", "s1", 4)) == 2, "3 and 4 never came"
    assert gaps.check(_event("a", "s1", 5)) == 0, "the next event after the watermark"
    assert gaps.check_watermark(_event("a", "s1", 5)) == 0, "everything arrived"
    assert gaps.check_watermark(_event("a", "s1", 3)) == 0, "a stale watermark"
    assert gaps.check(_event("a", "s1", 7)) == 1, "6 is still noticed after it"
    assert gaps.check_watermark(_event("a", "s2", 9)) == 0, "a new sender starts the count"
    assert gaps.check_watermark({"type": "chgen.watermark", "seq": "x"}) == 0
    assert gaps.lost == 3


def test_the_detector_forgets_the_oldest_senders_first() -> None:
    gaps = GapDetector()
    for n in range(MAX_SENDERS + 10):
        gaps.check(_event("g", f"sender{n}", 1))
    assert gaps.check(_event("g", "sender0", 3)) == 0, "forgotten: starts over"
    assert gaps.check(_event("g", f"sender{MAX_SENDERS + 9}", 3)) == 1


class LossyLayer(InMemoryChannelLayer):
    """Drops every third group message without a word, as a full channels_redis does.

    Like channels_redis it has no watch extension, so the process reads it through a
    relay, which checks sequence numbers. (A layer with the extension reports its own
    drops.)
    """

    watch_channel = None

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.sent += 1
        if self.sent % 3:
            await super().group_send(group, message)


async def test_a_layer_that_drops_group_events_is_reported_by_the_receiving_socket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("WARNING", logger="chgen.runtime.gaps")
    app = Router(routes, layer=LossyLayer())
    async with (
        WebsocketClient(app, "/ws/lossy/") as sender,
        WebsocketClient(app, "/ws/lossy/") as receiver,
    ):
        for n in range(6):
            await sender.request("post", Post(text=f"m{n}"), stream="chat")
        received = [await receiver.event("posted", stream="chat") for _ in range(4)]
        assert [r["text"] for r in received] == ["m0", "m1", "m3", "m4"]
        # Both sockets are members and both miss m2, noticed when m3 arrives; each is
        # told, in the stream of the consumer in the group. m5, the last, can only be
        # noticed when a later event comes.
        for client in (sender, receiver):
            gap = await client.gap(stream="chat")
            assert gap == {"lost": 1, "reason": "lost"}
        await receiver.expect_nothing()
    reports = [r.getMessage() for r in caplog.records if r.name == "chgen.runtime.gaps"]
    # Logged once, by the process, for its two sockets.
    assert len(reports) == 1, reports
    assert "1 event(s) from one sender never reached this process (2 socket(s)" in reports[0]


class TailLossLayer(InMemoryChannelLayer):
    """Drops the group events posted as "lost" without a word, and counts watermarks.

    No watch extension, like channels_redis: the relay checks sequence numbers.
    """

    watch_channel = None

    def __init__(self) -> None:
        super().__init__()
        self.watermarks: list[dict[str, Any]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if message.get("type") == "chgen.watermark":
            self.watermarks.append(message)
        elif '"text":"lost"' in message.get("frame", ""):
            return
        await super().group_send(group, message)


async def test_with_watermarks_a_loss_at_the_end_of_a_burst_is_reported_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("WARNING")
    layer = TailLossLayer()
    app = Router(routes, layer=layer, gap_watermark=0.05)
    async with (
        WebsocketClient(app, "/ws/tail/") as sender,
        WebsocketClient(app, "/ws/tail/") as receiver,
    ):
        for text in ("m0", "m1", "lost"):
            await sender.request("post", Post(text=text), stream="chat")
        received = [await receiver.event("posted", stream="chat") for _ in range(2)]
        assert [r["text"] for r in received] == ["m0", "m1"]
        # No later event comes; the watermark tells (0.05 s after the burst began).
        for _ in range(100):
            if any(r.name == "chgen.runtime.gaps" for r in caplog.records):
                break
            await asyncio.sleep(0.01)
        # Watermarks never reach a client; the gap they showed does.
        gap = await receiver.gap(stream="chat")
        assert gap == {"lost": 1, "reason": "lost"}
        await receiver.expect_nothing(0.1)
    reports = [r.getMessage() for r in caplog.records if r.name == "chgen.runtime.gaps"]
    assert len(reports) == 1, reports
    assert "1 event(s) from one sender never reached this process (2 socket(s)" in reports[0]
    assert not [r for r in caplog.records if "unknown type" in r.getMessage()]


async def test_a_quiet_sender_repeats_its_watermark_three_times_then_stops() -> None:
    layer = TailLossLayer()
    app = Router(routes, layer=layer, gap_watermark=0.02)
    async with WebsocketClient(app, "/ws/quiet/") as sender:
        for text in ("a", "b"):
            await sender.request("post", Post(text=text), stream="chat")
        # Announced at about 0.02, 0.04 and 0.08 s; then nothing more.
        await asyncio.sleep(0.5)
        assert [w["seq"] for w in layer.watermarks] == [2, 2, 2]
        await sender.request("post", Post(text="c"), stream="chat")
        await asyncio.sleep(0.5)
        assert [w["seq"] for w in layer.watermarks] == [2, 2, 2, 3, 3, 3]


async def test_no_watermarks_on_a_layer_that_reports_its_own_drops() -> None:
    sent: list[str] = []

    class Watched(InMemoryChannelLayer):
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            sent.append(message["type"])
            await super().group_send(group, message)

    app = Router(routes, layer=Watched(), gap_watermark=0.01)
    async with WebsocketClient(app, "/ws/watched/") as sender:
        await sender.request("post", Post(text="a"), stream="chat")
        await asyncio.sleep(0.1)
    assert sent == ["chgen.event"]


@pytest.mark.parametrize("delay", [0, -1.0])
def test_a_watermark_delay_must_be_positive(delay: float) -> None:
    with pytest.raises(ValueError, match="gap_watermark must be positive seconds"):
        Router(routes, gap_watermark=delay)
