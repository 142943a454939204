"""What the client tells its user: ``ChgenError`` with the JavaScript client's codes, and
``ChgenGap`` for group events that never arrived.

The server's codes come from the wire (docs/protocol.md); the client adds its own for what
happens on its side of the socket. Both clients use the same codes, so code that handles
one reads like code that handles the other.
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

from ..protocol import Detail, MessageId

__all__ = [
    "AUTH_FAILED",
    "BAD_RESPONSE",
    "CLOSED",
    "DISCONNECTED",
    "HANDSHAKE_REFUSED",
    "QUEUE_FULL",
    "TIMEOUT",
    "ChgenError",
    "ChgenGap",
    "GapReason",
]

# The client's own codes, beside the server's (chgen.runtime.protocol: ``invalid``,
# ``unknown_type``, ``rate_limited``...).
TIMEOUT: Final = "timeout"
DISCONNECTED: Final = "disconnected"
CLOSED: Final = "closed"
QUEUE_FULL: Final = "queue_full"
BAD_RESPONSE: Final = "bad_response"
HANDSHAKE_REFUSED: Final = "handshake_refused"
AUTH_FAILED: Final = "auth_failed"


class ChgenError(Exception):
    """An error from the server or from the client itself.

    Server codes: ``bad_json``, ``bad_frame``, ``unknown_stream``, ``unknown_type``,
    ``invalid``, ``forbidden``, ``internal``, ``rate_limited`` (wait ``retry_after``
    seconds before sending again), ``unavailable`` (the server cannot reach its channel
    layer for now: try again later). The client refuses a message that does not fit the
    spec with ``invalid`` before sending it, as the server would. Client codes:
    ``timeout`` (no answer in time), ``disconnected`` (the socket dropped while the
    request was in flight: the server may or may not have handled it), ``closed`` (the
    client is closed for good), ``queue_full`` (too many frames waiting for the socket to
    open), ``bad_response`` (a frame the client cannot read, or data that does not fit
    the spec), ``handshake_refused`` (the server answered the handshake with an HTTP
    error, in ``status``), ``auth_failed`` (the token function raised).
    """

    def __init__(
        self,
        code: str,
        message: str,
        details: tuple[Detail, ...] = (),
        stream: str | None = None,
        id: MessageId | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        #: Where each problem is (``$.data.text``), when it could be located.
        self.details = details
        #: The stream the error belongs to; None on a plain socket or for the connection.
        self.stream = stream
        #: The id of the request it answers, if any.
        self.id = id
        #: ``handshake_refused``: the HTTP status the server answered with.
        self.status = status
        #: ``rate_limited``: seconds to wait before sending again.
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" (stream {self.stream!r})" if self.stream is not None else ""
        listed = "".join(f"; {d.path}: {d.message}" for d in self.details)
        return f"{self.code}: {self.message}{where}{listed}"

    def __repr__(self) -> str:
        return f"ChgenError({self.code!r}, {self.message!r}, stream={self.stream!r})"


GapReason = Literal["lost", "outage", "slow"]


@attrs.frozen
class ChgenGap:
    """Group events that never reached this socket: the server's channel layer lost some
    (``lost``), was unavailable for a while (``outage``), or this client read too slowly
    (``slow``). The events are gone: a client that must not miss any fetches the state
    again."""

    #: The stream whose events were missed; None on an unmultiplexed socket.
    stream: str | None
    #: How many were missed, when known (after an outage nobody knows): else None.
    lost: int | None
    reason: GapReason
