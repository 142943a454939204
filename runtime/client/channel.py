"""One stream of a client's socket (or the whole socket, unmultiplexed), untyped, and the
async iterator of one of its events.

A generated stream class (``ChatStream``) speaks through a ``Channel``: it hands over
payload instances and payload classes, and the channel encodes, checks and decodes them
with the runtime's own converters (``chgen.runtime.codec``), exactly as the server does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from ..codec import decoder, encoder
from ..outbound import InvalidPayload
from ..protocol import INVALID, ProtocolError
from .errors import BAD_RESPONSE, ChgenError, ChgenGap
from .listeners import Listener, Listeners, Unsubscribe
from .recovery import ChgenRecovery

__all__ = ["Channel", "ChgenSubscription"]

P = TypeVar("P")
R = TypeVar("R")
E = TypeVar("E")

Decode = Callable[[Any], Any]


# One decoder per payload class, made on first use (the runtime's converter caches the
# structuring hook; this keeps the function around it).
_DECODERS: dict[type[Any], Decode] = {}


def _decoder(cls: type[Any]) -> Decode:
    found = _DECODERS.get(cls)
    if found is None:
        found = _DECODERS[cls] = decoder(cls)
    return found


def _no_data(data: Any) -> None:
    if data is not None:
        raise ProtocolError(INVALID, "a reply without a payload must have null data")


class Link(Protocol):
    """What a channel needs of its connection (``connection.Connection``)."""

    async def send_message(self, stream: str | None, msg_type: str, data: Any) -> None: ...

    async def request(
        self,
        stream: str | None,
        msg_type: str,
        data: Any,
        decode: Decode,
        timeout: float | None,
    ) -> Any: ...

    def report(self, error: ChgenError) -> None: ...

    def gapped(self, gap: ChgenGap) -> None: ...

    def on_state(self, listener: Listener[Any]) -> Unsubscribe: ...


class Channel:
    """One stream of a multiplexed socket, or the whole socket when it is not multiplexed.
    Get it from ``Connection.channel``."""

    def __init__(self, connection: Link, stream: str | None) -> None:
        self.connection = connection
        #: The stream name; None for an unmultiplexed socket.
        self.stream = stream
        self._events: dict[str, tuple[Decode, Listeners[Any]]] = {}
        self._errors: Listeners[ChgenError] = Listeners()
        self._gaps: Listeners[ChgenGap] = Listeners()
        self._recoveries: Listeners[ChgenRecovery] = Listeners()

    # -- sending --------------------------------------------------------------------

    async def send(self, msg_type: str, payload: type[P], data: P) -> None:
        """Sends a message that asks for no answer. Raises ChgenError ``invalid`` (the
        data does not fit its payload: nothing is sent), ``queue_full``, ``closed``, or
        ``disconnected`` (the socket closed as it was written)."""
        await self.connection.send_message(self.stream, msg_type, self._encode(payload, data))

    async def request(
        self,
        msg_type: str,
        payload: type[P],
        data: P,
        reply: type[R],
        timeout: float | None = None,
    ) -> R:
        """Sends a message with a fresh id and returns the reply, a ``reply`` instance.
        ``timeout``: seconds, default the client's ``request_timeout``. Raises ChgenError:
        the server's error, or ``invalid``, ``timeout``, ``disconnected``, ``closed``,
        ``queue_full``, ``handshake_refused``, ``auth_failed``, ``bad_response``."""
        wire = self._encode(payload, data)
        found = await self.connection.request(self.stream, msg_type, wire, _decoder(reply), timeout)
        return found  # type: ignore[no-any-return]

    async def request_ack(
        self, msg_type: str, payload: type[P], data: P, timeout: float | None = None
    ) -> None:
        """``request`` for a message whose handler declares no reply: returns None once
        the server acknowledged it."""
        wire = self._encode(payload, data)
        await self.connection.request(self.stream, msg_type, wire, _no_data, timeout)

    def _encode(self, payload: type[P], data: P) -> Any:
        try:
            return encoder(payload)(data)
        except InvalidPayload as exc:
            message = f"invalid {payload.__name__} payload"
            raise ChgenError(INVALID, message, exc.details, self.stream) from None

    # -- listening ------------------------------------------------------------------

    def on(self, event: str, payload: type[E], listener: Listener[E]) -> Unsubscribe:
        """Calls ``listener`` with every ``event`` on this channel, a ``payload``
        instance. Returns the function that stops it."""
        entry = self._events.get(event)
        if entry is None:
            entry = self._events[event] = (_decoder(payload), Listeners())
        return entry[1].add(listener)

    def iterate(self, event: str, payload: type[E], limit: int = 1000) -> ChgenSubscription[E]:
        """An async iterator of every ``event`` from now on; see ``ChgenSubscription``."""
        return ChgenSubscription(self, event, payload, limit)

    def on_error(self, listener: Listener[ChgenError]) -> Unsubscribe:
        """Calls ``listener`` with this channel's errors that answer no pending request
        (instead of the connection's ``on_error`` listeners)."""
        return self._errors.add(listener)

    def on_gap(self, listener: Listener[ChgenGap]) -> Unsubscribe:
        """Calls ``listener`` when group events meant for this channel never reached it;
        resynchronise what they would have changed."""
        return self._gaps.add(listener)

    def on_recovery(self, listener: Listener[ChgenRecovery]) -> Unsubscribe:
        """Calls ``listener`` after each connect with what became of this channel's missed
        events, once they are replayed (see ``ChgenRecovery``)."""
        return self._recoveries.add(listener)

    # -- what the connection hands over ---------------------------------------------

    def deliver(self, event: str, data: Any) -> None:
        entry = self._events.get(event)
        if entry is None or not entry[1]:
            return  # nobody listens: not even decoded
        decode, listeners = entry
        try:
            value = decode(data)
        except ProtocolError as exc:
            self.fail(ChgenError(BAD_RESPONSE, exc.message, exc.details, self.stream))
            return
        listeners.emit(value)

    def fail(self, error: ChgenError) -> None:
        if self._errors:
            self._errors.emit(error)
        else:
            self.connection.report(error)

    def gapped(self, gap: ChgenGap) -> None:
        self._gaps.emit(gap)
        self.connection.gapped(gap)

    def recovered(self, recovery: ChgenRecovery) -> None:
        self._recoveries.emit(recovery)


class ChgenSubscription(Generic[E]):
    """The payloads of one event, from the moment it was made, as an async iterator:
    ``async for posted in client.chat.events.posted(): ...``. It ends when the client
    is closed for good (a reconnect does not end it), or at ``close()``.

    At most ``limit`` payloads wait to be read. Past that, newer ones are dropped, and
    once the reader has caught up, the channel's ``on_gap`` listeners hear how many, as a
    gap of reason ``slow``: the events are gone, as with the server's own gap reports.
    """

    def __init__(self, channel: Channel, event: str, payload: type[E], limit: int) -> None:
        self._channel = channel
        self._buffer: deque[E] = deque()
        self._limit = limit
        self._dropped = 0
        self._ended = False
        self._waiter: asyncio.Future[None] | None = None
        self._stop = channel.on(event, payload, self._put)
        self._stop_state = channel.connection.on_state(self._state)

    def __aiter__(self) -> ChgenSubscription[E]:
        return self

    async def __anext__(self) -> E:
        while not self._buffer:
            if self._ended:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._buffer.popleft()
        if not self._buffer and self._dropped:
            dropped, self._dropped = self._dropped, 0
            self._channel.gapped(ChgenGap(self._channel.stream, dropped, "slow"))
        return item

    def close(self) -> None:
        """Stops listening; what is buffered can still be read, then iteration ends."""
        self._stop()
        self._stop_state()
        self._ended = True
        self._wake()

    def __enter__(self) -> ChgenSubscription[E]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _put(self, item: E) -> None:
        if len(self._buffer) >= self._limit:
            self._dropped += 1
            return
        self._buffer.append(item)
        self._wake()

    def _state(self, state: str) -> None:
        if state == "closed":
            self.close()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
