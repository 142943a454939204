"""``WebsocketDemultiplexer``: several stream consumers over one socket.

Frames travel as ``{"stream": S, "payload": <frame>}``. Each stream consumer gets a
``Multiplexer`` that wraps what it sends in its stream, so a consumer class works the
same on its own route or behind any stream name.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Any, ClassVar

from .connection import Connection
from .consumer import GROUP_EVENT, JsonWebsocketConsumer, RateLimited, drop_unknown
from .delivery import KEPT, NOTHING, ignored
from .hooks import keeps
from .multiplexer import Multiplexer
from .protocol import (
    UNKNOWN_STREAM,
    Detail,
    MessageId,
    ProtocolError,
    bad_json,
    binary_refused,
    parse_envelope,
    quote,
    salvage,
    salvaged_id,
    wrap,
)
from .recovery import recover, wants_recovery

__all__ = ["Multiplexer", "WebsocketDemultiplexer"]

log = logging.getLogger(__name__)


class WebsocketDemultiplexer(RateLimited):
    consumers: ClassVar[Mapping[str, type[JsonWebsocketConsumer]]] = {}
    max_message_size: ClassVar[int] = 1 << 20  # characters of a text frame
    multiplexer_class: ClassVar[type[Multiplexer]] = Multiplexer
    # Set for each class when it is defined (see chgen.runtime.hooks): True when it keeps
    # the stock on_layer_message, which its stream consumers' sockets may then skip; and
    # True when it keeps encode and encode_json, which its streams' frames may then skip.
    keeps_layer_delivery: ClassVar[bool] = True
    wraps_by_prefix: ClassVar[bool] = True
    _keeps_encode_json: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mux = cls.multiplexer_class
        if not (isinstance(mux, type) and issubclass(mux, Multiplexer)):
            raise TypeError(
                f"{cls.__name__}.multiplexer_class must be a subclass of "
                f"chgen.runtime.Multiplexer, got {mux!r}"
            )
        cls.keeps_layer_delivery = keeps(cls, WebsocketDemultiplexer, "on_layer_message")
        cls._keeps_encode_json = keeps(cls, WebsocketDemultiplexer, "encode_json")
        cls.wraps_by_prefix = cls._keeps_encode_json and keeps(
            cls, WebsocketDemultiplexer, "encode"
        )

    def __init__(self, connection: Connection, kwargs: Mapping[str, str]) -> None:
        self.connection = connection
        self.kwargs = dict(kwargs)
        self.streams: dict[str, JsonWebsocketConsumer] = {
            stream: consumer_class(
                connection, kwargs, self.multiplexer_class(stream, self, connection)
            )
            for stream, consumer_class in self.consumers.items()
        }
        self._known = ", ".join(sorted(self.streams)) or "(none)"

    @classmethod
    def encode(cls, stream: str, payload: Any) -> str:
        """The JSON text of ``payload`` wrapped for ``stream``, as clients receive it.

        Every frame of every stream is written by this: by default with the multiplexer
        class's ``encode``, or with this class's ``encode_json`` when it overrides that
        (which also writes the error frames that belong to no stream). Override either
        to change every envelope the socket sends.
        """
        if cls._keeps_encode_json:
            return cls.multiplexer_class.encode(stream, payload)
        return cls.encode_json(wrap(stream, payload))

    async def connect(self) -> None:
        """Called once every stream's groups are joined. Accepts by default."""
        await self.connection.accept()

    async def on_connect(self) -> None:
        token = wants_recovery(self.connection)
        if token is not None:
            # A client that recovers: hold live events from the joins until the replay.
            self.connection.delivery.hold()
        for consumer in self.streams.values():
            await consumer.join_groups()
        await self.connect()
        if self.connection.accepted and not self.connection.closed:
            for consumer in self.streams.values():
                if consumer.admitted:
                    await consumer.connect()
            if token is not None and not self.connection.closed:
                await recover(self.connection, self.streams, token, self.encode_json)

    def on_text(self, text: str) -> Awaitable[None]:
        # A plain function returning the coroutine to await: see JsonWebsocketConsumer.
        try:
            content = self.decode_json(text)
        except Exception as exc:
            return self._refuse_json(exc, salvage(text))
        # The usual frame, {"stream": <known stream>, "payload": ...}, in one step;
        # parse_envelope checks anything else and says what is wrong.
        if type(content) is dict and len(content) == 2 and "payload" in content:
            stream = content.get("stream")
            consumer = self.streams.get(stream) if type(stream) is str else None
            if consumer is not None:
                return consumer.on_content(content["payload"])
        return self._on_envelope(content)

    def _refuse_json(self, exc: Exception, salvaged: Any) -> Awaitable[None]:
        # A message with an id gets exactly one answer, also when its JSON is refused: in
        # its stream, if a lenient reader finds the envelope, else unwrapped with its id.
        payload = salvaged.get("payload") if type(salvaged) is dict else None
        stream = salvaged.get("stream") if type(salvaged) is dict else None
        consumer = self.streams.get(stream) if type(stream) is str else None
        if consumer is not None:
            return consumer.refuse_json(exc, payload)
        error = bad_json(exc)
        error.id = salvaged_id(payload)
        return self._stray(error.frame(), error.id)

    def _stray(self, frame: dict[str, Any], msg_id: MessageId | None = None) -> Awaitable[None]:
        """Send the error ``frame`` that answers a frame belonging to no stream,
        unwrapped; such frames count against the demultiplexer's own rate limit."""
        wait = self.over_limit()
        if wait:
            return self.refuse_over_limit(self.connection, wait, msg_id)
        return self.connection.send_text(self.encode_json(frame))

    def _on_envelope(self, content: Any) -> Awaitable[None]:
        try:
            envelope = parse_envelope(content)
            consumer = self.streams.get(envelope.stream)
            if consumer is None:
                raise ProtocolError(
                    UNKNOWN_STREAM,
                    f"unknown stream {quote(envelope.stream)}",
                    (Detail("$.stream", f"expected one of: {self._known}"),),
                )
        except ProtocolError as exc:
            # The frame belongs to no stream, so the error goes out unwrapped.
            return self._stray(exc.frame(), exc.id)
        return consumer.on_content(envelope.payload)

    def on_bytes(self, data: bytes) -> Awaitable[None]:
        return self._stray(binary_refused())

    async def on_disconnect(self, code: int) -> None:
        for stream, consumer in self.streams.items():
            try:
                await consumer.on_disconnect(code)
            except Exception:
                log.exception("disconnect of stream %r failed", stream)

    async def on_gap(self, group: str | None, lost: int | None, reason: str) -> None:
        for consumer in self.streams.values():
            await consumer.on_gap(group, lost, reason)

    def on_layer_message(self, message: dict[str, Any]) -> Awaitable[None]:
        # A plain function returning the coroutine to await: it runs for every delivery.
        if message.get("type") == GROUP_EVENT:
            # A group event goes to the streams running the consumer that sent it (or
            # listing the app event it is) and in its group, found by its source rather
            # than by asking every stream. A kept app event gets each stream's position.
            streams = _streams_by_source(type(self)).get(message.get("source"), ())
            if len(streams) == 1:
                consumer = self.streams[streams[0]]
                if message.get("group") in consumer.groups:
                    if KEPT in message:
                        return consumer.deliver_app_event(message)
                    return consumer.deliver_group_event(message)
                return NOTHING
            if not streams:
                ignored(message.get("source"))
                return NOTHING
            return self._deliver_to_streams(streams, message)
        return self._on_other_layer_message(message)

    async def _deliver_to_streams(self, streams: tuple[str, ...], message: dict[str, Any]) -> None:
        group = message.get("group")
        kept = KEPT in message
        for stream in streams:
            consumer = self.streams[stream]
            if group in consumer.groups:
                if kept:
                    await consumer.deliver_app_event(message)
                else:
                    await consumer.deliver_group_event(message)

    async def _on_other_layer_message(self, message: dict[str, Any]) -> None:
        handled = False
        for consumer in self.streams.values():
            handled = await consumer.receive_layer(message) or handled
        if not handled:
            drop_unknown(message)

    @classmethod
    def consumer_classes(cls) -> list[type[JsonWebsocketConsumer]]:
        """The consumer classes of the streams."""
        return list(cls.consumers.values())


_STREAMS_BY_SOURCE: dict[type[WebsocketDemultiplexer], dict[Any, tuple[str, ...]]] = {}


def _streams_by_source(demux: type[WebsocketDemultiplexer]) -> dict[Any, tuple[str, ...]]:
    """Group event source -> the streams of ``demux`` that deliver its events: those
    running the consumer of that name, or listing the app event (once per class)."""
    streams = _STREAMS_BY_SOURCE.get(demux)
    if streams is None:
        streams = {}
        for stream, consumer in demux.consumers.items():
            for source in (consumer.consumer_name, *sorted(consumer.app_event_sources)):
                streams[source] = (*streams.get(source, ()), stream)
        _STREAMS_BY_SOURCE[demux] = streams
    return streams
