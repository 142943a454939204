"""Reported gaps: group events carry a per-sender sequence number, so loss is never silent.

Some channel layers drop messages without a word (channels_redis' core layer past its
``capacity``, or any layer while Redis restarts). Each socket numbers the group events it
sends, per group; where they arrive (a process's relay of the group, see ``relay``) the
numbers are checked, and the events of a sender that never came are counted, logged and
reported to the sockets that missed them. The logger keeps its first name,
``chgen.runtime.gaps``: log configurations and monitors know it.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from .watermarks import WATERMARK, Watermarks

__all__ = ["GapDetector", "Sequencer"]

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

    def unstamp(self, group: str, seq: int) -> None:
        """The event numbered ``seq`` was never sent (the layer failed): give its number
        to the next one, unless a later event has one already, so that receivers do not
        count as lost an event whose sender was told it failed."""
        if self._last.get(group) == seq:
            self._last[group] = seq - 1


class GapDetector:
    """The receiving side: notices and counts events that never arrived."""

    __slots__ = ("_last", "lost")

    def __init__(self) -> None:
        self.lost = 0
        # (group, sender) -> highest seq seen; a plain dict kept in least-recently-seen
        # order (pop and reinsert), so the oldest sender is the first key.
        self._last: dict[tuple[str, str], int] = {}

    def missed(self, message: dict[str, Any]) -> int:
        """How many events ``message`` (an event or a watermark) shows were missed."""
        if message.get("type") == WATERMARK:
            return self.check_watermark(message)
        return self.check(message)

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
        """Remember ``seq`` as seen from ``key``; count the events numbered up to
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
        return missed
