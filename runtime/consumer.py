"""``JsonWebsocketConsumer``: typed JSON messages in, replies and events out.

A consumer serves one socket on its own route, or one stream of a socket behind a
``WebsocketDemultiplexer``; it never needs to know which. Generated base classes fill in
``dispatch_table``, ``connection_group_templates`` and typed send helpers; user classes
add the handler bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, Protocol

from .base import GROUP_EVENT, BaseConsumer, drop_unknown, is_authenticated
from .connection import Connection
from .defaults import MAX_CONCURRENCY
from .dispatch import DispatchTable, MessageRoute
from .multiplexer import Multiplexer
from .protocol import (
    BAD_FRAME,
    FORBIDDEN,
    INTERNAL,
    JsonCodec,
    Message,
    MessageId,
    ProtocolError,
    bad_json,
    error_frame,
    event_frame,
    parse_message,
)

__all__ = [
    "GROUP_EVENT",
    "FrameSink",
    "JsonWebsocketConsumer",
    "drop_unknown",
    "is_authenticated",
]

log = logging.getLogger(__name__)

# The raw frame being handled; self.message parses it again on demand, so the common
# handler that never looks pays nothing for it.
_current_frame: ContextVar[Mapping[str, Any]] = ContextVar("chgen_current_frame")


class FrameSink(Protocol):
    """Where a consumer's frames go: the socket itself, or a stream's multiplexer."""

    def send_text(self, text: str) -> Awaitable[None]: ...


class JsonWebsocketConsumer(JsonCodec, BaseConsumer):
    dispatch_table: ClassVar[DispatchTable] = DispatchTable(())
    # True: one message at a time, in arrival order. False: up to max_concurrency handlers
    # of this consumer run at once; the socket is not read while all slots are busy.
    strict_ordering: ClassVar[bool] = True
    max_concurrency: ClassVar[int] = MAX_CONCURRENCY

    def __init__(
        self,
        connection: Connection,
        kwargs: Mapping[str, str],
        multiplexer: Any = None,
    ) -> None:
        super().__init__(connection, kwargs)
        self.multiplexer = multiplexer
        # Where frames go. A stock multiplexer only wraps text (prefix + frame + "}"),
        # so its consumer wraps and writes to the connection itself, one call less per
        # frame; a custom multiplexer class (one that overrides send_text or wrap_text)
        # gets every frame.
        self._sink: FrameSink = connection
        self._prefix: str | None = None
        if multiplexer is not None:
            kind = type(multiplexer)
            if kind.send_text is Multiplexer.send_text and kind.wrap_text is Multiplexer.wrap_text:
                self._prefix = multiplexer.prefix
            else:
                self._sink = multiplexer
        # Only consumers without strict ordering run handlers as tasks; the others never
        # pay for the bookkeeping (it matters with thousands of idle sockets).
        self._inflight: set[asyncio.Task[None]] | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def message(self) -> Message:
        """The message being handled (type, data, id, raw); only valid inside a handler."""
        try:
            frame = _current_frame.get()
        except LookupError:
            raise RuntimeError("self.message is only set while a handler runs") from None
        return parse_message(frame)

    # -- hooks a subclass may override -------------------------------------------------

    async def receive(self, content: Any) -> None:
        """Called with each decoded frame from the client; dispatches it by default.

        Override for untyped handling (Channels' ``receive(content)``), and call
        ``self.dispatch(content)`` for what the spec maps.
        """
        await self.dispatch(content)

    # -- actions ---------------------------------------------------------------------

    async def send(self, content: Any) -> None:
        """Send any JSON-ready value as one frame (wrapped in the stream if multiplexed)."""
        await self.send_text(self.encode_json(content))

    async def send_event(self, event: str, data: Any) -> None:
        await self.send_text(self.encode_json(event_frame(event, data)))

    def send_text(self, frame_json: str) -> Awaitable[None]:
        """Send one already-encoded frame (wrapped in the stream if multiplexed); await
        the result. A plain function: every reply and group event comes through here."""
        if self._prefix is not None:
            frame_json = self._prefix + frame_json + "}"
        return self._sink.send_text(frame_json)

    # group_send_event and group_send, like send_text, are plain functions that return
    # the layer's coroutine: await the result.

    def group_send_event(self, group: str, event: str, data: Any) -> Awaitable[None]:
        """Send an event to every member of ``group`` that runs this kind of consumer."""
        return self.group_send(group, event_frame(event, data))

    def group_send(self, group: str, content: Any) -> Awaitable[None]:
        """Send any JSON value as one frame to every member of ``group`` that runs this
        kind of consumer, each inside its own stream.

        The frame is encoded once here; members only wrap it. Channels consumers in the
        group receive it as ``{"type": "chgen.event", ...}`` (their ``chgen_event``).
        """
        return self.group_send_frame(group, {"frame": self.encode_json(content)})

    # -- dispatch ----------------------------------------------------------------------

    @classmethod
    def channel_names(cls) -> list[str]:
        """The message types this consumer handles: from clients, then from the layer."""
        return [r.msg_type for r in cls.dispatch_table] + super().channel_names()

    @classmethod
    def handler_methods(cls) -> list[str]:
        return [r.method for r in cls.dispatch_table if r.method] + super().handler_methods()

    # on_content, dispatch and on_text are plain functions that return the coroutine to
    # await, not coroutines themselves: each await layer is paid on every message, and
    # these only decide where a frame goes.

    def on_content(self, content: Any) -> Awaitable[None]:
        """A decoded frame from the client: to ``receive``, or straight to ``dispatch``
        when the class keeps the default ``receive``."""
        if type(self).receive is _default_receive:
            return self.dispatch(content)
        return self.receive(content)

    def dispatch(self, content: Any) -> Awaitable[None]:
        """Dispatch one decoded frame through the table; every failure becomes an error
        frame. Await the result."""
        # The usual request, {"type": <known type>, "id": <id>, "data": {...}}, in one
        # step; parse_message checks anything else and says what is wrong.
        if type(content) is dict and len(content) == 3:
            msg_type = content.get("type")
            msg_id = content.get("id")
            data = content.get("data")
            if (
                type(msg_type) is str
                and (type(msg_id) is int or type(msg_id) is str)
                and type(data) is dict
            ):
                return self._dispatch(msg_type, msg_id, data, content)
        try:
            message = parse_message(content)
        except ProtocolError as exc:
            return self.send_text(self.encode_json(exc.frame()))
        return self._dispatch(message.type, message.id, message.data, content)

    def _dispatch(
        self, msg_type: str, msg_id: MessageId | None, data: Any, frame: Mapping[str, Any]
    ) -> Awaitable[None]:
        try:
            route = self.dispatch_table.lookup(msg_type)
            payload = route.decode(data)
            if not self.admitted:
                raise ProtocolError(FORBIDDEN, "login required")
        except ProtocolError as exc:
            exc.id = msg_id
            return self.send_text(self.encode_json(exc.frame()))
        if self.strict_ordering:
            return self._handle(route, msg_id, frame, payload)
        return self._start(route, msg_id, frame, payload)

    async def _start(
        self, route: MessageRoute, msg_id: MessageId | None, frame: Mapping[str, Any], payload: Any
    ) -> None:
        if self._slots is None or self._inflight is None:
            self._slots = asyncio.Semaphore(self.max_concurrency)
            self._inflight = set()
        await self._slots.acquire()  # backpressure: stop reading while every slot is busy
        task = asyncio.create_task(self._handle(route, msg_id, frame, payload))
        self._inflight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        assert self._inflight is not None and self._slots is not None
        self._inflight.discard(task)
        self._slots.release()

    async def _handle(
        self, route: MessageRoute, msg_id: MessageId | None, frame: Mapping[str, Any], payload: Any
    ) -> None:
        msg_type = route.msg_type
        token = _current_frame.set(frame)
        try:
            result = await self.get_handler(route)(self, payload)
            if msg_id is None:
                return
            # A message with an id always gets one answer; without a reply type it is null.
            data = None if route.encode_reply is None else route.encode_reply(result)
            reply = self.encode_json({"type": msg_type, "id": msg_id, "data": data})
        except ProtocolError as exc:
            # A handler (or a decorator around it) refusing on purpose, e.g. `forbidden`.
            exc.id = msg_id
            reply = self.encode_json(exc.frame())
        except Exception:
            log.exception("handler for %r in %s failed", msg_type, type(self).__name__)
            reply = self.encode_json(error_frame(INTERNAL, "internal error", (), msg_id))
        finally:
            _current_frame.reset(token)
        if self._prefix is not None:  # send_text(), inlined: this runs for every reply
            reply = self._prefix + reply + "}"
        await self._sink.send_text(reply)

    def deliver_group_event(self, message: dict[str, Any]) -> Awaitable[None]:
        return self.send_text(message["frame"])

    async def join_groups(self) -> None:
        await super().join_groups()
        prefix = self._forward_prefix()
        if prefix is not None:
            for group in self.groups:
                self.connection.forward_group_events(group, self.consumer_name, prefix)

    async def leave_groups(self) -> None:
        prefix = self._forward_prefix()
        if prefix is not None:
            for group in self.groups:
                self.connection.stop_forwarding(group, self.consumer_name, prefix)
        await super().leave_groups()

    def _forward_prefix(self) -> str | None:
        """How the socket may send this consumer's group events itself: "" as they are,
        a stream's envelope prefix, or None when an overridden hook must see each one.

        Forwarding skips on_layer_message, receive_layer, deliver_group_event and
        send_text (of this class, of its demultiplexer), so any override of them turns
        it off; a custom multiplexer class does too.
        """
        from .demux import WebsocketDemultiplexer  # demux builds on this module

        cls = type(self)
        if (
            cls.deliver_group_event is not JsonWebsocketConsumer.deliver_group_event
            or cls.send_text is not JsonWebsocketConsumer.send_text
        ):
            return None
        if self.multiplexer is None:
            if (
                cls.on_layer_message is not BaseConsumer.on_layer_message
                or cls.receive_layer is not BaseConsumer.receive_layer
            ):
                return None
            return ""
        demux = getattr(self.multiplexer, "demultiplexer", None)
        if (
            self._prefix is None
            or not isinstance(demux, WebsocketDemultiplexer)
            or type(demux).on_layer_message is not WebsocketDemultiplexer.on_layer_message
        ):
            return None
        return self._prefix

    # -- as the root consumer of a socket (see chgen.runtime.asgi.serve) ---------------------

    def on_text(self, text: str) -> Awaitable[None]:
        try:
            content = self.decode_json(text)
        except Exception as exc:
            return self.send_text(self.encode_json(bad_json(exc).frame()))
        return self.on_content(content)

    async def on_bytes(self, data: bytes) -> None:
        frame = error_frame(BAD_FRAME, "binary frames are not accepted; send JSON text")
        await self.send_text(self.encode_json(frame))

    async def cancel_inflight(self) -> None:
        """Stop handlers still running when the socket closed; nobody can get their reply."""
        tasks = list(self._inflight or ())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


_default_receive = JsonWebsocketConsumer.receive
