"""The spec language: what users write under ``specs/`` to describe a WebSocket API.

Specs are plain Python: ``@payload`` classes for message schemas, consumers and
demultiplexers as frozen attrs objects, routes, and an ``App`` that the loader collects.
Every object remembers the file and line that created it, so the generator can point
at the exact spec line when something is wrong.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeAlias, TypeVar

import annotated_types
import attrs

from chgen.runtime.constraints import Pattern
from chgen.runtime.defaults import MAX_CONCURRENCY
from chgen.runtime.ratelimit import FLOOD_SECONDS, RATE_BURST, RATE_PER_SECOND
from chgen.runtime.values import BigInt

from .sourcelines import class_source

__all__ = [
    "App",
    "BigInt",
    "Handler",
    "History",
    "Int64",
    "JsonWebsocketConsumer",
    "Location",
    "Pattern",
    "RateLimit",
    "Route",
    "WebsocketConsumer",
    "WebsocketDemultiplexer",
    "Worker",
    "is_payload",
    "payload",
    "payload_at",
    "route",
    "route_class",
]

T = TypeVar("T")

# A signed 64-bit integer (a database's BIGINT): a BigInt within its range. Like every
# BigInt it travels as a decimal string, since JavaScript rounds integers past 2**53.
Int64: TypeAlias = Annotated[BigInt, annotated_types.Ge(-(2**63)), annotated_types.Le(2**63 - 1)]

_PAYLOAD_MARK = "__chgen_payload__"
_FIELD_LOCATIONS = "__chgen_field_locations__"
_CLASS_LOCATION = "__chgen_location__"
_THIS_FILE = __file__  # as frames name it: not resolved, it may be a link


@attrs.frozen
class Location:
    """A place in a spec file; ``line`` is 1-based."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def _caller_location() -> Location:
    """The first frame outside this module and attrs' generated ``__init__``s."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename != _THIS_FILE and not filename.startswith("<attrs generated"):
            return Location(filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return Location("<unknown>", 0)


def _located() -> Any:
    return attrs.field(factory=_caller_location, eq=False, repr=False, kw_only=True)


def payload(cls: type[T]) -> type[T]:
    """Make ``cls`` a payload schema: a frozen, keyword-only attrs class.

    Fields are annotated with the supported types; constraints ride along as
    ``annotated_types`` metadata, e.g. ``Annotated[str, MaxLen(2000)]``.
    """
    made = attrs.frozen(kw_only=True)(cls)
    try:
        line = class_source(cls)[1]
    except (OSError, TypeError):
        line = 0
    file = inspect.getsourcefile(cls) or "<unknown>"
    setattr(made, _PAYLOAD_MARK, Location(str(Path(file).resolve()), line))
    return made


def is_payload(obj: object) -> bool:
    return isinstance(obj, type) and _PAYLOAD_MARK in vars(obj)


def payload_location(cls: type[Any]) -> Location:
    location: Location = vars(cls)[_PAYLOAD_MARK]
    return location


def payload_at(
    cls: type[T], location: Location, fields: Mapping[str, Location] | None = None
) -> type[T]:
    """``@payload`` for a class made at run time (data specs, generated tests).

    Such a class has no source for ``inspect`` to find, so its ``location`` and those of
    its ``fields`` are given; errors about the payload and its fields point there.
    """
    made = attrs.frozen(kw_only=True)(cls)
    setattr(made, _PAYLOAD_MARK, location)
    setattr(made, _FIELD_LOCATIONS, dict(fields or {}))
    return made


def field_location(cls: type[Any], name: str) -> Location | None:
    """Where field ``name`` of a ``payload_at`` class is defined, if it was given."""
    locations: Mapping[str, Location] = vars(cls).get(_FIELD_LOCATIONS, {})
    return locations.get(name)


def located_at(cls: type[T], location: Location) -> type[T]:
    """Record where a class made at run time (e.g. an enum of a data spec) is defined."""
    setattr(cls, _CLASS_LOCATION, location)
    return cls


def class_location(cls: type[Any]) -> Location | None:
    """The location ``located_at`` recorded for ``cls``, if any."""
    location: Location | None = vars(cls).get(_CLASS_LOCATION)
    return location


@attrs.frozen
class Handler:
    """How one client message type is handled: its payload and, optionally, its reply.

    ``method`` names the handler method; it defaults to the message type. ``decorators``
    are dotted paths (``"myapp.guards.staff_only"``) of functions wrapping the handler,
    outermost first; each takes and returns an ``async (consumer, data) -> reply``.
    """

    payload: Any
    reply: Any = None
    method: str | None = None
    decorators: Sequence[str] = ()
    defined_at: Location = _located()


@attrs.frozen
class RateLimit:
    """How many messages one socket may send a consumer: ``per_second`` on average, in
    bursts of up to ``burst`` at once.

    A message over the limit is answered with a ``rate_limited`` error that says when to
    try again, and no handler runs. A socket that keeps going over its limit for
    ``flood_seconds`` (no second without a refused message) is closed with 1008.
    """

    per_second: float = RATE_PER_SECOND
    burst: int = RATE_BURST
    flood_seconds: float = FLOOD_SECONDS


@attrs.frozen
class History:
    """Keep the last group events of a group so that a client that reconnects gets those
    it missed (docs/recovery.md): at most ``size`` events, none older than ``ttl``
    seconds. Both are hard bounds on what the group's stream holds in memory or Redis.
    """

    size: int
    ttl: float


@attrs.frozen
class JsonWebsocketConsumer:
    """A JSON consumer: client messages to typed handlers, plus the events it sends.

    ``layer_mapping`` maps channel-layer message types (Channels' ``"chat.message"``,
    sent by ``group_send`` from any consumer) to handlers; the message's other keys are
    the payload, and there is no reply.

    ``strict_ordering=False`` lets up to ``max_concurrency`` handlers of one socket run
    at once (replies keep their ids). ``http_user`` requires a user in the scope
    (AuthMiddlewareStack or the router's authenticator); ``login_required`` also refuses
    anonymous users.

    ``rate_limit`` bounds the messages one socket may send this consumer (the default:
    ``RateLimit()``, 100 a second in bursts of 300); None turns the limit off.

    ``history`` keeps the group events this consumer sends, so that clients recover
    those they missed while away: ``History(size=200, ttl=120)`` for every group it
    sends to, or ``{"room.{room}": History(...)}`` for the groups of some of its
    ``connection_groups`` templates only. Groups without history cost nothing extra.
    """

    name: str
    method_mapping: Mapping[str, Handler] = attrs.field(factory=dict)
    sends: Mapping[str, Any] = attrs.field(factory=dict)
    connection_groups: Sequence[str] = ()
    layer_mapping: Mapping[str, Handler] = attrs.field(factory=dict)
    strict_ordering: bool = True
    max_concurrency: int = MAX_CONCURRENCY
    http_user: bool = False
    login_required: bool = False
    rate_limit: RateLimit | None = RateLimit()
    history: History | Mapping[str, History] | None = None
    defined_at: Location = _located()

    def as_route(
        self,
        path: str,
        attrs: Mapping[str, Any] | None = None,
        method_mapping: Mapping[str, Handler | str] | None = None,
    ) -> Route:
        """A route serving this consumer alone on ``path``.

        ``attrs`` become class attributes of a subclass used on this route only (the
        consumer class itself is untouched), as in Channels' ``as_route(attrs=...)``.
        ``method_mapping`` replaces the consumer's on this route: message types to a
        ``Handler(...)``, or to the name of a handler method of the consumer's own
        mapping (Channels' ``{"mychannel": "test"}``), which keeps its payload and reply.
        Channels' spelling ``attrs={"method_mapping": ...}`` means the same.
        """
        return Route(path, self, attrs=dict(attrs or {}), method_mapping=method_mapping)


@attrs.frozen
class WebsocketConsumer:
    """A plain consumer: text and bytes frames with no schema (Channels' WebsocketConsumer).

    Its handler class implements ``receive(text=None, bytes=None)`` and sends with
    ``send(text=...)`` or ``send(bytes=...)``; it cannot sit behind a demultiplexer,
    whose envelope is JSON.
    """

    name: str
    connection_groups: Sequence[str] = ()
    layer_mapping: Mapping[str, Handler] = attrs.field(factory=dict)
    http_user: bool = False
    login_required: bool = False
    defined_at: Location = _located()

    def as_route(self, path: str, attrs: Mapping[str, Any] | None = None) -> Route:
        """A route serving this consumer on ``path``; ``attrs`` as for JSON consumers."""
        return Route(path, self, attrs=dict(attrs or {}))


@attrs.frozen
class WebsocketDemultiplexer:
    """Several JSON consumers over one socket, each on its own named stream.

    ``multiplexer_class`` is the dotted path of a ``chgen.runtime.Multiplexer`` subclass
    (``"myapp.mux.Signed"``) that writes this demultiplexer's envelopes: its ``send``,
    ``encode`` or ``encode_json`` then sees every frame of every stream.
    """

    name: str
    consumers: Mapping[str, JsonWebsocketConsumer] = attrs.field(factory=dict)
    multiplexer_class: str | None = None
    defined_at: Location = _located()


@attrs.frozen
class Worker:
    """A worker consumer: jobs sent to a named ``channel`` of the channel layer, handled
    outside any socket (the seed's ``BaseConsumer`` on channel names; Channels'
    ``ChannelNameRouter`` and ``runworker``).

    ``mapping`` maps job types (lowercase, dots allowed: ``"resize"``,
    ``"image.resize"``) to handlers, whose payload is the job's; a job gets no reply.
    Every consumer and worker of the app gets a typed ``send_to_<worker>_<type>(payload)``
    helper for each, e.g. ``send_to_thumbnails_resize``.
    """

    name: str
    channel: str
    mapping: Mapping[str, Handler] = attrs.field(factory=dict)
    defined_at: Location = _located()


Target = JsonWebsocketConsumer | WebsocketConsumer | WebsocketDemultiplexer


@attrs.frozen
class Route:
    """A WebSocket path (a regex; named groups become kwargs) served by ``target``."""

    path: str
    target: Target
    attrs: Mapping[str, Any] = attrs.field(factory=dict)
    method_mapping: Mapping[str, Handler | str] | None = None  # None: the consumer's own
    defined_at: Location = _located()


def route(
    path: str,
    target: Target,
    attrs: Mapping[str, Any] | None = None,
    method_mapping: Mapping[str, Handler | str] | None = None,
) -> Route:
    """A route from ``path`` to a consumer or demultiplexer; ``attrs`` and
    ``method_mapping`` as in ``as_route``."""
    return Route(path, target, attrs=dict(attrs or {}), method_mapping=method_mapping)


def route_class(
    target: Target,
    path: str,
    attrs: Mapping[str, Any] | None = None,
    method_mapping: Mapping[str, Handler | str] | None = None,
) -> Route:
    """Channels' spelling of ``route``: the class first, the path as a keyword."""
    return Route(path, target, attrs=dict(attrs or {}), method_mapping=method_mapping)


@attrs.frozen
class App:
    """One generated package: its routes, and the module holding the handler classes.

    ``handlers`` is a dotted module path; it must define one class per consumer, named
    as the consumer, subclassing the generated ``<Name>Base``.

    ``allowed_origins``: web origins, besides the app's own host, whose pages may open
    its sockets, as patterns like Django's ALLOWED_HOSTS (``"https://app.example.com"``,
    ``".example.com"``, ``"*"`` for any); other origins get HTTP 403 at the handshake.

    ``workers``: the app's worker consumers; their handler classes live in ``handlers``
    too, named as the worker.

    ``events``: app-wide events, name -> payload. Every consumer of the app gets a typed
    ``group_send_<event>`` for each, and a group event sent with it reaches every member
    of the group whose consumer lists the event, with the same payload, in its ``sends``;
    members whose consumer does not list it ignore it (and are counted).
    """

    name: str
    routes: Sequence[Route]
    handlers: str
    allowed_origins: Sequence[str] = ()
    workers: Sequence[Worker] = ()
    events: Mapping[str, Any] = attrs.field(factory=dict)
    defined_at: Location = _located()
