"""The inbox: a socket's layer channel, and how what arrives on it reaches the socket.

The channel is on a layer with the watch extension: the runtime's in-memory layer, or a
``relay`` of any other layer. A message is delivered as soon as it arrives, inside the
sender's ``group_send`` (or the relay's reader), and only a delivery that has to wait (a
client that stopped reading) becomes a task: an idle member has none.

A group event that the socket forwards (``forwarding``) is written straight to the
socket's ASGI ``send`` by a long-lived writer (``eager``); any other message goes to the
handler the socket set, the root consumer's ``on_layer_message``.

A client that stops reading has its events queued, up to the layer's capacity; past it
they are dropped. That is one incident, logged once with its count when the client
catches up (and reported to it as a gap), or, if its queue stays full for
``stall_timeout`` seconds, ended by closing the socket with 1013 and leaving its groups.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from time import monotonic
from typing import Any, Final, Protocol

from ..layers import WatchableLayer
from ..status import WS_1011_INTERNAL_ERROR, WS_1013_TRY_AGAIN_LATER
from .eager import NOTHING, WRITTEN, Writer, eager_writer, finish_writing, start_eagerly
from .forwarding import ForwardTable, forwarded_event
from .watermarks import WATERMARK

__all__ = ["SLOW", "STALL_TIMEOUT", "GapHandler", "Inbox", "LayerHandler", "Send", "Socket"]

log = logging.getLogger(__name__)

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
LayerHandler = Callable[[dict[str, Any]], Awaitable[None]]
# Tells the socket's client that group events never reached it: (group or None for
# every group, how many or None when not known, why); await the result.
GapHandler = Callable[[str | None, int | None, str], Awaitable[None]]

# Seconds a socket's queue of group events may stay full before the socket is closed.
STALL_TIMEOUT: Final = 30.0
# Why a socket missed group events, as its gap report says: it read too slowly.
SLOW: Final = "slow"

# Delivery states of a watched channel: nothing under way; a delivery under way; one
# under way that refused a message, which the layer queued for it.
IDLE: Final = 0
BUSY: Final = 1
REFUSED: Final = 2


class Socket(Protocol):
    """What delivery needs of the socket it serves (``chgen.runtime.Connection``)."""

    @property
    def closed(self) -> bool: ...

    @property
    def scope(self) -> MutableMapping[str, Any]: ...

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
        "_dropped",
        "_dropping_since",
        "_forwards",
        "_gap_handler",
        "_handler",
        "_pump",
        "_send",
        "_side_tasks",
        "_socket",
        "_stall_timeout",
        "_writer",
        "channel_name",
        "layer",
        "lost",
    )

    def __init__(
        self,
        socket: Socket,
        send: Send,
        layer: WatchableLayer,
        stall_timeout: float | None = STALL_TIMEOUT,
    ) -> None:
        self.layer = layer
        self.channel_name: str | None = None  # made on the first join
        self.lost = 0  # group events addressed to the socket that never reached it
        self._socket = socket
        self._send = send  # the socket's ASGI send, for forwarded events
        self._handler: LayerHandler | None = None
        self._gap_handler: GapHandler | None = None
        # What the socket forwards; shared with sockets that forward the same.
        self._forwards: ForwardTable | None = None
        # Writes forwarded group events; made on first use, None again once closed.
        self._writer: Writer | None = None
        self._pump: asyncio.Task[None] | None = None  # delivers what queued on the channel
        self._delivering = IDLE  # the state of deliveries on the channel
        self._context: contextvars.Context | None = None
        self._stall_timeout = stall_timeout
        self._dropping_since: float | None = None  # when its queue first overflowed
        self._dropped = 0  # events dropped since then
        self._side_tasks: set[asyncio.Task[None]] | None = None  # gap reports, closes

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
        """The layer dropped ``message``: the socket's queue is full (the watch extension's
        ``lost``, called inside the sender's group_send). Counted, logged once per time
        the client falls behind; a queue full for too long closes the socket."""
        self.lost += 1
        self._dropped += 1
        now = monotonic()
        if self._dropping_since is None:
            self._dropping_since = now
        elif self._stall_timeout is not None and now - self._dropping_since >= self._stall_timeout:
            self._evict(now - self._dropping_since)

    def _caught_up(self) -> None:
        """The queue emptied after events were dropped: log the incident, tell the client."""
        assert self._dropping_since is not None
        behind, dropped = monotonic() - self._dropping_since, self._dropped
        self._dropping_since, self._dropped = None, 0
        log.warning(
            "a socket on %s read too slowly for %.1f s: %d group event(s) dropped for it",
            _path(self._socket),
            behind,
            dropped,
        )
        self._report(None, dropped, SLOW)

    def _evict(self, behind: float) -> None:
        """Close a socket whose queue stayed full, and leave its groups now; the close
        itself may wait for a transport that is not read (the ASGI server's ping
        timeout ends that)."""
        dropped = self._dropped
        self._dropping_since, self._dropped = None, 0
        self._stall_timeout = None  # once
        log.warning(
            "closed a socket on %s with 1013: its queue of group events stayed full for "
            "%.0f s; %d event(s) dropped for it",
            _path(self._socket),
            behind,
            dropped,
        )
        self._spawn(self._evicted())

    async def _evicted(self) -> None:
        await self._leave_all()
        await self._socket.close(WS_1013_TRY_AGAIN_LATER, "too slow: group events dropped")

    async def _leave_all(self) -> None:
        """Leave every group and stop receiving (``Delivery.release``)."""
        raise NotImplementedError

    # -- what the relay of a layer tells the socket (relay.Member) ---------------------

    def gap(self, group: str | None, lost: int | None, reason: str) -> None:
        if lost:
            self.lost += lost
        self._report(group, lost, reason)

    def layer_gone(self) -> None:
        self._spawn(self._socket.close(WS_1011_INTERNAL_ERROR, "channel layer unavailable"))

    def _report(self, group: str | None, lost: int | None, reason: str) -> None:
        handler = self._gap_handler
        if handler is not None and not self._socket.closed:
            self._spawn(_awaited(handler(group, lost, reason)))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, context=self._context)
        if self._side_tasks is None:
            self._side_tasks = set()
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _take(self) -> dict[str, Any] | None:
        if self.channel_name is None:
            return None
        return self.layer.receive_nowait(self.channel_name)

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
            if self._dropping_since is not None:
                self._caught_up()
        finally:
            # No await between the empty receive_nowait and this: a message that
            # arrives later finds no delivery under way and is offered again.
            self._delivering = IDLE
            self._pump = None

    async def _drain(
        self,
        queued: dict[str, Any] | None,
        unseen: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    ) -> None:
        # What queued behind a slow client goes out the way _offer would have sent it: a
        # forwarded event straight to the socket, without the handler chain. A client
        # that keeps falling behind drains this loop often. ``unseen``: what is left of
        # a message after what the socket had already (a recovery's replay); None, skip it.
        while queued is not None:
            if unseen is not None:
                left = unseen(queued)
                if left is None:
                    queued = self._take()
                    continue
                queued = left
            event = self._forwarded(queued)
            try:
                if event is None:
                    await self._deliver_now(queued)
                elif not self._socket.closed:
                    await self._send(event)
            except Exception as exc:
                self._failed(exc, event is not None, queued)
            queued = self._take()


# The last message _forwarded looked up, the table it was looked up in, and the event it
# gave. A group send offers one message object to every member, and the sockets of a room
# share one ForwardTable, so all but the first member reuse the event: one dict and one
# text, as in a hand-written broadcast, instead of a lookup and a copy of the frame each.
# Holding both keys keeps them alive, so an identity match is never a stale one.
_last_forward: tuple[object, object, MutableMapping[str, Any] | None] = (None, None, None)


def _closer(coro: Coroutine[Any, None, None]) -> Callable[[object], None]:
    return lambda _: coro.close()


async def _awaited(awaitable: Awaitable[None]) -> None:
    await awaitable


def _path(socket: Socket) -> str:
    path = str(socket.scope.get("path", "?"))
    return repr(path if len(path) <= 64 else path[:64] + "...")
