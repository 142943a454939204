"""``JsonWebsocketConsumer``: typed JSON messages in, replies and events out.

A consumer serves one socket on its own route, or one stream of a socket behind a
``WebsocketDemultiplexer``; it never needs to know which. Generated base classes fill in
``dispatch_table``, ``connection_group_templates`` and typed send helpers; user classes
add the handler bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, Final, Protocol

from .connection import Connection
from .dispatch import DispatchTable, Handler, MessageRoute, is_unimplemented
from .protocol import (
    BAD_FRAME,
    FORBIDDEN,
    INTERNAL,
    Message,
    ProtocolError,
    decode_json,
    decode_with,
    encode_json,
    error_frame,
    event_frame,
    parse_message,
    reply_frame,
)

__all__ = [
    "GROUP_EVENT",
    "FrameSink",
    "JsonWebsocketConsumer",
    "drop_unknown",
    "is_authenticated",
]

log = logging.getLogger(__name__)

# Layer message type carrying a group event; see group_send_event.
GROUP_EVENT: Final = "chgen.event"


def is_authenticated(user: Any) -> bool:
    """Django users say so themselves; any other non-None user counts as authenticated."""
    return user is not None and getattr(user, "is_authenticated", True) is True


def drop_unknown(message: dict[str, Any]) -> None:
    # Channels closes the socket here; one stray message must not cost a connection.
    log.warning("dropped a layer message of unknown type %r", message.get("type"))


_current_message: ContextVar[Message] = ContextVar("chgen_current_message")


class FrameSink(Protocol):
    """Where a consumer's frames go: the socket itself, or a stream's multiplexer."""

    async def send_text(self, text: str) -> None: ...


class JsonWebsocketConsumer:
    consumer_name: ClassVar[str] = ""
    dispatch_table: ClassVar[DispatchTable] = DispatchTable(())
    layer_table: ClassVar[DispatchTable] = DispatchTable(())  # channel-layer message types
    connection_group_templates: ClassVar[tuple[str, ...]] = ()
    max_message_size: ClassVar[int] = 1 << 20  # characters of a text frame
    # True: one message at a time, in arrival order. False: up to max_concurrency handlers
    # of this consumer run at once; the socket is not read while all slots are busy.
    strict_ordering: ClassVar[bool] = True
    max_concurrency: ClassVar[int] = 16
    # Refuse anonymous users: a routed consumer refuses the handshake, a stream consumer
    # answers every message with `forbidden`. The user comes from scope["user"].
    login_required: ClassVar[bool] = False
    # The spec says a user must come with the socket (Channels' http_user): a socket whose
    # scope has no "user" at all means the auth middleware is missing, and is refused.
    http_user: ClassVar[bool] = False

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
        self.admitted = self._admit()
        self._sink: FrameSink = multiplexer if multiplexer is not None else connection
        self._inflight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.max_concurrency)

    def _admit(self) -> bool:
        if (self.http_user or self.login_required) and "user" not in self.scope:
            log.error(
                "%s needs a user, but nothing put one in the scope: wrap the app in "
                "Channels' AuthMiddlewareStack or pass Router(authenticate=...)",
                type(self).__name__,
            )
            return False
        return not self.login_required or is_authenticated(self.user)

    @property
    def user(self) -> Any:
        """``scope["user"]``: Django's user behind AuthMiddlewareStack, or what the
        router's ``authenticate`` returned; None when nothing authenticated the socket."""
        return self.scope.get("user")

    @property
    def session(self) -> dict[str, Any]:
        """A dict that lives as long as the socket, shared by its stream consumers."""
        return self.connection.session

    @property
    def message(self) -> Message:
        """The message being handled (type, data, id, raw); only valid inside a handler."""
        try:
            return _current_message.get()
        except LookupError:
            raise RuntimeError("self.message is only set while a handler runs") from None

    # -- hooks a subclass may override -------------------------------------------------

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """Encode a frame; override for a custom JSON encoder (it must return text)."""
        return encode_json(content)

    @classmethod
    def decode_json(cls, text: str) -> Any:
        """Decode a frame of this consumer's own socket; an exception answers ``bad_json``."""
        return decode_json(text)

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
        await self._sink.send_text(self.encode_json(content))

    async def send_event(self, event: str, data: Any) -> None:
        await self._sink.send_text(self.encode_json(event_frame(event, data)))

    async def group_send_event(self, group: str, event: str, data: Any) -> None:
        """Send an event to every member of ``group`` that runs this kind of consumer."""
        await self.group_send(group, event_frame(event, data))

    async def group_send(self, group: str, content: Any) -> None:
        """Send any JSON value as one frame to every member of ``group`` that runs this
        kind of consumer, each inside its own stream.

        The frame is encoded once here; members only wrap it. Channels consumers in the
        group receive it as ``{"type": "chgen.event", ...}`` (their ``chgen_event``).
        """
        message = {
            "type": GROUP_EVENT,
            "group": group,
            "source": self.consumer_name,
            "frame": self.encode_json(content),
        }
        await self.connection.layer.group_send(group, message)

    def get_handler(self, route: MessageRoute) -> Handler:
        """The callable that handles ``route``'s messages; override to wrap every handler
        (Channels' get_handler). Runs once per message, so keep it cheap."""
        return route.call

    # -- driven by the root or the demultiplexer --------------------------------------

    async def join_groups(self) -> None:
        if not self.admitted:
            return
        self.groups = tuple(self.connection_groups(**self.kwargs))
        for group in self.groups:
            await self.connection.join(group)

    async def leave_groups(self) -> None:
        groups, self.groups = self.groups, ()
        for group in groups:
            await self.connection.leave(group)

    async def receive(self, content: Any) -> None:
        """Called with each decoded frame from the client; dispatches it by default.

        Override for untyped handling (Channels' ``receive(content)``), and call
        ``self.dispatch(content)`` for what the spec maps.
        """
        await self.dispatch(content)

    @classmethod
    def channel_names(cls) -> list[str]:
        """The message types this consumer handles: from clients, then from the layer."""
        return [r.msg_type for r in cls.dispatch_table] + [r.msg_type for r in cls.layer_table]

    async def dispatch(self, content: Any) -> None:
        """Dispatch one decoded frame through the table; every failure becomes an error frame."""
        message: Message | None = None
        try:
            message = parse_message(content)
            route = self.dispatch_table.lookup(message.type)
            payload = route.decode(message.data)
            if not self.admitted:
                raise ProtocolError(FORBIDDEN, "login required")
        except ProtocolError as exc:
            if message is not None:
                exc.id = message.id
            await self._sink.send_text(self.encode_json(exc.frame()))
            return
        if self.strict_ordering:
            await self._handle(route, message, payload)
            return
        await self._slots.acquire()  # backpressure: stop reading while every slot is busy
        task = asyncio.create_task(self._handle(route, message, payload))
        self._inflight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._slots.release()

    async def _handle(self, route: MessageRoute, message: Message, payload: Any) -> None:
        token = _current_message.set(message)
        try:
            result = await self.get_handler(route)(self, payload)
            if message.id is None:
                return
            # A message with an id always gets one answer; without a reply type it is null.
            data = None if route.encode_reply is None else route.encode_reply(result)
            reply = self.encode_json(reply_frame(message.type, message.id, data))
        except ProtocolError as exc:
            # A handler (or a decorator around it) refusing on purpose, e.g. `forbidden`.
            exc.id = message.id
            reply = self.encode_json(exc.frame())
        except Exception:
            log.exception("handler for %r in %s failed", message.type, type(self).__name__)
            reply = self.encode_json(error_frame(INTERNAL, "internal error", (), message.id))
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
            for table in (cls.dispatch_table, cls.layer_table)
            for route in table
            if route.method and is_unimplemented(getattr(cls, route.method, None))
        ]

    # -- as the root consumer of a socket (see runtime.asgi.serve) ---------------------

    async def on_connect(self) -> None:
        if not self.admitted:
            log.info("%s refused the socket: no user, or login required", type(self).__name__)
            await self.close()
            return
        await self.join_groups()
        await self.connect()

    async def on_text(self, text: str) -> None:
        try:
            content = decode_with(self.decode_json, text)
        except ProtocolError as exc:
            await self._sink.send_text(self.encode_json(exc.frame()))
            return
        await self.receive(content)

    async def on_bytes(self, data: bytes) -> None:
        frame = error_frame(BAD_FRAME, "binary frames are not accepted; send JSON text")
        await self._sink.send_text(self.encode_json(frame))

    async def on_disconnect(self, code: int) -> None:
        try:
            await self.cancel_inflight()
            if self.admitted:
                await self.disconnect(code)
        finally:
            await self.leave_groups()

    async def cancel_inflight(self) -> None:
        """Stop handlers still running when the socket closed; nobody can get their reply."""
        tasks = list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def on_layer_message(self, message: dict[str, Any]) -> None:
        if not await self.receive_layer(message):
            drop_unknown(message)

    async def receive_layer(self, message: dict[str, Any]) -> bool:
        """Handle a channel-layer message; False if this consumer has no use for its type.

        Group events go to the client; other types go through ``layer_table`` to typed
        handlers, with the message's other keys as the payload (Channels' style
        ``{"type": "chat.message", "text": ...}``).
        """
        msg_type = message.get("type")
        if msg_type == GROUP_EVENT:
            await self.deliver_group_event(message)
            return True
        if not isinstance(msg_type, str) or msg_type not in self.layer_table:
            return False
        if not self.admitted:
            return True  # a refused stream consumer ignores its layer messages
        route = self.layer_table.lookup(msg_type)
        data = {k: v for k, v in message.items() if k != "type"}
        try:
            payload = route.decode(data)
            await self.get_handler(route)(self, payload)
        except ProtocolError as exc:
            details = "; ".join(f"{d.path} {d.message}" for d in exc.details)
            log.warning("dropped an invalid %r layer message: %s", msg_type, details)
        except Exception:
            log.exception("layer handler for %r in %s failed", msg_type, type(self).__name__)
        return True
