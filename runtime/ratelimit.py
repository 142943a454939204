"""Per-socket inbound rate limits: a token bucket per consumer, and what counts as a flood.

A consumer admits ``rate`` messages a second from one socket on average, and bursts of up
to ``burst`` at once (a client replaying its queue after a reconnect sends a burst). A
message over the limit is answered with ``rate_limited`` and a retry-after, and never
reaches a handler. A socket that keeps going over its limit, with no second free of
refusals, for ``flood_seconds`` is flooding: it is closed with 1008.

This module imports nothing beyond the standard library, so that ``chgen.spec`` can read
the defaults without loading the runtime.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FLOOD_SECONDS", "RATE_BURST", "RATE_PER_SECOND", "Meter"]

# Defaults: a person, or a game sending 60 updates a second, stays far below; a client
# replaying its queue of up to 256 frames after a reconnect fits in one burst.
RATE_PER_SECOND: Final = 100.0
RATE_BURST: Final = 300
FLOOD_SECONDS: Final = 10.0
# Refusals further apart than this (seconds) end a flood: the client slowed down.
_CALM: Final = 1.0


class Meter:
    """One consumer's bucket on one socket, and the flood it may be in."""

    __slots__ = ("_burst", "_flood_seconds", "_last_refusal", "_rate", "_stamp", "_tokens",
                 "flood_since", "refused")  # fmt: skip

    def __init__(self, rate: float, burst: int, flood_seconds: float, now: float) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._flood_seconds = flood_seconds
        self._tokens = float(burst)
        self._stamp = now
        self._last_refusal = -_CALM - 1.0
        self.flood_since = 0.0
        self.refused = 0  # messages refused in the current flood

    def wait(self, now: float) -> float:
        """Take one message's token at time ``now`` (seconds, monotonic): 0.0 if the
        message is admitted, else the seconds until it would be."""
        tokens = self._tokens + (now - self._stamp) * self._rate
        self._stamp = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0 if tokens <= self._burst else self._burst - 1.0
            return 0.0
        self._tokens = tokens
        return (1.0 - tokens) / self._rate

    def flooding(self, now: float) -> bool:
        """Count a refusal at ``now``; True once refusals have gone on, never a second
        apart, for ``flood_seconds``: the socket should be closed."""
        if now - self._last_refusal > _CALM:
            self.flood_since = now
            self.refused = 0
        self._last_refusal = now
        self.refused += 1
        return now - self.flood_since >= self._flood_seconds
