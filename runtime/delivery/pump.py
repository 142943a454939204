"""Reading one channel of a layer without the watch extension (channels_redis, Channels' own).

One task per channel blocks in the layer's ``receive`` and hands each message on. A layer
can fail for a while (Redis restarting): a failed receive is reported and retried,
further apart each time but at least once a second, until the task is cancelled; what to
do about the outage is the caller's business (``relay``). A receive that fails only after
waiting a long time timed out while idle (redis-py's ``socket_timeout``), which is no
failure at all: it is read again at once. One that times out sooner is a failure: the
layer's blocking read outlasts the socket's timeout, and a message it was about to return
can be lost (see docs/django.md on ``socket_timeout``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from ..layers import ChannelLayer

__all__ = ["IDLE_TIMEOUT_THRESHOLD", "RECEIVE_RETRY_DELAYS", "pump"]

# Seconds before each retry of a failing receive; the last one repeats.
RECEIVE_RETRY_DELAYS: Final = (0.05, 0.1, 0.2, 0.5, 1.0)
# A receive that fails after waiting at least this long (seconds) timed out while idle.
IDLE_TIMEOUT_THRESHOLD: Final = 1.0


async def pump(
    layer: ChannelLayer,
    channel: str,
    deliver: Callable[[dict[str, Any]], Awaitable[None]],
    failed: Callable[[Exception], None],
) -> None:
    """Read ``channel`` until cancelled, awaiting ``deliver(message)`` for each message
    (it must not raise); call ``failed(exc)`` for each receive that failed."""
    loop = asyncio.get_running_loop()
    failures = 0
    while True:
        started = loop.time()
        try:
            message = await layer.receive(channel)
        except Exception as exc:
            if loop.time() - started >= IDLE_TIMEOUT_THRESHOLD:
                continue  # redis-py's socket_timeout on an idle channel
            failed(exc)
            await asyncio.sleep(RECEIVE_RETRY_DELAYS[min(failures, len(RECEIVE_RETRY_DELAYS) - 1)])
            failures += 1
            continue
        failures = 0
        await deliver(message)
