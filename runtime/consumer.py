"""``JsonWebsocketConsumer``: typed JSON messages in, replies and events out.

A consumer serves one socket on its own route, or one stream of a socket behind a
``WebsocketDemultiplexer``; it never needs to know which. Generated base classes fill in
``dispatch_table``, ``connection_group_templates`` and typed send helpers; user classes
add the handler bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from contextvars import ContextVar
from time import monotonic
from typing import Any, ClassVar, Protocol

from .base import GROUP_EVENT, BaseConsumer, drop_unknown, is_authenticated
from .connection import Connection
from .defaults import MAX_CONCURRENCY
from .delivery import BY_HANDLER, NOTHING
from .dispatch import DispatchTable, MessageRoute
from .hooks import keeps
from .layers import LayerUnavailable
from .protocol import (
    FORBIDDEN,
    INTERNAL,
    UNAVAILABLE,
    JsonCodec,
    Message,
    MessageId,
    ProtocolError,
    bad_json,
    binary_refused,
    error_frame,
    event_frame,
    gap_frame,
    parse_message,
    quote,
    rate_limited,
    salvage,
    salvaged_id,
)
from .ratelimit import FLOOD_SECONDS, RATE_BURST, RATE_PER_SECOND, Meter
from .recovery import recover, wants_recovery
from .running import Running
from .startup import Expected
from .status import WS_1008_POLICY_VIOLATION

__all__ = [
    "GROUP_EVENT",
    "FrameSink",
    "JsonWebsocketConsumer",
    "RateLimited",
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


class RateLimited(JsonCodec):
    """Inbound rate limits, for classes that read JSON frames from a client: see
    chgen.runtime.ratelimit. Set per class (the spec's ``rate_limit``)."""

    # Messages a second one socket may send, on average (None: no limit), in bursts of
    # up to rate_burst; going over for flood_seconds on end closes the socket with 1008.
    rate_limit: ClassVar[float | None] = RATE_PER_SECOND
    rate_burst: ClassVar[int] = RATE_BURST
    flood_seconds: ClassVar[float] = FLOOD_SECONDS
    connection: Connection
    _meter: Meter | None = None  # made with the first message

    def over_limit(self) -> float:
        """Count one message from the client: 0.0 if it is within the limit, else the
        seconds until it would be (answer it with ``rate_limited``)."""
        now = monotonic()
        meter = self._meter
        if meter is None:
            if self.rate_limit is None:
                return 0.0
            meter = self._meter = Meter(self.rate_limit, self.rate_burst, self.flood_seconds, now)
        return meter.wait(now)

    async def refuse_over_limit(
        self, sink: FrameSink, wait: float, msg_id: MessageId | None
    ) -> None:
        """Answer a message over the limit through ``sink``; close the socket with 1008
        once the client has kept going over it for ``flood_seconds``."""
        await sink.send_text(self.encode_json(rate_limited(wait, msg_id).frame()))
        meter = self._meter
        if meter is None or not meter.flooding(monotonic()) or self.connection.closed:
            return
        log.warning(
            "closed a socket on %s with 1008: over its rate limit (%g messages/s, bursts "
            "of %d) for %.0f s, %d messages refused",
            quote(self.connection.scope.get("path", "")),
            self.rate_limit,
            self.rate_burst,
            self.flood_seconds,
            meter.refused,
        )
        await self.connection.close(WS_1008_POLICY_VIOLATION, "rate limit exceeded")


class JsonWebsocketConsumer(RateLimited, BaseConsumer):
    dispatch_table: ClassVar[DispatchTable] = DispatchTable(())
    # True: one message at a time, in arrival order. False: up to max_concurrency handlers
    # of this consumer run at once; the socket is not read while all slots are busy.
    strict_ordering: ClassVar[bool] = True
    max_concurrency: ClassVar[int] = MAX_CONCURRENCY
    # Set for each class when it is defined (see chgen.runtime.hooks): whether it keeps
    # the default receive, and deliver_group_event and send_text.
    _keeps_receive: ClassVar[bool] = True
    _keeps_group_delivery: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._keeps_receive = keeps(cls, JsonWebsocketConsumer, "receive")
        cls._keeps_group_delivery = keeps(
            cls, JsonWebsocketConsumer, "deliver_group_event", "send_text"
        )

    def __init__(
        self,
        connection: Connection,
        kwargs: Mapping[str, str],
        multiplexer: Any = None,
    ) -> None:
        super().__init__(connection, kwargs)
        self.multiplexer = multiplexer
        # Where frames go: behind a multiplexer whose envelope nothing overrides, this
        # consumer wraps them itself and writes to the connection, one call less per
        # frame; behind any other, every frame goes to the multiplexer (see Multiplexer).
        self._sink: FrameSink = connection
        self._prefix: str | None = None
        if multiplexer is not None and getattr(multiplexer, "by_prefix", False):
            self._prefix = multiplexer.prefix
        elif multiplexer is not None:
            self._sink = multiplexer
        # Made for consumers without strict ordering only: idle sockets pay nothing.
        self._running: Running | None = None

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
        Override for untyped handling (Channels' ``receive(content)``) and call
        ``self.dispatch(content)`` for what the spec maps."""
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

    def group_send_event(self, group: str, event: str, data: Any) -> Awaitable[None]:
        """Send an event to every member of ``group`` that runs this kind of consumer;
        await the result (the layer's coroutine, as for ``group_send``)."""
        return self.group_send(group, event_frame(event, data))

    def group_send(self, group: str, content: Any) -> Awaitable[None]:
        """Send any JSON value as one frame to every member of ``group`` that runs this
        kind of consumer, each inside its own stream; await the result. The frame is
        encoded once here and members only wrap it. Channels consumers in the group
        receive it as ``{"type": "chgen.event", ...}`` (their ``chgen_event``)."""
        return self.group_send_frame(group, {"frame": self.encode_json(content)})

    def group_send_app_event(self, group: str, event: str, data: Any) -> Awaitable[None]:
        # Encoded with this consumer's encode_json, as its own group events are.
        return self.group_send_app_frame(group, event, self.encode_json(event_frame(event, data)))

    # -- dispatch ----------------------------------------------------------------------

    @classmethod
    def channel_names(cls) -> list[str]:
        """The message types this consumer handles: from clients, then from the layer."""
        return [r.msg_type for r in cls.dispatch_table] + super().channel_names()

    @classmethod
    def expected_handlers(cls) -> list[Expected]:
        own = [
            Expected.for_payload(r.method, r.payload, r.reply)
            for r in cls.dispatch_table
            if r.method
        ]
        return own + super().expected_handlers()

    # on_content, dispatch and on_text return the coroutine to await rather than being
    # coroutines: an await layer is paid on every message, and these only route frames.

    def on_content(self, content: Any) -> Awaitable[None]:
        """A decoded frame from the client: to ``receive``, or straight to ``dispatch``
        when the class keeps the default ``receive``; refused when it is over the rate
        limit."""
        wait = self.over_limit()
        if wait:
            return self.refuse_over_limit(self, wait, salvaged_id(content))
        if self._keeps_receive:
            return self.dispatch(content)
        return self.receive(content)

    def dispatch(self, content: Any) -> Awaitable[None]:
        """Dispatch one decoded frame through the table; every failure becomes an error
        frame. Await the result."""
        # The usual request, {"type": T, "id": I, "data": {...}}, in one step;
        # parse_message checks anything else and says what is wrong.
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
        if self._running is None:
            self._running = Running(self.max_concurrency)
        return self._running.start(self._handle, route, msg_id, frame, payload)

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
        except LayerUnavailable:
            # Redis is down or restarting: logged once where the layer failed, and the
            # client may try again; not a bug of the handler's.
            message = "the server cannot reach its channel layer; try again later"
            reply = self.encode_json(error_frame(UNAVAILABLE, message, (), msg_id))
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

    def on_gap(self, group: str | None, lost: int | None, reason: str) -> Awaitable[None]:
        """Send the client a gap frame, in this consumer's stream, if it is in ``group``
        (None: in any group)."""
        if not self.groups or (group is not None and group not in self.groups):
            return NOTHING
        return self.send_text(self.encode_json(gap_frame(lost, reason)))

    async def on_connect(self) -> None:
        token = wants_recovery(self.connection) if self.admitted else None
        if token is None:
            await super().on_connect()
            return
        # A client that recovers: hold live events from the joins until the replay is out.
        self.connection.delivery.hold()
        await super().on_connect()
        if self.connection.accepted and not self.connection.closed:
            await recover(self.connection, {"": self}, token, self.encode_json)

    async def join_groups(self) -> None:
        await super().join_groups()
        for group, source, prefix in self._forward_entries():
            self.connection.delivery.forward(group, source, prefix)

    async def leave_groups(self) -> None:
        for group, source, prefix in self._forward_entries():
            self.connection.delivery.stop_forwarding(group, source, prefix)
        await super().leave_groups()

    def _forward_entries(self) -> list[tuple[str, str, str]]:
        """How the socket writes this consumer's group events: (group, source, prefix)
        entries for ``Delivery.forward``. The app events of a group this consumer keeps
        history for go through its handler (``BY_HANDLER``), which adds its position.

        A stream that cannot forward (an overridden hook) says so with ``BY_HANDLER``
        too when a sibling stream might: an app event two streams list would otherwise be
        forwarded to the sibling's stream alone, and never reach this one's hook."""
        prefix = _forward_prefix(self)
        if prefix is None and not _siblings_may_forward(self):
            return []
        rules = self.history_rules if self.app_event_sources else None
        entries = []
        for group in self.groups:
            kept = rules is not None and rules(group) is not None
            for source in self._group_event_sources():
                if prefix is None or (kept and source != self.consumer_name):
                    entries.append((group, source, BY_HANDLER))
                else:
                    entries.append((group, source, prefix))
        return entries

    def _group_event_sources(self) -> tuple[str, ...]:
        """The sources of the group events this consumer delivers: itself, its app events."""
        return (self.consumer_name, *sorted(self.app_event_sources))

    # -- as the root consumer of a socket (see chgen.runtime.asgi.serve) ---------------------

    def on_text(self, text: str) -> Awaitable[None]:
        try:
            content = self.decode_json(text)
        except Exception as exc:
            return self.refuse_json(exc, salvage(text))
        return self.on_content(content)

    def refuse_json(self, exc: Exception, salvaged: Any) -> Awaitable[None]:
        """Answer a frame whose JSON ``decode_json`` refused (raising ``exc``) with
        ``bad_json``; with the message's id when a lenient reader could still find one in
        it (``salvaged``), so that the request it made is answered. Await the result."""
        wait = self.over_limit()
        if wait:
            return self.refuse_over_limit(self, wait, salvaged_id(salvaged))
        error = bad_json(exc)
        error.id = salvaged_id(salvaged)
        return self.send_text(self.encode_json(error.frame()))

    async def on_bytes(self, data: bytes) -> None:
        await self.send_text(self.encode_json(binary_refused()))

    async def cancel_inflight(self) -> None:
        """Stop handlers still running when the socket closed; nobody can get their reply."""
        if self._running is not None:
            await self._running.cancel()


def _siblings_may_forward(consumer: JsonWebsocketConsumer) -> bool:
    """Whether other streams of ``consumer``'s socket may forward group events: it is a
    stream of a demultiplexer that keeps chgen's delivery."""
    demux = getattr(consumer.multiplexer, "demultiplexer", None)
    return getattr(demux, "keeps_layer_delivery", False) is True


def _forward_prefix(consumer: JsonWebsocketConsumer) -> str | None:
    """How the socket may write ``consumer``'s group events itself: "" as they are, a
    stream's envelope prefix, or None when an overridden hook must see each one.

    Forwarding skips on_layer_message, receive_layer, deliver_group_event and send_text
    (of the consumer's class, of its demultiplexer), so any override of them turns it
    off; a custom multiplexer class does too.
    """
    if not consumer._keeps_group_delivery:
        return None
    if consumer.multiplexer is None:
        return "" if consumer._keeps_layer_hooks else None
    demux = getattr(consumer.multiplexer, "demultiplexer", None)
    if consumer._prefix is None or not getattr(demux, "keeps_layer_delivery", False):
        return None
    return consumer._prefix
