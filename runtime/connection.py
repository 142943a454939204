"""One WebSocket connection: the ASGI send side, its layer channel and group memberships.

Every consumer serving the socket (one, or one per stream behind a demultiplexer) shares
this object. The layer channel exists only once a group is joined, so connections that
never join a group cost nothing extra. On a layer with the watch extension (runtime's
in-memory layer) a message is delivered as soon as it arrives, inside the sender's
``group_send``, and only a delivery that has to wait (a client that stopped reading)
becomes a task; an idle member has none. On other layers one task per channel blocks in
``receive``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, Final, cast

from .eager import NOTHING, WRITTEN, Writer, eager_writer, finish_writing, start_eagerly
from .forwarding import ForwardTable, with_entry, without_entry
from .gaps import GapDetector, Sequencer
from .layers import ChannelLayer, WatchableLayer
from .status import WS_1011_INTERNAL_ERROR
from .watermarks import WATERMARK, Watermarks

__all__ = ["GROUP_EVENT", "Connection"]

log = logging.getLogger(__name__)

# Layer message type carrying a group event; see BaseConsumer.group_send_frame.
GROUP_EVENT: Final = "chgen.event"

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
LayerHandler = Callable[[dict[str, Any]], Awaitable[None]]

# Delivery states of a watched channel: nothing under way; a delivery under way; one
# under way that refused a message, which the layer queued for it.
IDLE: Final = 0
BUSY: Final = 1
REFUSED: Final = 2

# Seconds between retries of a failing layer receive; after the last, the socket closes.
RECEIVE_RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)
# A receive that fails after waiting at least this long (seconds) timed out while idle.
IDLE_TIMEOUT_THRESHOLD = 1.0


class Connection:
    # One per socket, thousands at once: no per-instance __dict__.
    __slots__ = (
        "_context",
        "_delivering",
        "_forwards",
        "_gaps",
        "_groups",
        "_on_layer_message",
        "_pump",
        "_send",
        "_sequencer",
        "_watermark_delay",
        "_writer",
        "accepted",
        "channel_name",
        "closed",
        "layer",
        "scope",
        "session",
    )

    def __init__(
        self,
        scope: MutableMapping[str, Any],
        send: Send,
        layer: ChannelLayer,
        watermark_delay: float | None = None,
    ) -> None:
        """``watermark_delay``: turns on watermarks for the group events this socket
        sends, on layers that may drop them silently (see chgen.runtime.watermarks)."""
        self.scope = scope
        self.layer = layer
        self.accepted = False
        self.closed = False
        self.channel_name: str | None = None
        self.session: dict[str, Any] = {}  # what consumers keep for the socket's lifetime
        self._send = send
        # Writes forwarded group events; made on first use, None again once closed.
        self._writer: Writer | None = None
        self._groups: dict[str, int] = {}  # joins per group, counted per consumer
        self._pump: asyncio.Task[None] | None = None  # reads, or delivers, the channel
        self._delivering = IDLE  # the state of deliveries on a watched channel
        self._on_layer_message: LayerHandler | None = None
        # What forward_group_events asked for; shared with sockets that ask the same.
        self._forwards: ForwardTable | None = None
        self._sequencer: Sequencer | None = None
        self._watermark_delay = watermark_delay
        self._gaps: GapDetector | None = None
        self._context: contextvars.Context | None = None

    @property
    def sequencer(self) -> Sequencer:
        """Numbers the group events this socket sends (created on first use)."""
        if self._sequencer is None:
            watermarks = None
            # A watched layer reports its own drops: watermarks would add nothing.
            if self._watermark_delay is not None and not _watchable(self.layer):
                watermarks = Watermarks(self.layer, self._watermark_delay)
            self._sequencer = Sequencer(watermarks)
        return self._sequencer

    @property
    def lost_events(self) -> int:
        """Group events addressed to this socket that the channel layer lost."""
        return 0 if self._gaps is None else self._gaps.lost

    def on_layer_message(self, handler: LayerHandler) -> None:
        """Set where messages arriving on this connection's channel go."""
        self._on_layer_message = handler

    def forward_group_events(self, group: str, source: str, prefix: str) -> None:
        """Send ``source``'s group events in ``group`` straight to the socket.

        On a layer with the watch extension, such an event's ``frame`` goes out as it is
        (``prefix`` "") or as ``prefix + frame + "}"`` (a stream's envelope) without the
        layer handler: one step per member instead of a chain of calls. A consumer asks
        for it only when its own delivery hooks would do exactly that. With more than one
        prefix for the same events (two streams), the handler delivers them.
        """
        self._forwards = with_entry(self._forwards, (group, source, prefix))

    def stop_forwarding(self, group: str, source: str, prefix: str) -> None:
        """Undo one ``forward_group_events``."""
        self._forwards = without_entry(self._forwards, (group, source, prefix))

    async def accept(self, subprotocol: str | None = None) -> None:
        if self.accepted or self.closed:
            return
        self.accepted = True
        await self._send({"type": "websocket.accept", "subprotocol": subprotocol})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self._writer = None
        await self._send({"type": "websocket.close", "code": code, "reason": reason})

    # send_text and send_bytes repeat their few lines rather than share a helper: every
    # reply and every group event goes through here, and a coroutine call per frame shows.
    async def send_text(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception as exc:
            self._gone(exc)

    async def send_bytes(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            await self._send({"type": "websocket.send", "bytes": data})
        except Exception as exc:
            self._gone(exc)

    def _gone(self, exc: Exception) -> None:
        # The client left before the app read its disconnect (ASGI servers raise an
        # OSError subclass, some implementations their own error). Frames still queued
        # for it, group events above all, are dropped quietly; the receive loop sees the
        # disconnect next and cleans up.
        self.closed = True
        self._writer = None  # ended by the exception, if it raised it; nothing to write now
        log.debug("socket gone, frame dropped: %s", exc)

    async def join(self, group: str) -> None:
        """Add the connection to ``group``; joins are counted per consumer."""
        self._groups[group] = self._groups.get(group, 0) + 1
        if self._groups[group] == 1:
            await self.layer.group_add(group, await self._channel())

    async def leave(self, group: str) -> None:
        if self._groups.get(group, 0) <= 0:
            return
        self._groups[group] -= 1
        if self._groups[group] == 0:
            del self._groups[group]
            if self.channel_name is not None:
                await self.layer.group_discard(group, self.channel_name)

    async def release(self) -> None:
        """Leave every group and stop reading the channel; safe to call more than once."""
        for group in list(self._groups):
            self._groups[group] = 1
            try:
                await self.leave(group)
            except Exception:
                log.exception("could not leave group %s", group)
        # Closing the channel first also ends its watch: nothing arriving from here on
        # can start another delivery task.
        close_channel = getattr(self.layer, "close_channel", None)
        if self.channel_name is not None and close_channel is not None:
            await close_channel(self.channel_name)
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            try:
                await pump
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("reading the channel layer failed")
        self._delivering = IDLE  # a delivery cancelled before it started cannot say so

    async def _channel(self) -> str:
        if self.channel_name is None:
            self.channel_name = channel = await self.layer.new_channel()
            if _watchable(self.layer):
                # Deliveries start inside a sender's group_send; they must run in this
                # socket's context, as a pump started here would, not in the sender's.
                self._context = contextvars.copy_context()
                cast(WatchableLayer, self.layer).watch_channel(channel, self._offer, self._lost)
                pending = cast(WatchableLayer, self.layer).receive_nowait(channel)
                if pending is not None:  # sent to the channel before the watch began
                    self._offer(pending)
            else:
                self._pump = asyncio.create_task(self._read_channel(channel))
        return self.channel_name

    def _offer(self, message: dict[str, Any]) -> bool:
        """Deliver ``message`` now, unless this socket is busy delivering: the watch
        extension's ``offer``, called by the layer inside the sender's group_send.

        Busy, it returns False and the layer queues the message for the delivery under
        way, which takes it in order. A delivery whose send has to wait (a slow client)
        goes on as a task; that holds up only this socket, while later messages wait in
        the layer up to its capacity.
        """
        if self._delivering:
            self._delivering = REFUSED
            return False
        self._delivering = BUSY
        writer = self._writer
        last = _last_forward
        if writer is not None and message is last[0] and self._forwards is last[1]:
            event = last[2]  # forwarded the way it was to the member before: the usual case
        else:
            event = self._forwarded(message)
            writer = self._writer
        try:
            if event is None:
                rest = start_eagerly(self._deliver_now, message, self._context)  # type: ignore[arg-type]
            elif writer is None:  # closed
                rest = None
            else:
                awaited = self._context.run(writer.send, event)  # type: ignore[union-attr]
                if awaited is WRITTEN:
                    rest = None
                else:  # the write waits: the task finishes it with this writer, alone
                    self._writer = None
                    rest = finish_writing(writer, awaited)
        except Exception as exc:
            if event is None:
                log.exception("error handling layer message of type %r", message.get("type"))
            else:
                self._gone(exc)
            rest = None
        queued = None
        if rest is None:
            if self._delivering == BUSY:  # nothing arrived meanwhile: done
                self._delivering = IDLE
                return True
            # Messages that came while it ran (a handler sending to this socket's group)
            # go to a task, so one that keeps sending to its own group cannot starve
            # the loop.
            queued = self._take()
        task = asyncio.get_running_loop().create_task(
            self._deliver_rest(rest, event is not None, queued), context=self._context
        )
        if rest is not None:
            # Cancelled before it starts, the task never awaits ``rest``: close it then.
            task.add_done_callback(_closer(rest))
        self._pump = task
        return True

    def _forwarded(self, message: dict[str, Any]) -> MutableMapping[str, Any] | None:
        """The ASGI event to send for ``message`` if it is a forwarded group event; then
        also makes the writer that sends it, unless the socket is closed."""
        forwards = self._forwards
        if forwards is None or self._on_layer_message is None:
            return None
        global _last_forward
        last = _last_forward
        if message is last[0] and forwards is last[1]:
            event = last[2]
        else:
            event = _forwarded_event(message, forwards)
            _last_forward = (message, forwards, event)
        if event is not None and self._writer is None and not self.closed:
            self._writer = eager_writer(self._send)
        return event

    def _deliver_now(self, message: dict[str, Any]) -> Awaitable[None]:
        handler = self._on_layer_message
        if handler is None or message.get("type") == WATERMARK:
            return NOTHING  # watermarks are for the gap check, which watched layers skip
        return handler(message)

    def _lost(self, message: dict[str, Any]) -> None:
        # A watched layer dropped a message for this socket (it logged why); watched
        # channels carry no gap check, so this is how lost_events hears of it.
        if self._gaps is None:
            self._gaps = GapDetector()
        self._gaps.lost += 1

    def _take(self) -> dict[str, Any] | None:
        if self.channel_name is None:
            return None
        return cast(WatchableLayer, self.layer).receive_nowait(self.channel_name)

    async def _deliver_rest(
        self,
        rest: Coroutine[Any, None, None] | None,
        sending: bool,
        queued: dict[str, Any] | None,
    ) -> None:
        """Finish the delivery that had to wait (a handler's, or the socket's own send
        when ``sending``), then deliver what queued meanwhile."""
        try:
            if rest is not None:
                try:
                    await rest
                except Exception as exc:
                    if sending:
                        self._gone(exc)
                    else:
                        log.exception("error handling a layer message")
                queued = self._take()
            while queued is not None:
                # What queued behind a slow client goes out the way _offer would have
                # sent it: a forwarded event straight to the socket, without the handler
                # chain. A client that keeps falling behind drains this loop often.
                event = self._forwarded(queued)
                try:
                    if event is None:
                        await self._deliver_now(queued)
                    elif not self.closed:
                        await self._send(event)
                except Exception as exc:
                    if event is None:
                        log.exception("error handling layer message of type %r", queued.get("type"))
                    else:
                        self._gone(exc)
                queued = self._take()
        finally:
            # No await between the empty receive_nowait above and this: a message that
            # arrives later finds no delivery under way and is offered again.
            self._delivering = IDLE
            self._pump = None

    async def _read_channel(self, channel: str) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            started = loop.time()
            try:
                message = await self.layer.receive(channel)
            except Exception:
                if loop.time() - started >= IDLE_TIMEOUT_THRESHOLD:
                    # A read that timed out after waiting (redis-py's socket_timeout on an
                    # idle channel) is not the layer failing: read again.
                    log.debug("channel layer receive timed out while idle; reading again")
                    continue
                # A layer can fail transiently (reconnects). Retry a few times; then close
                # the socket rather than leave it silently deaf to its groups.
                if failures == len(RECEIVE_RETRY_DELAYS):
                    log.exception("channel layer unavailable; closing the socket")
                    await self.close(WS_1011_INTERNAL_ERROR, "channel layer unavailable")
                    return
                log.warning("channel layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(RECEIVE_RETRY_DELAYS[failures])
                failures += 1
                continue
            failures = 0
            await self._handle(message)

    def _handler_for(self, message: dict[str, Any]) -> LayerHandler | None:
        """Where ``message`` goes, once its sequence number (if any) was checked for gaps."""
        handler = self._on_layer_message
        if handler is not None and "seq" in message:
            if self._gaps is None:
                self._gaps = GapDetector()
            if message.get("type") == WATERMARK:
                self._gaps.check_watermark(message)
                return None  # nothing for the consumers
            self._gaps.check(message)
        return handler

    async def _handle(self, message: dict[str, Any]) -> None:
        handler = self._handler_for(message)
        if handler is None:
            return
        try:
            await handler(message)
        except Exception:
            # A bad layer message must not end delivery for the rest of the connection.
            log.exception("error handling layer message of type %r", message.get("type"))


# The last message _forwarded looked up, the table it was looked up in, and the event it
# gave. A group send offers one message object to every member, and the sockets of a room
# share one ForwardTable, so all but the first member reuse the event: one dict and one
# text, as in a hand-written broadcast, instead of a lookup and a copy of the frame each.
# Holding both keys keeps them alive, so an identity match is never a stale one.
_last_forward: tuple[object, object, MutableMapping[str, Any] | None] = (None, None, None)


def _forwarded_event(message: dict[str, Any], forwards: ForwardTable) -> dict[str, Any] | None:
    if message.get("type") != GROUP_EVENT:
        return None
    try:
        (prefix,) = forwards[message["group"]][message["source"]]
        frame = message["frame"]
    except (KeyError, TypeError, ValueError):
        return None  # not forwarded here, by more than one stream, or not chgen's
    if type(frame) is not str:
        return None
    return {"type": "websocket.send", "text": prefix + frame + "}" if prefix else frame}


def _closer(coro: Coroutine[Any, None, None]) -> Callable[[object], None]:
    return lambda _: coro.close()


def _watchable(layer: ChannelLayer) -> bool:
    """Whether ``layer`` has the watch extension (see chgen.runtime.layers)."""
    return hasattr(layer, "receive_nowait") and getattr(layer, "watch_channel", None) is not None
