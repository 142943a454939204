"""``BaseConsumer``: what every consumer does with its socket, whatever it speaks.

Lifecycle (groups joined before accept and always left, connect, disconnect), users and
sessions, and channel-layer messages dispatched through an explicit ``layer_table``, the
seed's ``method_mapping`` on channel names. ``JsonWebsocketConsumer`` and the plain
``WebsocketConsumer`` add what arrives from the client and how frames go out.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Mapping
from typing import Any, ClassVar

from .appretention import send_kept_app_event
from .connection import Connection
from .delivery import GROUP_EVENT, KEPT, NOTHING, app_event_message, app_event_source, ignored
from .dispatch import DispatchTable, Handler, MessageRoute
from .hooks import keeps
from .jobs import job_message
from .positions import with_position
from .protocol import ProtocolError, encode_json, event_frame
from .retention import HistoryRules, Rule, send_kept
from .startup import Expected

__all__ = ["GROUP_EVENT", "BaseConsumer", "drop_unknown", "is_authenticated"]

log = logging.getLogger("chgen.runtime.consumer")


def is_authenticated(user: Any) -> bool:
    """Django users say so themselves; any other non-None user counts as authenticated."""
    return user is not None and getattr(user, "is_authenticated", True) is True


def drop_unknown(message: dict[str, Any]) -> None:
    # Channels closes the socket here; one stray message must not cost a connection.
    log.warning("dropped a layer message of unknown type %r", message.get("type"))


class BaseConsumer:
    consumer_name: ClassVar[str] = ""
    layer_table: ClassVar[DispatchTable] = DispatchTable(())  # channel-layer message types
    connection_group_templates: ClassVar[tuple[str, ...]] = ()
    # App events whose group sends reach this consumer's clients, whichever consumer sent
    # them (the spec's App.events that the consumer lists in its sends).
    app_events: ClassVar[frozenset[str]] = frozenset()
    max_message_size: ClassVar[int] = 1 << 20  # characters of a text frame, bytes of binary
    # Refuse anonymous users: a routed consumer refuses the handshake, a stream consumer
    # answers every message with `forbidden`. The user comes from scope["user"].
    login_required: ClassVar[bool] = False
    # The spec says a user must come with the socket (Channels' http_user): a socket whose
    # scope has no "user" at all means the auth middleware is missing, and is refused.
    http_user: ClassVar[bool] = False
    # The spec's history: (connection_groups template, or None for every group, size,
    # ttl) rules; the group events this consumer sends to such a group are kept, so
    # that a client coming back gets those it missed (chgen.runtime.recovery).
    group_history: ClassVar[tuple[Rule, ...]] = ()
    # group -> its retention, from group_history; None when no group keeps history.
    history_rules: ClassVar[HistoryRules | None] = None
    # Set for each class when it is defined (see chgen.runtime.hooks): whether it keeps
    # BaseConsumer's receive_layer, and its on_layer_message too.
    _keeps_receive_layer: ClassVar[bool] = True
    _keeps_layer_hooks: ClassVar[bool] = True
    # The group event sources this consumer delivers besides its own name: its app events.
    app_event_sources: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.app_event_sources = frozenset(app_event_source(e) for e in cls.app_events)
        cls._keeps_receive_layer = keeps(cls, BaseConsumer, "receive_layer")
        cls._keeps_layer_hooks = keeps(cls, BaseConsumer, "receive_layer", "on_layer_message")
        cls.history_rules = HistoryRules(cls.group_history) if cls.group_history else None

    def __init__(self, connection: Connection, kwargs: Mapping[str, str]) -> None:
        self.connection = connection
        self.scope = connection.scope
        self.path: str = connection.scope.get("path", "")
        self.kwargs = dict(kwargs)
        self.groups: tuple[str, ...] = ()
        self.admitted = self._admit()

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

    # -- hooks a subclass may override -------------------------------------------------

    def connection_groups(self, **kwargs: str) -> list[str]:
        """Groups joined before accept and left on disconnect; formatted from route kwargs."""
        return [template.format(**kwargs) for template in self.connection_group_templates]

    async def connect(self) -> None:
        """Called once groups are joined. Accepts by default; close() here to refuse."""
        await self.accept()

    async def disconnect(self, code: int) -> None:
        """Called when the socket closes, whatever the reason; groups are left afterwards."""

    def get_handler(self, route: MessageRoute) -> Handler:
        """The callable that handles ``route``'s messages; override to wrap every handler
        (Channels' get_handler). Runs once per message, so keep it cheap."""
        return route.call

    # -- actions ---------------------------------------------------------------------

    async def accept(self, subprotocol: str | None = None) -> None:
        await self.connection.accept(subprotocol)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason)

    def group_send_frame(self, group: str, frame: dict[str, Any]) -> Awaitable[None]:
        """Put a group event on the layer; members running this consumer forward it.
        Await the result (the layer's ``group_send``); it raises LayerUnavailable when
        the layer failed (the handler's client then gets ``unavailable``)."""
        message = {"type": GROUP_EVENT, "group": group, "source": self.consumer_name, **frame}
        rules = self.history_rules
        if rules is not None:
            retention = rules(group)
            if retention is not None:
                return send_kept(self.connection.delivery, group, message, retention)
        return self.connection.delivery.group_send(group, message)

    def send_to(self, channel: str, job: str, data: dict[str, Any]) -> Awaitable[None]:
        """Send a job (its type and encoded payload) to the worker reading ``channel``;
        await the result. The generated ``send_to_<worker>_<type>`` helpers call this. It
        raises LayerUnavailable when the layer failed (the client then gets
        ``unavailable``)."""
        return self.connection.layer.send(channel, job_message(job, data))

    def group_send_app_event(self, group: str, event: str, data: Any) -> Awaitable[None]:
        """Send app event ``event`` (JSON-ready ``data``) to every member of ``group``
        whose consumer lists it, whichever consumer that is, each in its own stream; the
        others ignore it (see ``chgen.runtime.ignored_app_events``). Await the result."""
        return self.group_send_app_frame(group, event, encode_json(event_frame(event, data)))

    def group_send_app_frame(self, group: str, event: str, frame_json: str) -> Awaitable[None]:
        """``group_send_app_event`` with the event's frame already encoded. Kept first in
        the stream of each consumer that lists it and keeps history for ``group``
        (``chgen.runtime.appretention``)."""
        message = app_event_message(group, event, frame_json)
        delivery = self.connection.delivery
        table = delivery.app_history
        if table is not None:
            keepers = table.keepers(event, group)
            if keepers:
                return send_kept_app_event(
                    delivery.history, delivery.group_send, group, message, keepers
                )
        return delivery.group_send(group, message)

    # -- introspection -----------------------------------------------------------------

    @classmethod
    def channel_names(cls) -> list[str]:
        """The layer message types this consumer handles."""
        return [route.msg_type for route in cls.layer_table]

    @classmethod
    def expected_handlers(cls) -> list[Expected]:
        """The handlers the generated base declares for the user to implement, with what
        each takes and returns; checked when the app is imported (``chgen.runtime.startup``)."""
        return [
            Expected.for_payload(r.method, r.payload, None) for r in cls.layer_table if r.method
        ]

    @classmethod
    def consumer_classes(cls) -> list[type[BaseConsumer]]:
        """The consumer classes serving a socket routed here: this one."""
        return [cls]

    # -- driven by the root or the demultiplexer --------------------------------------

    async def join_groups(self) -> None:
        if not self.admitted:
            return
        # Interned: every socket in a room shares one string for its name.
        self.groups = tuple(
            sys.intern(group) if type(group) is str else group
            for group in self.connection_groups(**self.kwargs)
        )
        for group in self.groups:
            await self.connection.delivery.join(group)

    async def leave_groups(self) -> None:
        groups, self.groups = self.groups, ()
        for group in groups:
            await self.connection.delivery.leave(group)

    async def on_connect(self) -> None:
        if not self.admitted:
            log.info("%s refused the socket: no user, or login required", type(self).__name__)
            await self.close()
            return
        await self.join_groups()
        await self.connect()

    async def on_disconnect(self, code: int) -> None:
        try:
            await self.cancel_inflight()
            if self.admitted:
                await self.disconnect(code)
        finally:
            await self.leave_groups()

    async def cancel_inflight(self) -> None:
        """Stop handlers still running when the socket closed; none by default."""

    # on_layer_message and deliver_group_event, like on_text, are plain functions that
    # return the coroutine to await: they run for every group delivery.

    def on_layer_message(self, message: dict[str, Any]) -> Awaitable[None]:
        if message.get("type") == GROUP_EVENT and self._keeps_receive_layer:
            # receive_layer's first case, in one step.
            if message["source"] == self.consumer_name and message["group"] in self.groups:
                return self.deliver_group_event(message)
            return self._on_other_group_event(message)
        return self._on_other_layer_message(message)

    def _on_other_group_event(self, message: dict[str, Any]) -> Awaitable[None]:
        """A group event that is not this consumer's own in one of its groups: delivered
        if it is an app event the consumer lists, else ignored (counted if an app event)."""
        source = message["source"]
        if source in self.app_event_sources:
            if message["group"] in self.groups:
                return self.deliver_app_event(message)
        elif source != self.consumer_name:
            ignored(source)
        return NOTHING

    async def _on_other_layer_message(self, message: dict[str, Any]) -> None:
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
            if message["source"] == self.consumer_name and message["group"] in self.groups:
                await self.deliver_group_event(message)
            else:
                await self._on_other_group_event(message)
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

    def deliver_app_event(self, message: dict[str, Any]) -> Awaitable[None]:
        """Deliver an app event this consumer lists, in one of its groups: with this
        consumer's position when the sender kept it in its stream (``KEPT``); not at all
        when a recovery's replay gave it already."""
        kept = message.get(KEPT)
        if kept is None:
            return self.deliver_group_event(message)
        position = kept.get(self.consumer_name, message)
        if position is message:  # not kept for this consumer: as it is
            return self.deliver_group_event(message)
        if position is None:  # the replay gave it
            return NOTHING
        frame = message["frame"]
        if type(frame) is not str or len(frame) <= 2 or frame[-1] != "}":
            return self.deliver_group_event(message)
        epoch, offset = position
        framed = with_position(frame, message["group"], epoch, offset)
        return self.deliver_group_event({**message, "frame": framed})

    def deliver_group_event(self, message: dict[str, Any]) -> Awaitable[None]:
        """Send a group event of this consumer's kind to the client (per subclass); await
        the result. An ``async def`` override works too."""
        raise NotImplementedError

    def on_gap(self, group: str | None, lost: int | None, reason: str) -> Awaitable[None]:
        """Group events of ``group`` (None: of every group) never reached this socket:
        ``lost`` of them (None: not known), for ``reason`` (``"lost"``, ``"outage"``,
        ``"slow"``). A plain socket has no frame to say so; JSON consumers send a gap
        frame. Await the result."""
        return NOTHING
