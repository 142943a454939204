"""``Multiplexer``: a stream consumer's view of a multiplexed socket.

A stream consumer sends through its multiplexer, which wraps every frame in the stream's
envelope ``{"stream": S, "payload": <frame>}``; the consumer never needs to know its
stream name. A demultiplexer may replace the class (``multiplexer_class``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from .connection import Connection
from .hooks import keeps
from .protocol import JsonCodec

__all__ = ["Multiplexer"]


class Multiplexer:
    """``.stream``, ``.demultiplexer``, ``.send()`` and ``.send_text()``, as in Channels."""

    # Set for each class when it is defined (see chgen.runtime.hooks): True when it keeps
    # send_text and wrap_text, so that its frames need only the prefix and "}". Its
    # consumer then wraps them itself and writes to the connection, one call less.
    wraps_by_prefix: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.wraps_by_prefix = keeps(cls, Multiplexer, "send_text", "wrap_text")

    def __init__(self, stream: str, demultiplexer: JsonCodec, connection: Connection) -> None:
        self.stream = stream
        self.demultiplexer = demultiplexer
        self._connection = connection
        # Frames are wrapped by concatenation, prefix + frame + "}", so a group event
        # encoded once by its sender is never decoded and re-encoded per member.
        self.prefix = _prefix(stream)

    def wrap_text(self, frame_json: str) -> str:
        """The JSON text of a frame, wrapped in this stream's envelope."""
        return self.prefix + frame_json + "}"

    async def send(self, frame: Any) -> None:
        await self.send_text(self.demultiplexer.encode_json(frame))

    async def send_text(self, frame_json: str) -> None:
        await self._connection.send_text(self.wrap_text(frame_json))


# stream -> its envelope's opening text, shared by every socket (streams are few).
_PREFIXES: dict[str, str] = {}


def _prefix(stream: str) -> str:
    prefix = _PREFIXES.get(stream)
    if prefix is None:
        prefix = _PREFIXES[stream] = '{"stream":' + orjson.dumps(stream).decode() + ',"payload":'
    return prefix
