"""The generic bases of a generated client: what ``ChatStream``, ``LobbyClient`` and
``ChatSocket`` in ``generated/<app>/client.py`` extend with the spec's types.

A generated stream has four parts, each a small class of one method per message or event
type: ``send`` (fire and forget), ``request`` (returns the reply), ``on`` (callbacks) and
``events`` (async iterators). Each method hands its payload classes to the ``Channel``,
which does the work; the generated code holds nothing but the types.
"""

from __future__ import annotations

from typing import Self, TypeVar
from urllib.parse import quote

from .channel import Channel, ChgenSubscription
from .connection import Connection
from .errors import ChgenError, ChgenGap
from .listeners import Listener, Unsubscribe
from .options import ClientOptions
from .recovery import ChgenRecovery

__all__ = ["ChgenClient", "ChgenSocket", "ChgenStream", "ChgenStreamPart"]

P = TypeVar("P")
R = TypeVar("R")
E = TypeVar("E")


class ChgenStreamPart:
    """Base of a generated stream's ``send``, ``request``, ``on`` and ``events`` parts.
    Its members start with ``_``: message and event names never do."""

    __slots__ = ("_channel",)

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def _send(self, msg_type: str, payload: type[P], data: P) -> None:
        await self._channel.send(msg_type, payload, data)

    async def _request(
        self, msg_type: str, payload: type[P], data: P, reply: type[R], timeout: float | None
    ) -> R:
        return await self._channel.request(msg_type, payload, data, reply, timeout)

    async def _request_ack(
        self, msg_type: str, payload: type[P], data: P, timeout: float | None
    ) -> None:
        await self._channel.request_ack(msg_type, payload, data, timeout)

    def _on(self, event: str, payload: type[E], listener: Listener[E]) -> Unsubscribe:
        return self._channel.on(event, payload, listener)

    def _iterate(self, event: str, payload: type[E], limit: int) -> ChgenSubscription[E]:
        return self._channel.iterate(event, payload, limit)


class ChgenStream:
    """One consumer's typed API over a ``Channel`` (a stream, or a whole socket). A
    generated ``ChatStream`` sets its ``send``, ``request``, ``on`` and ``events``."""

    def __init__(self, channel: Channel) -> None:
        #: The untyped channel underneath.
        self.channel = channel

    def on_error(self, listener: Listener[ChgenError]) -> Unsubscribe:
        """Errors on this stream that answer no pending request."""
        return self.channel.on_error(listener)

    def on_gap(self, listener: Listener[ChgenGap]) -> Unsubscribe:
        """Group events of this stream that never reached the socket; see ``ChgenGap``."""
        return self.channel.on_gap(listener)

    def on_recovery(self, listener: Listener[ChgenRecovery]) -> Unsubscribe:
        """What became of this stream's missed events after each connect; see
        ``ChgenRecovery``."""
        return self.channel.on_recovery(listener)


class _Lifecycle:
    """A socket's start and end, and ``async with``: started on entry, closed on exit."""

    connection: Connection

    def start(self) -> None:
        """Starts connecting (see ``Connection.start``)."""
        self.connection.start()

    async def opened(self) -> None:
        """Returns once the socket is open (see ``Connection.opened``)."""
        await self.connection.opened()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Closes the socket for good (see ``Connection.close``)."""
        await self.connection.close(code, reason)

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @staticmethod
    def url(base: str, template: str, **params: str) -> str:
        """``template`` (a route's path, its parameters in braces) on the server at
        ``base``, each parameter percent-encoded. For the generated URL functions."""
        encoded = {name: quote(value, safe="") for name, value in params.items()}
        return base.rstrip("/") + template.format(**encoded)


class ChgenClient(_Lifecycle):
    """Base of a socket to a demultiplexer (``LobbyClient``): one ``Connection``, a typed
    stream per stream name, each an attribute."""

    def __init__(self, url: str, options: ClientOptions | None = None) -> None:
        self.connection = Connection(url, options)

    def _stream(self, stream: str) -> Channel:
        return self.connection.channel(stream)


class ChgenSocket(_Lifecycle):
    """Base of a socket served by one consumer alone (``ChatSocket``), whose stream API is
    the socket's own."""

    def __init__(self, url: str, options: ClientOptions | None = None) -> None:
        self.connection = Connection(url, options)

    def _stream(self) -> Channel:
        return self.connection.channel(None)
