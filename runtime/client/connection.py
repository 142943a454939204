"""One socket to a chgen server, over the ``websockets`` library: a send queue, request
ids, and reconnects with backoff and jitter after unexpected closes.

It behaves as the JavaScript client's ``Connection`` does (docs/client.md): frames sent
while the socket is not open wait in a queue and go out in order once it opens; when the
socket drops, requests already sent fail with ``disconnected`` (the server may or may not
have handled them) while queued ones wait for the next socket; a refused handshake fails
every waiting request with ``handshake_refused``. ``close()`` is final.

Everything runs on the event loop that called ``start()``; nothing here is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import attrs

from ..protocol import MessageId, ProtocolError
from .channel import Channel
from .errors import (
    AUTH_FAILED,
    BAD_RESPONSE,
    CLOSED,
    DISCONNECTED,
    HANDSHAKE_REFUSED,
    QUEUE_FULL,
    TIMEOUT,
    ChgenError,
    ChgenGap,
)
from .frames import (
    ErrorReport,
    Event,
    GapReport,
    RecoveryReport,
    Reply,
    message_text,
    read_frame,
)
from .listeners import Listener, Listeners, Unsubscribe
from .options import ClientOptions
from .recovery import ChgenRecovery, Positions, read_recovery

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

__all__ = ["Connection", "ConnectionState"]

log = logging.getLogger("chgen.client")

#: ``connecting`` until the socket first opens (retries of a first connection stay
#: ``connecting``), then ``open``, ``reconnecting`` after an unexpected close, and
#: finally ``closed``.
ConnectionState = Literal["connecting", "open", "reconnecting", "closed"]

_INSTALL = (
    "the chgen Python client needs the websockets package: "
    "pip install 'chgen[client]' (or pip install websockets)"
)


def _websockets() -> Any:
    try:
        import websockets.asyncio.client
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    return websockets


@attrs.define
class _Pending:
    """A request waiting for its answer."""

    future: asyncio.Future[Any]
    stream: str | None
    msg_type: str
    decode: Callable[[Any], Any]
    sent: bool = False


class _Refused(Exception):
    """A connection attempt that cannot succeed as it stands (refused handshake, failed
    token): waiting requests fail now; the client still retries."""

    def __init__(self, error: ChgenError) -> None:
        self.error = error


class Connection:
    """One WebSocket to ``url``, reconnected after unexpected closes (see the module)."""

    def __init__(self, url: str, options: ClientOptions | None = None) -> None:
        #: The URL the socket connects to (without the ``Auth`` token).
        self.url = url
        self.options = options or ClientOptions()
        self._state: ConnectionState = "connecting"
        self._socket: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_id = 0
        self._pending: dict[int, _Pending] = {}
        self._queue: list[tuple[str, int | None]] = []
        self._channels: dict[str | None, Channel] = {}
        self._multiplexed = False
        self._states: Listeners[ConnectionState] = Listeners()
        self._errors: Listeners[ChgenError] = Listeners()
        self._gaps: Listeners[ChgenGap] = Listeners()
        self._recoveries: Listeners[ChgenRecovery] = Listeners()
        self._positions = Positions()
        self._recovered: bool | None = None

    # -- the user's API ---------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def recovered(self) -> bool | None:
        """Whether the current connection recovered every event missed while away; None
        until the server said so (and without ``ClientOptions.recover``)."""
        return self._recovered

    def start(self) -> None:
        """Starts connecting, in a task of the running event loop; frames sent before the
        socket opens wait in the queue. Raises ImportError without ``websockets``."""
        if self._task is not None or self._state == "closed":
            return
        _websockets()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "start() needs a running event loop: call it from async code, "
                "or use `async with` on the client"
            ) from None
        self._task = loop.create_task(self._run(), name=f"chgen client {self.url}")
        self._task.add_done_callback(self._stopped)

    async def opened(self) -> None:
        """Returns once the socket is open; raises ChgenError ``closed`` if the client
        closes first (``close()``, or reconnecting gave up). Bound it with
        ``asyncio.timeout``: while the server cannot be reached, it keeps waiting."""
        if self._state != "open":
            loop = asyncio.get_running_loop()
            reached: asyncio.Future[ConnectionState] = loop.create_future()

            def watch(state: ConnectionState) -> None:
                if state in ("open", "closed") and not reached.done():
                    reached.set_result(state)

            stop = self.on_state(watch)
            try:
                if self._state == "closed" or await reached == "closed":
                    raise ChgenError(CLOSED, "connection closed")
            finally:
                stop()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Closes for good: no reconnect; pending and queued requests fail with
        ``closed``. The socket is closed with ``code`` and ``reason``."""
        socket, task = self._socket, self._task
        self._end()
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if socket is not None:
            await socket.close(code, reason)

    def on_state(self, listener: Listener[ConnectionState]) -> Unsubscribe:
        """Calls ``listener`` on every state change (not with the current state)."""
        return self._states.add(listener)

    def on_error(self, listener: Listener[ChgenError]) -> Unsubscribe:
        """Calls ``listener`` with errors that answer no request and belong to no channel
        listening for errors: errors outside any stream (``bad_json``, ``bad_frame``,
        ``unknown_stream``), unreadable frames (``bad_response``), failed connection
        attempts (``handshake_refused``, ``auth_failed``), and a channel's errors when it
        has no ``on_error`` listener."""
        return self._errors.add(listener)

    def on_gap(self, listener: Listener[ChgenGap]) -> Unsubscribe:
        """Calls ``listener`` with every gap report on this socket, whatever its stream,
        after the channel's own ``on_gap`` listeners."""
        return self._gaps.add(listener)

    def on_recovery(self, listener: Listener[ChgenRecovery]) -> Unsubscribe:
        """Calls ``listener`` after each connect with what became of the events the whole
        socket missed, after the streams' own ``on_recovery`` listeners."""
        return self._recoveries.add(listener)

    def channel(self, stream: str | None) -> Channel:
        """The channel of ``stream``, the same object for the same name. None is the
        socket itself when it is not multiplexed."""
        channel = self._channels.get(stream)
        if channel is None:
            channel = self._channels[stream] = Channel(self, stream)
            self._multiplexed = self._multiplexed or stream is not None
        return channel

    # -- what channels call -----------------------------------------------------------

    async def send_message(self, stream: str | None, msg_type: str, data: Any) -> None:
        await self._put(message_text(stream, msg_type, data, None), None, stream)

    async def request(
        self,
        stream: str | None,
        msg_type: str,
        data: Any,
        decode: Callable[[Any], Any],
        timeout: float | None,
    ) -> Any:
        self._last_id += 1
        msg_id = self._last_id
        future = asyncio.get_running_loop().create_future()
        pending = self._pending[msg_id] = _Pending(future, stream, msg_type, decode)
        seconds = self.options.request_timeout if timeout is None else timeout
        timer = None
        try:
            await self._put(message_text(stream, msg_type, data, msg_id), msg_id, stream)
            if seconds is not None and seconds != float("inf"):
                timer = asyncio.get_running_loop().call_later(
                    seconds, self._expire, msg_id, seconds
                )
            return await future
        finally:
            if timer is not None:
                timer.cancel()
            if self._pending.get(msg_id) is pending:  # cancelled by the caller
                del self._pending[msg_id]
                self._unqueue(msg_id)

    def report(self, error: ChgenError) -> None:
        self._errors.emit(error)

    def gapped(self, gap: ChgenGap) -> None:
        self._gaps.emit(gap)

    # -- sending ----------------------------------------------------------------------

    async def _put(self, text: str, msg_id: int | None, stream: str | None) -> None:
        if self._state == "closed":
            raise ChgenError(CLOSED, "connection closed", stream=stream, id=msg_id)
        socket = self._socket
        if self._state == "open" and socket is not None:
            await self._write(socket, text, msg_id, stream)
        elif len(self._queue) < self.options.queue_limit:
            self._queue.append((text, msg_id))
        else:
            raise ChgenError(QUEUE_FULL, "send queue full", stream=stream, id=msg_id)

    async def _write(
        self, socket: ClientConnection, text: str, msg_id: int | None, stream: str | None
    ) -> None:
        pending = self._pending.get(msg_id) if msg_id is not None else None
        if pending is not None:
            pending.sent = True
        try:
            await socket.send(text)
        except _websockets().exceptions.ConnectionClosed:
            # The socket closed before the frame was written.
            if pending is None:
                raise ChgenError(DISCONNECTED, "connection lost; not sent", stream=stream) from None
            self._settle(msg_id, ChgenError(DISCONNECTED, "connection lost", (), stream, msg_id))

    def _unqueue(self, msg_id: int) -> None:
        self._queue = [entry for entry in self._queue if entry[1] != msg_id]

    # -- settling requests ------------------------------------------------------------

    def _settle(self, msg_id: Any, error: ChgenError | None = None, value: Any = None) -> None:
        pending = self._pending.pop(msg_id, None)
        if pending is None:
            return  # answered already, timed out or cancelled: a late answer is dropped
        self._unqueue(msg_id)
        if pending.future.done():
            return
        if error is not None:
            pending.future.set_exception(error)
        else:
            pending.future.set_result(value)

    def _fail(self, msg_id: int, code: str, message: str, status: int | None = None) -> None:
        pending = self._pending.get(msg_id)
        if pending is not None:
            error = ChgenError(code, message, (), pending.stream, msg_id, status)
            self._settle(msg_id, error)

    def _expire(self, msg_id: int, seconds: float) -> None:
        pending = self._pending.get(msg_id)
        if pending is None:
            return
        if any(entry[1] == msg_id for entry in self._queue):
            message = f"{pending.msg_type} not sent in {seconds:g} s: the socket did not open"
        else:
            message = f"no answer to {pending.msg_type} in {seconds:g} s"
        self._fail(msg_id, TIMEOUT, message)

    # -- the socket's life ------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        errors = _websockets().exceptions
        while not self._closed():
            try:
                socket = await self._open()
            except _Refused as refused:
                self._refuse(refused.error)
            except (OSError, TimeoutError, errors.WebSocketException) as exc:
                log.debug("connecting to %s failed: %s", self.url, exc)
            else:
                attempt = 0
                await self._serve(socket)
            if self._closed():
                return
            self._drop()
            reconnect = self.options.reconnect
            if reconnect is None or (
                reconnect.max_attempts is not None and attempt >= reconnect.max_attempts
            ):
                self._end()
                return
            if self._state == "open":
                self._set_state("reconnecting")
            await asyncio.sleep(reconnect.delay(attempt, self.options.random))
            attempt += 1

    async def _open(self) -> ClientConnection:
        websockets = _websockets()
        url, protocols, headers = self.url, list(self.options.protocols), {**self.options.headers}
        auth = self.options.auth
        if auth is not None:
            token = await self._token()
            if auth.where == "protocol":
                protocols.append((auth.name or "") + token)
            elif auth.where == "header":
                headers[auth.name or "Authorization"] = token
            else:
                separator = "&" if "?" in url else "?"
                url += f"{separator}{quote(auth.name or 'token', safe='')}={quote(token, safe='')}"
        if self.options.recover:
            url += ("&" if "?" in url else "?") + self._positions.query()
        self._recovered = None
        try:
            socket: ClientConnection = await websockets.asyncio.client.connect(
                url,
                subprotocols=protocols or None,
                additional_headers=headers or None,
                open_timeout=self.options.open_timeout,
                compression=None,
            )
        except websockets.exceptions.InvalidStatus as exc:
            status = exc.response.status_code
            error = ChgenError(HANDSHAKE_REFUSED, f"handshake refused with status {status}")
            error.status = status
            raise _Refused(error) from None
        return socket

    async def _token(self) -> str:
        assert self.options.auth is not None
        try:
            token = self.options.auth.token()
            if not isinstance(token, str):
                token = await token
        except Exception as exc:
            raise _Refused(ChgenError(AUTH_FAILED, f"auth token failed: {exc}")) from None
        if not isinstance(token, str):
            raise _Refused(ChgenError(AUTH_FAILED, f"auth token is not a string: {token!r}"))
        return token

    async def _serve(self, socket: ClientConnection) -> None:
        """Flushes the queue, then reads until the socket closes."""
        self._socket = socket
        closed = _websockets().exceptions.ConnectionClosed
        try:
            while self._queue and not self._closed():
                text, msg_id = self._queue.pop(0)
                pending = self._pending.get(msg_id) if msg_id is not None else None
                if pending is not None:
                    pending.sent = True
                try:
                    await socket.send(text)
                except closed:
                    self._queue.insert(0, (text, msg_id))  # not written: keep it queued
                    if pending is not None:
                        pending.sent = False
                    raise
            if not self._closed():
                self._set_state("open")
            async for raw in socket:
                self._receive(raw)
        except closed:
            pass
        finally:
            self._socket = None

    def _refuse(self, error: ChgenError) -> None:
        for msg_id in list(self._pending):
            self._fail(msg_id, error.code, error.message, error.status)
        self.report(error)

    def _drop(self) -> None:
        """The socket is gone: requests it carried fail; queued ones wait for the next."""
        queued = {entry[1] for entry in self._queue}
        for msg_id, pending in list(self._pending.items()):
            if pending.sent and msg_id not in queued:
                self._fail(msg_id, DISCONNECTED, "connection lost")

    def _end(self) -> None:
        if self._state == "closed":
            return
        self._set_state("closed")
        for msg_id in list(self._pending):
            self._fail(msg_id, CLOSED, "connection closed")
        self._queue.clear()

    def _closed(self) -> bool:
        return self._state == "closed"

    def _set_state(self, state: ConnectionState) -> None:
        if self._state != state:
            self._state = state
            self._states.emit(state)

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the chgen client of %s stopped", self.url, exc_info=task.exception())
            self._end()

    # -- receiving --------------------------------------------------------------------

    def _receive(self, raw: str | bytes) -> None:
        incoming = read_frame(raw, self._multiplexed)
        if isinstance(incoming, Reply):
            self._reply(incoming)
            return
        if isinstance(incoming, ErrorReport):
            error = incoming.error
            if error.id is not None:
                self._settle(error.id, error)
            else:
                channel = self._channels.get(error.stream) if incoming.wrapped else None
                (channel.fail if channel is not None else self.report)(error)
            return
        stream = incoming.gap.stream if isinstance(incoming, GapReport) else incoming.stream
        channel = self._channels.get(stream)
        if isinstance(incoming, Event):
            recovering = incoming.pos is not None and self.options.recover
            if recovering and not self._positions.seen(stream, incoming.pos):
                return  # a replayed copy of an event delivered before the drop
            if channel is not None:
                channel.deliver(incoming.type, incoming.data)
        elif isinstance(incoming, RecoveryReport):
            self._recovering(channel, incoming)
        elif isinstance(incoming, GapReport):
            if channel is not None:
                channel.gapped(incoming.gap)
            else:
                self.gapped(incoming.gap)
        else:
            self.report(ChgenError(BAD_RESPONSE, "unreadable frame from server", (), stream))

    def _recovering(self, channel: Channel | None, report: RecoveryReport) -> None:
        """A recovery frame: the stream's new positions, then its listeners; the
        socket's outcome, unwrapped, to the connection's."""
        recovery, groups = read_recovery(report.body, report.stream)
        if type(report.body) is dict and type(report.body.get("groups")) is dict:
            self._positions.told(report.stream, groups)
            if channel is not None:
                channel.recovered(recovery)
        if report.stream is None:
            self._recovered = recovery.recovered
            self._recoveries.emit(recovery)

    def _reply(self, reply: Reply) -> None:
        pending = self._pending.get(reply.id) if type(reply.id) is int else None
        if pending is None:
            return
        msg_id: MessageId = reply.id
        try:
            value = pending.decode(reply.data)
        except ProtocolError as exc:
            error = ChgenError(BAD_RESPONSE, exc.message, exc.details, reply.stream, msg_id)
            self._settle(msg_id, error)
            return
        self._settle(msg_id, value=value)
