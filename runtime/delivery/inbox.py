"""The inbox: a socket's layer channel, and how what arrives on it reaches the socket.

On a layer with the watch extension (the runtime's in-memory layer) a message is
delivered as soon as it arrives, inside the sender's ``group_send``, and only a delivery
that has to wait (a client that stopped reading) becomes a task: an idle member has
none. On other layers one task per channel blocks in ``receive`` (``pump``) and group
events are checked for gaps on the way.

A group event that the socket forwards (``forwarding``) is written straight to the
socket's ASGI ``send`` by a long-lived writer (``eager``); any other message goes to the
handler the socket set, the root consumer's ``on_layer_message``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, Final, Protocol, cast

from ..layers import ChannelLayer, WatchableLayer
from ..status import WS_1011_INTERNAL_ERROR
from .eager import NOTHING, WRITTEN, Writer, eager_writer, finish_writing, start_eagerly
from .forwarding import ForwardTable, forwarded_event
from .gaps import GapDetector
from .watermarks import WATERMARK

__all__ = ["Inbox", "LayerHandler", "Send", "Socket"]

log = logging.getLogger(__name__)

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
LayerHandler = Callable[[dict[str, Any]], Awaitable[None]]

# Delivery states of a watched channel: nothing under way; a delivery under way; one
# under way that refused a message, which the layer queued for it.
IDLE: Final = 0
BUSY: Final = 1
REFUSED: Final = 2


class Socket(Protocol):
    """What delivery needs of the socket it serves (``chgen.runtime.Connection``)."""

    @property
    def closed(self) -> bool: ...

    def gone(self, exc: Exception) -> None:
        """A write failed: the client left. Mark the socket closed and call
        ``socket_closed()`` on its delivery."""

    async def close(self, code: int = ..., reason: str = ...) -> None: ...


class Inbox:
    """The receiving half of a socket's group delivery; ``Delivery`` builds on it."""

    # One per socket, thousands at once: no per-instance __dict__.
    __slots__ = (
        "_context",
        "_delivering",
        "_forwards",
        "_gaps",
        "_handler",
        "_pump",
        "_send",
        "_socket",
        "_writer",
        "channel_name",
        "layer",
    )

    def __init__(self, socket: Socket, send: Send, layer: ChannelLayer) -> None:
        self.layer = layer
        self.channel_name: str | None = None  # made on the first join
        self._socket = socket
        self._send = send  # the socket's ASGI send, for forwarded events
        self._handler: LayerHandler | None = None
        # What the socket forwards; shared with sockets that forward the same.
        self._forwards: ForwardTable | None = None
        # Writes forwarded group events; made on first use, None again once closed.
        self._writer: Writer | None = None
        self._pump: asyncio.Task[None] | None = None  # reads, or delivers, the channel
        self._delivering = IDLE  # the state of deliveries on a watched channel
        self._gaps: GapDetector | None = None
        self._context: contextvars.Context | None = None

    def socket_closed(self) -> None:
        """The socket closed: forwarded events are no longer written to it."""
        self._writer = None

    # -- a watched channel ------------------------------------------------------------

    def _offer(self, message: dict[str, Any]) -> bool:
        """Deliver ``message`` now, unless a delivery is under way: the watch extension's
        ``offer``, called by the layer inside the sender's group_send.

        Busy, it returns False and the layer queues the message for the delivery under
        way. A delivery whose send has to wait (a slow client) goes on as a task; that
        holds up only this socket, while later messages wait in the layer.
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
                rest = None if awaited is WRITTEN else self._write_later(writer, awaited)
        except Exception as exc:
            self._failed(exc, event is not None, message)
            rest = None
        if rest is None and self._delivering == BUSY:  # nothing arrived meanwhile: done
            self._delivering = IDLE
            return True
        self._go_on(rest, event is not None)
        return True

    def _forwarded(self, message: dict[str, Any]) -> MutableMapping[str, Any] | None:
        """The ASGI event to send for ``message`` if it is a forwarded group event; then
        also makes the writer that sends it, unless the socket is closed."""
        forwards = self._forwards
        if forwards is None or self._handler is None:
            return None
        global _last_forward
        last = _last_forward
        if message is last[0] and forwards is last[1]:
            event = last[2]
        else:
            event = forwarded_event(message, forwards)
            _last_forward = (message, forwards, event)
        if event is not None and self._writer is None and not self._socket.closed:
            self._writer = eager_writer(self._send)
        return event

    def _write_later(self, writer: Writer, awaited: Any) -> Coroutine[Any, None, None]:
        # The write waits: a task finishes it with this writer, alone; the next event
        # that arrives meanwhile is written by the task, the forwarded way.
        self._writer = None
        return finish_writing(writer, awaited)

    def _failed(self, exc: Exception, sending: bool, message: dict[str, Any]) -> None:
        if sending:
            self._socket.gone(exc)
        else:
            log.exception("error handling layer message of type %r", message.get("type"))

    def _go_on(self, rest: Coroutine[Any, None, None] | None, sending: bool) -> None:
        """Finish in a task what could not be done at once: the rest of a delivery that
        waits, and the messages that arrived meanwhile (a handler sending to this socket's
        group: a task, so one that keeps sending to its own group cannot starve the loop)."""
        queued = self._take() if rest is None else None
        task = asyncio.get_running_loop().create_task(
            self._deliver_rest(rest, sending, queued), context=self._context
        )
        if rest is not None:
            # Cancelled before it starts, the task never awaits ``rest``: close it then.
            task.add_done_callback(_closer(rest))
        self._pump = task

    def _deliver_now(self, message: dict[str, Any]) -> Awaitable[None]:
        handler = self._handler
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
                        self._socket.gone(exc)
                    else:
                        log.exception("error handling a layer message")
                queued = self._take()
            await self._drain(queued)
        finally:
            # No await between the empty receive_nowait and this: a message that
            # arrives later finds no delivery under way and is offered again.
            self._delivering = IDLE
            self._pump = None

    async def _drain(self, queued: dict[str, Any] | None) -> None:
        # What queued behind a slow client goes out the way _offer would have sent it: a
        # forwarded event straight to the socket, without the handler chain. A client
        # that keeps falling behind drains this loop often.
        while queued is not None:
            event = self._forwarded(queued)
            try:
                if event is None:
                    await self._deliver_now(queued)
                elif not self._socket.closed:
                    await self._send(event)
            except Exception as exc:
                self._failed(exc, event is not None, queued)
            queued = self._take()

    # -- a channel read by a pump -----------------------------------------------------

    async def _handle(self, message: dict[str, Any]) -> None:
        handler = self._handler
        if handler is None:
            return
        if "seq" in message:
            if self._gaps is None:
                self._gaps = GapDetector()
            if not self._gaps.admits(message):
                return  # a watermark: nothing for the consumers
        try:
            await handler(message)
        except Exception:
            # A bad layer message must not end delivery for the rest of the connection.
            log.exception("error handling layer message of type %r", message.get("type"))

    async def _give_up(self) -> None:
        await self._socket.close(WS_1011_INTERNAL_ERROR, "channel layer unavailable")


# The last message _forwarded looked up, the table it was looked up in, and the event it
# gave. A group send offers one message object to every member, and the sockets of a room
# share one ForwardTable, so all but the first member reuse the event: one dict and one
# text, as in a hand-written broadcast, instead of a lookup and a copy of the frame each.
# Holding both keys keeps them alive, so an identity match is never a stale one.
_last_forward: tuple[object, object, MutableMapping[str, Any] | None] = (None, None, None)


def _closer(coro: Coroutine[Any, None, None]) -> Callable[[object], None]:
    return lambda _: coro.close()
