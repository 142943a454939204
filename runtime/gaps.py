"""Reported gaps: group events carry a per-sender sequence number, so loss is never silent.

Some channel layers drop messages without a word (channels_redis' core layer past its
``capacity``). Each socket numbers the group events it sends, per group; each receiving
socket checks the numbers and logs how many events of a sender it never got.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections import defaultdict
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

    __slots__ = ("_last", "lost")

    def __init__(self) -> None:
        self.lost = 0
        # (group, sender) -> highest seq seen; a plain dict kept in least-recently-seen
        # order (pop and reinsert), so the oldest sender is the first key.
        self._last: dict[tuple[str, str], int] = {}

    def check(self, message: dict[str, Any]) -> int:
        """How many events of this sender in this group were skipped before ``message``.

        Runs for every group event a socket receives, so the usual case (the next number
        from a known sender) takes the fewest steps.
        """
        group, sender, seq = message.get("group"), message.get("sender"), message.get("seq")
        if type(group) is str and type(sender) is str and type(seq) is int:
            key = (group, sender)
            last = self._last.pop(key, None)
            if last is not None and seq == last + 1:
                self._last[key] = seq
                return 0
            return self._record(key, seq, last)
        if not isinstance(sender, str) or not isinstance(seq, int):
            return 0  # sent by something that does not number its events
        key = (group if isinstance(group, str) else str(group), sender)
        return self._record(key, seq, self._last.pop(key, None))

    def _record(self, key: tuple[str, str], seq: int, last: int | None) -> int:
        """Remember ``seq`` as the latest of ``key``; count and log the events skipped."""
        if last is None:
            self._last[key] = seq
            if len(self._last) > MAX_SENDERS:
                del self._last[next(iter(self._last))]
            return 0
        if seq <= last + 1:  # the next one, or a late one (not a gap)
            self._last[key] = seq if seq > last else last
            return 0
        self._last[key] = seq
        missed = seq - last - 1
        self.lost += missed
        log.warning(
            "group %s: %d event(s) from one sender never reached this socket; the "
            "channel layer dropped them (for channels_redis, raise its capacity)",
            key[0],
            missed,
        )
        return missed
