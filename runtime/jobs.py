"""Jobs: the channel-layer messages a worker reads from its channel, and their names.

A job is a Channels-style layer message sent to one named channel (``layer.send``, not
a group): ``{"type": "resize", "width": 640, ...}``, the payload's fields beside its
type, as a hand-written Channels producer would write it. Whichever worker process reads
the channel first takes the job.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["CHANNEL_NAME", "JOB_TYPE", "job_message"]

# A channel every process shares: what Channels' layers accept (letters, digits, "-",
# "_" and "."; under 100 characters), without "!", which marks a channel of one process.
CHANNEL_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,99}\Z")
# A job type, as a layer message type: lowercase names joined by dots ("image.resize").
JOB_TYPE: Final = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\Z")


def job_message(job: str, data: dict[str, Any]) -> dict[str, Any]:
    """The layer message carrying a ``job`` with the encoded payload ``data``."""
    return {"type": job, **data}
