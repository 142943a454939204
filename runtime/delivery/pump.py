"""Reading a channel of a layer without the watch extension (channels_redis, Channels' own).

One task per socket blocks in the layer's ``receive`` and hands each message on. A layer
can fail for a while (Redis restarting): a failed receive is retried, further apart each
time, and after the last retry the socket is closed rather than left silently deaf to its
groups. A receive that fails only after waiting a long time timed out while idle, which
is no failure at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..layers import ChannelLayer

__all__ = ["IDLE_TIMEOUT_THRESHOLD", "RECEIVE_RETRY_DELAYS", "pump"]

log = logging.getLogger(__name__)

# Seconds between retries of a failing layer receive; after the last, the socket closes.
RECEIVE_RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)
# A receive that fails after waiting at least this long (seconds) timed out while idle.
IDLE_TIMEOUT_THRESHOLD = 1.0


async def pump(
    layer: ChannelLayer,
    channel: str,
    deliver: Callable[[dict[str, Any]], Awaitable[None]],
    give_up: Callable[[], Awaitable[None]],
) -> None:
    """Read ``channel`` until cancelled, awaiting ``deliver(message)`` for each message
    (it must not raise); await ``give_up()`` and return once the layer stays unavailable."""
    loop = asyncio.get_running_loop()
    failures = 0
    while True:
        started = loop.time()
        try:
            message = await layer.receive(channel)
        except Exception:
            if loop.time() - started >= IDLE_TIMEOUT_THRESHOLD:
                # redis-py's socket_timeout on an idle channel: not the layer failing.
                log.debug("channel layer receive timed out while idle; reading again")
                continue
            if failures == len(RECEIVE_RETRY_DELAYS):
                log.exception("channel layer unavailable; closing the socket")
                await give_up()
                return
            log.warning("channel layer receive failed; retrying", exc_info=True)
            await asyncio.sleep(RECEIVE_RETRY_DELAYS[failures])
            failures += 1
            continue
        failures = 0
        await deliver(message)
