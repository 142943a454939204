"""Group events lost by a channel layer are reported, never silent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from generated.chat.payloads import Post
from generated.chat.routing import routes
from runtime import InMemoryChannelLayer, Router
from runtime.gaps import MAX_SENDERS, GapDetector
from runtime.testing import WebsocketClient


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


def test_the_detector_forgets_the_oldest_senders_first() -> None:
    gaps = GapDetector()
    for n in range(MAX_SENDERS + 10):
        gaps.check(_event("g", f"sender{n}", 1))
    assert gaps.check(_event("g", "sender0", 3)) == 0, "forgotten: starts over"
    assert gaps.check(_event("g", f"sender{MAX_SENDERS + 9}", 3)) == 1


class LossyLayer(InMemoryChannelLayer):
    """Drops every third group message without a word, as a full channels_redis does.

    Like channels_redis it has no watch extension, so sockets read it with a pump and
    check sequence numbers. (A layer with the extension reports its own drops.)
    """

    watch_channel = None

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.sent += 1
        if self.sent % 3:
            await super().group_send(group, message)


def test_a_layer_that_drops_group_events_is_reported_by_the_receiving_socket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        app = Router(routes, layer=LossyLayer())
        async with (
            WebsocketClient(app, "/ws/lossy/") as sender,
            WebsocketClient(app, "/ws/lossy/") as receiver,
        ):
            for n in range(6):
                await sender.request("post", Post(text=f"m{n}"), stream="chat")
            received = [await receiver.event("posted", stream="chat") for _ in range(4)]
            assert [r["text"] for r in received] == ["m0", "m1", "m3", "m4"]
            await receiver.expect_nothing()

    with caplog.at_level("WARNING", logger="runtime.gaps"):
        asyncio.run(asyncio.wait_for(scenario(), 10))
    reports = [r for r in caplog.records if r.name == "runtime.gaps"]
    # Both sockets are members and both miss m2, noticed when m3 arrives. m5, the last,
    # can only be noticed when a later event comes.
    assert len(reports) == 2, [r.getMessage() for r in reports]
    assert all("1 event(s)" in r.getMessage() for r in reports)
