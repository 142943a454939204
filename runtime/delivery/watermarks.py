"""Watermarks: a sender says, after a burst, how many group events it sent.

A receiving socket notices a lost group event when a later event from the same sender
arrives (``gaps``). Events lost at the very end of a burst have no later event, so a
layer that drops without a word (channels_redis' core layer past its ``capacity``)
would lose them silently. With watermarks on, a sender that sent to a group puts a small
``chgen.watermark`` message on it shortly afterwards, carrying the last sequence number;
receivers check it like an event and never pass it on to consumers.

While a sender keeps sending to a group, it announces every ``delay`` seconds; once it
stops, it announces its last number three times, ``delay``, then twice and four times
that apart, so that one dropped watermark, or one that arrives before a backlog
drained, does not hide the tail either. Every member receives every watermark: a
shorter delay reports sooner and costs more layer traffic. Off by default, because a
hand-written Channels consumer in the same group needs a ``chgen_watermark`` method (see
docs/django.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Final

from ..layers import ChannelLayer, LayerUnavailable

__all__ = ["WATERMARK", "Watermarks"]

log = logging.getLogger("chgen.runtime.gaps")

# Layer message type of a watermark.
WATERMARK: Final = "chgen.watermark"
# Watermarks repeated for the same last number before the sender falls quiet.
REPEATS: Final = 3


class Watermarks:
    """One sender's watermarks: at most one pending per group it sends to."""

    def __init__(self, layer: ChannelLayer, delay: float) -> None:
        if delay <= 0:
            raise ValueError(f"the watermark delay must be positive seconds, got {delay!r}")
        self.layer = layer
        self.delay = delay
        # group -> (the last number announced, times announced) while one is pending
        self._pending: dict[str, tuple[int, int]] = {}
        self._sending: set[asyncio.Task[None]] = set()

    def sent(self, group: str, sender: str, numbers: Mapping[str, int]) -> None:
        """Called after each group send; ``numbers[group]`` is the sender's latest
        number, read again when the watermark goes out."""
        if group not in self._pending:
            self._schedule(group, sender, numbers, self.delay, announced=0, times=0)

    def _schedule(
        self,
        group: str,
        sender: str,
        numbers: Mapping[str, int],
        delay: float,
        announced: int,
        times: int,
    ) -> None:
        self._pending[group] = (announced, times)
        asyncio.get_running_loop().call_later(delay, self._fire, group, sender, numbers, delay)

    def _fire(self, group: str, sender: str, numbers: Mapping[str, int], delay: float) -> None:
        announced, times = self._pending.pop(group)
        seq = numbers[group]
        message: dict[str, Any] = {"type": WATERMARK, "group": group, "sender": sender, "seq": seq}
        task = asyncio.ensure_future(self.layer.group_send(group, message))
        self._sending.add(task)
        task.add_done_callback(self._sent)
        if seq != announced:  # still sending: the next one after the usual delay
            self._schedule(group, sender, numbers, self.delay, seq, 1)
        elif times + 1 < REPEATS:  # quiet: repeat, further apart
            self._schedule(group, sender, numbers, delay * 2, seq, times + 1)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        # An outage is logged once, where the layer failed; a watermark lost in it is not
        # news, and its group's sockets hear of the outage anyway.
        if error is not None and not isinstance(error, LayerUnavailable):
            log.warning("could not send a watermark: %s", error)
