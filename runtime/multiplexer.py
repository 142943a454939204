"""``Multiplexer``: a stream consumer's view of a multiplexed socket.

A stream consumer sends through its multiplexer, which wraps every frame in the stream's
envelope ``{"stream": S, "payload": <frame>}``; the consumer never needs to know its
stream name. A demultiplexer may replace the class (``multiplexer_class``).

Every frame of a stream, whatever sent it (a reply, an error, ``send``, a typed event, a
group event), ends in ``Multiplexer.send``, and its envelope is written by the
demultiplexer's ``encode`` (by default the multiplexer class's ``encode``, which calls its
``encode_json``). While none of those is overridden, the text of a frame the consumer
already encoded is wrapped by concatenation instead, and never decoded again: that is
where a group event encoded once by its sender reaches each member for the price of two
string joins.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, ClassVar, Protocol

import orjson

from .connection import Connection
from .hooks import keeps
from .protocol import encode_json, wrap

__all__ = ["EnvelopeWriter", "Multiplexer"]


class EnvelopeWriter(Protocol):
    """What a multiplexer needs of its demultiplexer: how an envelope is written, and
    whether the stock writer is kept (see ``WebsocketDemultiplexer``)."""

    wraps_by_prefix: ClassVar[bool]

    def encode(self, stream: str, payload: Any) -> str: ...


class Multiplexer:
    """``.stream``, ``.demultiplexer``, ``.send()``, ``encode`` and ``encode_json``, as in
    Channels."""

    # Set for each class when it is defined (see chgen.runtime.hooks): True when it keeps
    # send, send_text, encode and encode_json, so that its frames need only the prefix
    # and "}". Its consumer then wraps them itself and writes to the connection.
    wraps_by_prefix: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.wraps_by_prefix = keeps(cls, Multiplexer, "send", "send_text", "encode", "encode_json")

    def __init__(self, stream: str, demultiplexer: EnvelopeWriter, connection: Connection) -> None:
        self.stream = stream
        self.demultiplexer = demultiplexer
        self._connection = connection
        self.prefix = _prefix(stream)
        # Neither this class nor the demultiplexer's changes how an envelope is written.
        self.by_prefix = self.wraps_by_prefix and demultiplexer.wraps_by_prefix

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """The JSON text of one envelope, ``{"stream": S, "payload": <frame>}``. Override
        it (a class method, as in Channels) to change every frame of every stream."""
        return encode_json(content)

    @classmethod
    def encode(cls, stream: str, payload: Any) -> str:
        """The JSON text of ``payload`` wrapped for ``stream``, as clients receive it."""
        return cls.encode_json(wrap(stream, payload))

    async def send(self, payload: Any) -> None:
        """Send ``payload``, any JSON-ready value, as one frame of this stream. Every frame
        of the stream comes here when this class or the demultiplexer's changes the
        envelope; an override sees them all (replies, errors, events, group events)."""
        await self._connection.send_text(self.demultiplexer.encode(self.stream, payload))

    def send_text(self, frame_json: str) -> Awaitable[None]:
        """Send one frame already encoded by the consumer; await the result. Wrapped by
        concatenation while the envelope is the stock one, else decoded and handed to
        ``send``."""
        if self.by_prefix:
            return self._connection.send_text(self.prefix + frame_json + "}")
        return self.send(orjson.loads(frame_json))


# stream -> its envelope's opening text, shared by every socket (streams are few).
_PREFIXES: dict[str, str] = {}


def _prefix(stream: str) -> str:
    prefix = _PREFIXES.get(stream)
    if prefix is None:
        prefix = _PREFIXES[stream] = '{"stream":' + orjson.dumps(stream).decode() + ',"payload":'
    return prefix
