"""Reported gaps: group events carry a per-sender sequence number, so loss is never silent.

Some channel layers drop messages without a word (channels_redis' core layer past its
``capacity``). Each socket numbers the group events it sends, per group; each receiving
socket checks the numbers and logs how many events of a sender it never got. The logger
keeps its first name, ``chgen.runtime.gaps``: log configurations and monitors know it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

from .watermarks import WATERMARK, Watermarks

__all__ = ["GapDetector", "Sequencer"]

log = logging.getLogger("chgen.runtime.gaps")

# Senders remembered per receiving socket; the oldest are forgotten first.
MAX_SENDERS: Final = 1024


class Sequencer:
    """The sending side: a sender id and a counter per group, and the sender's
    watermarks if they are on (chgen.runtime.delivery.watermarks)."""

    def __init__(self, watermarks: Watermarks | None = None) -> None:
        self.sender = uuid.uuid4().hex[:16]
        self._last: dict[str, int] = {}
        self._watermarks = watermarks

    def stamp(self, group: str) -> dict[str, Any]:
        seq = self._last[group] = self._last.get(group, 0) + 1
        if self._watermarks is not None:
            self._watermarks.sent(group, self.sender, self._last)
        return {"sender": self.sender, "seq": seq}


class GapDetector:
    """The receiving side: notices and counts events that never arrived."""

    __slots__ = ("_last", "lost")

    def __init__(self) -> None:
        self.lost = 0
        # (group, sender) -> highest seq seen; a plain dict kept in least-recently-seen
        # order (pop and reinsert), so the oldest sender is the first key.
        self._last: dict[tuple[str, str], int] = {}

    def admits(self, message: dict[str, Any]) -> bool:
        """Check a numbered ``message`` for gaps; False for a watermark, which is for this
        check alone and goes no further."""
        if message.get("type") == WATERMARK:
            self.check_watermark(message)
            return False
        self.check(message)
        return True

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
            return self._record(key, seq - 1, seq, last)
        if not isinstance(sender, str) or not isinstance(seq, int):
            return 0  # sent by something that does not number its events
        key = (group if isinstance(group, str) else str(group), sender)
        return self._record(key, seq - 1, seq, self._last.pop(key, None))

    def check_watermark(self, message: dict[str, Any]) -> int:
        """How many events of this sender in this group never came, given its watermark:
        every event up to and including the watermark's number should have."""
        group, sender, seq = message.get("group"), message.get("sender"), message.get("seq")
        if type(group) is not str or type(sender) is not str or type(seq) is not int:
            return 0
        key = (group, sender)
        return self._record(key, seq, seq, self._last.pop(key, None))

    def _record(self, key: tuple[str, str], through: int, seq: int, last: int | None) -> int:
        """Remember ``seq`` as seen from ``key``; count and log the events numbered up to
        ``through`` that never arrived."""
        if last is None:  # the first word from this sender starts the count
            self._last[key] = seq
            if len(self._last) > MAX_SENDERS:
                del self._last[next(iter(self._last))]
            return 0
        self._last[key] = seq if seq > last else last  # a late one is not a gap
        missed = through - last
        if missed <= 0:
            return 0
        self.lost += missed
        log.warning(
            "group %s: %d event(s) from one sender never reached this socket; the "
            "channel layer dropped them (for channels_redis, raise its capacity)",
            key[0],
            missed,
        )
        return missed
