"""Regex routes from a WebSocket path to a root consumer; named groups become kwargs.

Patterns match from the start of the path (as Django's ``re_path`` does); anchor the end
with ``$``. Routes are tried in order and the first match wins.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from .appretention import AppEventHistory
from .asgi import ASGIApp, Receive, RootConsumer, Scope, Send, serve
from .connection import Connection
from .delivery import OUTAGE_TIMEOUT, STALL_TIMEOUT, relay_for
from .history import HistoryStore
from .layers import ChannelLayer, InMemoryChannelLayer
from .origins import OriginPolicy
from .protocol import quote
from .startup import HandlersMissing, check_handlers
from .worker import WorkerConsumer
from .workerpool import WorkerPool

__all__ = ["HandlersMissing", "Route", "Router", "route", "served_consumers"]

log = logging.getLogger(__name__)


Authenticator = Callable[[Scope], Awaitable[Any]]


class RootFactory(Protocol):
    def __call__(self, connection: Connection, kwargs: Mapping[str, str]) -> RootConsumer: ...

    def consumer_classes(self) -> list[type[Any]]: ...


@attrs.frozen
class Route:
    pattern: re.Pattern[str]
    consumer: RootFactory

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path)
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}


def route(path: str, consumer: RootFactory) -> Route:
    """A route from ``path`` (a regex) to a consumer or demultiplexer class."""
    return Route(re.compile(path), consumer)


class Router:
    """The ASGI application: WebSocket paths to root consumers, sharing one channel layer."""

    def __init__(
        self,
        routes: Sequence[Route],
        layer: ChannelLayer | None = None,
        http: ASGIApp | None = None,
        authenticate: Authenticator | None = None,
        gap_watermark: float | None = None,
        allowed_origins: Sequence[str] | None = None,
        stall_timeout: float | None = STALL_TIMEOUT,
        outage_timeout: float | None = OUTAGE_TIMEOUT,
        workers: Sequence[type[WorkerConsumer]] = (),
        history: HistoryStore | None = None,
    ) -> None:
        """``http`` serves plain HTTP requests (e.g. a page using the client); default 404.

        ``authenticate(scope)`` returns the user (or None) before a socket is routed; it
        becomes ``scope["user"]``. Inside Django, use Channels' AuthMiddlewareStack instead.
        If it raises PermissionError, the handshake is refused with one log line.

        ``allowed_origins``: the web origins, besides this host itself, whose pages may
        open a socket (patterns as in Django's ALLOWED_HOSTS: see chgen.runtime.origins);
        ``["*"]`` admits any. Left at None, a router on its own admits this host only,
        and one mounted inside Channels' URLRouter leaves origins to Channels
        (``AllowedHostsOriginValidator``). A refused handshake gets HTTP 403.

        ``gap_watermark`` (seconds) turns on watermarks: on a layer that can drop group
        events silently (channels_redis' core layer), events lost at the end of a burst
        are reported too. See chgen.runtime.delivery.watermarks for what it costs.

        ``workers``: worker classes to run in this process, beside the sockets, on
        ``layer``; they start with the first event the app is given (the lifespan's, or
        a socket's) and stop at the lifespan's shutdown. On the in-memory layer they are
        the only workers that can read what the sockets send; on Redis, run them here or
        in processes of their own (``chgen worker``).
        ``history``: where groups with history keep their events (docs/recovery.md).
        Left at None, an in-memory layer gets an in-process store of its own and a
        channels_redis layer Redis Streams on its first host; any other layer needs one
        passed here when a consumer keeps history.
        """
        for name, value in (
            ("gap_watermark", gap_watermark),
            ("stall_timeout", stall_timeout),
            ("outage_timeout", outage_timeout),
        ):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive seconds or None, got {value!r}")
        self.stall_timeout = stall_timeout
        self.outage_timeout = outage_timeout
        self.gap_watermark = gap_watermark
        self.routes = tuple(routes)
        self.http = http
        self.authenticate = authenticate
        self.allowed_origins = None if allowed_origins is None else tuple(allowed_origins)
        self._origins = OriginPolicy(allowed_origins or ())
        served = served_consumers(self.routes)
        check_handlers([*served, *workers])
        self.layer: ChannelLayer = layer if layer is not None else InMemoryChannelLayer()
        keeping = _keeping_history(served)
        if history is None and keeping is not None:
            history = default_history(self.layer)
        self.history = history
        if keeping is not None and history is None:
            raise ValueError(
                f"{keeping} keeps group history, and the router has no store for it: pass "
                "Router(history=...), e.g. RedisHistory beside channels_redis "
                "(docs/recovery.md)"
            )
        # Which of the served consumers keep which app events: whoever sends one here,
        # a socket or a worker, keeps it in each of their streams.
        table = AppEventHistory.of(served)
        self.app_history: AppEventHistory | None = table or None
        # Told, also when empty: a worker not told says its app events are not kept.
        self.workers = WorkerPool(workers, self.layer, self.history, table)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if self.workers.classes:
            self.workers.start()
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send, self.workers.stop)
        elif kind == "http" and self.http is not None:
            await self.http(scope, receive, send)
        elif kind == "http":
            await _not_found(send)
        else:
            raise RuntimeError(f'Expected "websocket", "http" or "lifespan" scope, got {kind!r}')

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._origin_refusal(scope)
        if refusal is not None:
            log.warning("refused a WebSocket handshake on %s: %s", quote(scope["path"]), refusal)
            await _refuse(receive, send)
            return
        found = self._match(scope["path"])
        if found is None:
            log.info("no route for WebSocket path %s; refusing the handshake", quote(scope["path"]))
            await _refuse(receive, send)
            return
        route, own = found
        # Mounted inside Channels' URLRouter, the outer route's captures come first and
        # this router's own captures are added to them, never thrown away.
        outer = scope.get("url_route") or {}
        kwargs = {**outer.get("kwargs", {}), **own}
        scope["url_route"] = {"args": tuple(outer.get("args", ())), "kwargs": kwargs}
        if self.authenticate is not None and not await self._authenticate(scope):
            await _refuse(receive, send)
            return
        layer = relay_for(self.layer, self.outage_timeout)
        connection = Connection(
            scope,
            send,
            layer,
            self.gap_watermark,
            self.stall_timeout,
            self.history,
            self.app_history,
        )
        await serve(route.consumer(connection, kwargs), connection, receive)

    def _origin_refusal(self, scope: Scope) -> str | None:
        # Channels' URLRouter leaves "path_remaining" in the scope: mounted there, a
        # router without its own list leaves origins to Channels' validator in front.
        if self.allowed_origins is None and "path_remaining" in scope:
            return None
        return self._origins.refusal(scope)

    def _match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        for candidate in self.routes:
            kwargs = candidate.match(path)
            if kwargs is not None:
                return candidate, kwargs
        return None

    async def _authenticate(self, scope: Scope) -> bool:
        assert self.authenticate is not None
        try:
            scope["user"] = await self.authenticate(scope)
        except PermissionError as exc:
            log.info("authenticate() refused the handshake on %s: %s", quote(scope["path"]), exc)
            return False
        except Exception:
            log.exception("authenticate() failed; refusing the handshake")
            return False
        return True


def default_history(layer: ChannelLayer) -> HistoryStore | None:
    """The history store a router on ``layer`` uses unless given one: the in-memory
    layer's own in-process store (one per layer, shared by the routers on it); Redis
    Streams on the first host of a channels_redis layer (same server and database); None
    for any other layer (it must be given)."""
    if isinstance(layer, InMemoryChannelLayer):
        store = _MEMORY_STORES.get(layer)
        if store is None:
            from .history.memory import MemoryHistory  # only apps that use it load it

            store = _MEMORY_STORES[layer] = MemoryHistory()
        return store
    url = _redis_url(layer)
    if url is None:
        return None
    from .history.redis import RedisHistory  # needs redis and msgpack, as channels_redis

    return RedisHistory.from_url(url)


def _redis_url(layer: ChannelLayer) -> str | None:
    """The URL of a channels_redis layer's first host; None for any other layer, or a
    host given otherwise (Sentinel). The core layer keeps its ``hosts``, the pub/sub
    layer the arguments it was made with."""
    if not type(layer).__module__.startswith("channels_redis"):
        return None
    state = vars(layer)
    hosts = state.get("hosts") or state.get("_kwargs", {}).get("hosts")
    host: Any = hosts[0] if hosts else ("localhost", 6379)  # channels_redis' default
    if isinstance(host, dict):
        host = host.get("address")
    if isinstance(host, str):
        return host
    if isinstance(host, tuple | list) and len(host) == 2:
        return f"redis://{host[0]}:{host[1]}"
    return None


# In-memory layers -> their history store; forgotten with the layer.
_MEMORY_STORES: weakref.WeakKeyDictionary[InMemoryChannelLayer, HistoryStore] = (
    weakref.WeakKeyDictionary()
)


def served_consumers(routes: Sequence[Route]) -> list[type[Any]]:
    """The consumer classes that serve ``routes``' sockets (a demultiplexer's streams
    included), in route order."""
    return [c for r in routes for c in r.consumer.consumer_classes()]


def _keeping_history(consumers: Sequence[type[Any]]) -> str | None:
    """The name of one of ``consumers`` that keeps group history, if one does."""
    for consumer in consumers:
        if getattr(consumer, "history_rules", None) is not None:
            return str(consumer.__name__)
    return None


async def _refuse(receive: Receive, send: Send) -> None:
    """Close before accepting: the server answers the handshake with HTTP 403."""
    await receive()  # the websocket.connect event
    await send({"type": "websocket.close", "code": 1000, "reason": ""})


async def _lifespan(receive: Receive, send: Send, shutdown: Callable[[], Awaitable[None]]) -> None:
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _not_found(send: Send) -> None:
    body = b"Not Found: this application only serves WebSocket routes.\n"
    headers: list[tuple[bytes, Any]] = [(b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
