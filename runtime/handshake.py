"""A deadline for the HTTP request that opens a socket, for uvicorn, which sets none.

uvicorn waits as long as a client likes for the request line and headers of a handshake:
silent connections, half-sent headers and a header line every few seconds (slowloris)
are all held open, each costing a file descriptor, until the client gives up. An ASGI
app never hears of them (it is called once the headers are complete), so the deadline
has to live in the server's protocol. Serve with::

    uvicorn myapp.routing:application --http chgen.runtime.handshake:AutoHTTPProtocol

and a connection that has not sent a complete request head within ``handshake_timeout``
seconds of connecting (or of starting its next request) is closed, with one log line.
The default is 10 seconds, or ``CHGEN_HANDSHAKE_TIMEOUT`` from the environment; a
subclass may set its own ``handshake_timeout``. ``HttpToolsProtocol`` and ``H11Protocol``
extend uvicorn's two parsers; ``AutoHTTPProtocol`` is the first, when httptools is
installed, as uvicorn's ``--http auto`` picks it. Sockets that finished their handshake
are not affected.

This module imports uvicorn: import it only where uvicorn serves the app.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol as _H11Protocol

__all__ = ["DEFAULT_TIMEOUT", "AutoHTTPProtocol", "H11Protocol", "HttpToolsProtocol"]

log = logging.getLogger(__name__)


def _default_timeout() -> float:
    text = os.environ.get("CHGEN_HANDSHAKE_TIMEOUT", "10")
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"CHGEN_HANDSHAKE_TIMEOUT must be positive seconds, got {text!r}")
    return value


DEFAULT_TIMEOUT = _default_timeout()


class _Deadline:
    """Closes the connection unless the request head is complete in time."""

    handshake_timeout: ClassVar[float] = DEFAULT_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    client: Any

    def _start_deadline(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.handshake_timeout, self._too_slow)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "an unknown client"
        log.info(
            "closed a connection from %s that sent no complete request head in %g s",
            client,
            self.handshake_timeout,
        )
        self.transport.close()


class H11Protocol(_Deadline, _H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request head."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._start_deadline()  # the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE or self.transport.get_protocol() is not self:
            self._stop_deadline()  # the head is in, or the socket was handed on


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpToolsProtocol
except ImportError:  # uvicorn without httptools: h11 is what it serves with
    HttpToolsProtocol: type[Any] | None = None
    AutoHTTPProtocol: type[Any] = H11Protocol
else:

    class _HttpTools(_Deadline, _HttpToolsProtocol):
        """uvicorn's httptools protocol, with a deadline for each request head."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_deadline()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            self._start_deadline()
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._stop_deadline()
            super().on_headers_complete()

    HttpToolsProtocol = _HttpTools
    AutoHTTPProtocol = _HttpTools
