"""How a client connects: its options, each with the JavaScript client's default.

Times are in seconds, as everywhere in Python (the JavaScript client counts milliseconds).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal

import attrs

__all__ = ["Auth", "ClientOptions", "Reconnect"]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be a positive number of seconds, got {value!r}")


def _positive_or_none(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value is not None:
        _positive(instance, attribute, value)


@attrs.frozen(kw_only=True)
class Reconnect:
    """Exponential backoff with full jitter: attempt n waits
    ``random() * min(max_delay, initial_delay * 2 ** n)`` seconds. The count starts again
    after a connection opens, so that clients that lost the same server spread out
    instead of stampeding it when it comes back."""

    initial_delay: float = attrs.field(default=0.25, validator=_positive)
    max_delay: float = attrs.field(default=10.0, validator=_positive)
    #: Failed attempts in a row before the client gives up and closes; None: never.
    max_attempts: int | None = None

    def delay(self, attempt: int, draw: Callable[[], float]) -> float:
        return draw() * min(self.max_delay, self.initial_delay * 2.0**attempt)


@attrs.frozen(kw_only=True)
class Auth:
    """A token fetched before every connection attempt, the first and each reconnect, so
    that a refreshed token is used. If ``token`` raises, the attempt fails with
    ``auth_failed`` and the client retries with its backoff."""

    #: Returns the token for one attempt; a coroutine function works too.
    token: Callable[[], str | Awaitable[str]]
    #: ``query``: the URL's query parameter ``name`` (default ``token``); ``protocol``:
    #: one more subprotocol, ``name + token``; ``header``: the header ``name`` (default
    #: ``Authorization``), the token its whole value.
    where: Literal["query", "protocol", "header"] = "query"
    name: str | None = None


@attrs.frozen(kw_only=True)
class ClientOptions:
    """Options of a connection; every one has a default."""

    #: Reconnect after an unexpected close (the default), or None to close for good.
    reconnect: Reconnect | None = Reconnect()
    #: How many frames may wait for the socket to open.
    queue_limit: int = 256
    #: Seconds a request may wait for its answer, queued time included; None: no limit.
    request_timeout: float | None = attrs.field(default=10.0, validator=_positive_or_none)
    #: Seconds the opening handshake may take.
    open_timeout: float = attrs.field(default=10.0, validator=_positive)
    #: Subprotocols to offer; if any are offered, the server must select one.
    protocols: Sequence[str] = ()
    #: Extra HTTP headers of the handshake (``Origin`` among them, for servers that check it).
    headers: Mapping[str, str] = attrs.field(factory=dict)
    auth: Auth | None = None
    #: Keep the position of every event of a group with history and present them when
    #: reconnecting, so that the server replays what was missed (docs/protocol.md).
    recover: bool = True
    #: Source of jitter in [0, 1).
    random: Callable[[], float] = random.random
