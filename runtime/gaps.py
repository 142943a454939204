"""Reported gaps: group events carry a per-sender sequence number, so loss is never silent.

Some channel layers drop messages without a word (channels_redis' core layer past its
``capacity``). Each socket numbers the group events it sends, per group; each receiving
socket checks the numbers and logs how many events of a sender it never got.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections import OrderedDict, defaultdict
from typing import Any, Final

__all__ = ["GapDetector", "Sequencer"]

log = logging.getLogger("runtime.gaps")

# Senders remembered per receiving socket; the oldest are forgotten first.
MAX_SENDERS: Final = 1024


class Sequencer:
    """The sending side: a sender id and a counter per group."""

    def __init__(self) -> None:
        self.sender = uuid.uuid4().hex[:16]
        self._counters: defaultdict[str, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )

    def stamp(self, group: str) -> dict[str, Any]:
        return {"sender": self.sender, "seq": next(self._counters[group])}


class GapDetector:
    """The receiving side: notices and counts events that never arrived."""

    def __init__(self) -> None:
        self.lost = 0
        self._last: OrderedDict[tuple[str, str], int] = OrderedDict()

    def check(self, message: dict[str, Any]) -> int:
        """How many events of this sender in this group were skipped before ``message``."""
        sender, seq = message.get("sender"), message.get("seq")
        if not isinstance(sender, str) or not isinstance(seq, int):
            return 0  # sent by something that does not number its events
        key = (str(message.get("group")), sender)
        last = self._last.pop(key, None)
        self._last[key] = seq if last is None else max(seq, last)
        if len(self._last) > MAX_SENDERS:
            self._last.popitem(last=False)
        missed = 0 if last is None else seq - last - 1
        if missed > 0:
            self.lost += missed
            log.warning(
                "group %s: %d event(s) from one sender never reached this socket; the "
                "channel layer dropped them (for channels_redis, raise its capacity)",
                key[0],
                missed,
            )
        return max(missed, 0)
