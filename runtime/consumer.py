"""``JsonWebsocketConsumer``: typed JSON messages in, replies and events out.

A consumer serves one socket on its own route, or one stream of a socket behind a
``WebsocketDemultiplexer``; it never needs to know which. Generated base classes fill in
``dispatch_table``, ``connection_group_templates`` and typed send helpers; user classes
add the handler bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, Final, Protocol

from .connection import Connection
from .dispatch import DispatchTable, is_unimplemented
from .protocol import (
    BAD_FRAME,
    INTERNAL,
    Message,
    ProtocolError,
    decode_json,
    encode_json,
    error_frame,
    event_frame,
    parse_message,
    reply_frame,
)

__all__ = ["GROUP_EVENT", "FrameSink", "JsonWebsocketConsumer", "is_group_event"]

log = logging.getLogger(__name__)

# Layer message type carrying a group event; see group_send_event.
GROUP_EVENT: Final = "chgen.event"


def is_group_event(message: dict[str, Any]) -> bool:
    """True for chgen's group events; anything else on the layer is logged and dropped."""
    if message.get("type") == GROUP_EVENT:
        return True
    log.warning("dropped a layer message of unknown type %r", message.get("type"))
    return False


_current_message: ContextVar[Message] = ContextVar("chgen_current_message")


class FrameSink(Protocol):
    """Where a consumer's frames go: the socket itself, or a stream's multiplexer."""

    async def send_text(self, text: str) -> None: ...


class JsonWebsocketConsumer:
    consumer_name: ClassVar[str] = ""
    dispatch_table: ClassVar[DispatchTable] = DispatchTable(())
    connection_group_templates: ClassVar[tuple[str, ...]] = ()
    max_message_size: ClassVar[int] = 1 << 20  # characters of a text frame

    def __init__(
        self,
        connection: Connection,
        kwargs: Mapping[str, str],
        multiplexer: Any = None,
    ) -> None:
        self.connection = connection
        self.scope = connection.scope
        self.path: str = connection.scope.get("path", "")
        self.kwargs = dict(kwargs)
        self.multiplexer = multiplexer
        self.groups: tuple[str, ...] = ()
        self._sink: FrameSink = multiplexer if multiplexer is not None else connection

    @property
    def message(self) -> Message:
        """The message being handled (type, data, id, raw); only valid inside a handler."""
        try:
            return _current_message.get()
        except LookupError:
            raise RuntimeError("self.message is only set while a handler runs") from None

    # -- hooks a subclass may override -------------------------------------------------

    def connection_groups(self, **kwargs: str) -> list[str]:
        """Groups joined before accept and left on disconnect; formatted from route kwargs."""
        return [template.format(**kwargs) for template in self.connection_group_templates]

    async def connect(self) -> None:
        """Called once groups are joined. Accepts by default; close() here to refuse."""
        await self.accept()

    async def disconnect(self, code: int) -> None:
        """Called when the socket closes, whatever the reason; groups are left afterwards."""

    # -- actions ---------------------------------------------------------------------

    async def accept(self, subprotocol: str | None = None) -> None:
        await self.connection.accept(subprotocol)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason)

    async def send(self, content: Any) -> None:
        """Send any JSON-ready value as one frame (wrapped in the stream if multiplexed)."""
        await self._sink.send_text(encode_json(content))

    async def send_event(self, event: str, data: Any) -> None:
        await self._sink.send_text(encode_json(event_frame(event, data)))

    async def group_send_event(self, group: str, event: str, data: Any) -> None:
        """Send an event to every member of ``group`` that runs this kind of consumer.

        The frame is encoded once here; each member only wraps it in its own stream.
        """
        message = {
            "type": GROUP_EVENT,
            "group": group,
            "source": self.consumer_name,
            "frame": encode_json(event_frame(event, data)),
        }
        await self.connection.layer.group_send(group, message)

    # -- driven by the root or the demultiplexer --------------------------------------

    async def join_groups(self) -> None:
        self.groups = tuple(self.connection_groups(**self.kwargs))
        for group in self.groups:
            await self.connection.join(group)

    async def leave_groups(self) -> None:
        groups, self.groups = self.groups, ()
        for group in groups:
            await self.connection.leave(group)

    async def receive_json(self, content: Any) -> None:
        """Dispatch one decoded frame; every failure becomes an error frame."""
        message: Message | None = None
        try:
            message = parse_message(content)
            route = self.dispatch_table.lookup(message.type)
            payload = route.decode(message.data)
        except ProtocolError as exc:
            if message is not None:
                exc.id = message.id
            await self._sink.send_text(encode_json(exc.frame()))
            return
        token = _current_message.set(message)
        try:
            result = await route.call(self, payload)
            if message.id is None:
                return
            # A message with an id always gets one answer; without a reply type it is null.
            data = None if route.encode_reply is None else route.encode_reply(result)
            reply = encode_json(reply_frame(message.type, message.id, data))
        except Exception:
            log.exception("handler for %r in %s failed", message.type, type(self).__name__)
            reply = encode_json(error_frame(INTERNAL, "internal error", (), message.id))
        finally:
            _current_message.reset(token)
        await self._sink.send_text(reply)

    async def deliver_group_event(self, message: dict[str, Any]) -> None:
        """Forward a group event if this consumer sent its kind and is in its group."""
        if message["source"] == self.consumer_name and message["group"] in self.groups:
            await self._sink.send_text(message["frame"])

    @classmethod
    def missing_handlers(cls) -> list[str]:
        """Handlers of the dispatch table that no subclass implemented, as ``Class.method``."""
        return [
            f"{cls.__name__}.{route.method}"
            for route in cls.dispatch_table
            if route.method and is_unimplemented(getattr(cls, route.method, None))
        ]

    # -- as the root consumer of a socket (see runtime.asgi.serve) ---------------------

    async def on_connect(self) -> None:
        await self.join_groups()
        await self.connect()

    async def on_text(self, text: str) -> None:
        try:
            content = decode_json(text)
        except ProtocolError as exc:
            await self._sink.send_text(encode_json(exc.frame()))
            return
        await self.receive_json(content)

    async def on_bytes(self, data: bytes) -> None:
        frame = error_frame(BAD_FRAME, "binary frames are not accepted; send JSON text")
        await self._sink.send_text(encode_json(frame))

    async def on_disconnect(self, code: int) -> None:
        try:
            await self.disconnect(code)
        finally:
            await self.leave_groups()

    async def on_layer_message(self, message: dict[str, Any]) -> None:
        if is_group_event(message):
            await self.deliver_group_event(message)
