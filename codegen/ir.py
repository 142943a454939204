"""The intermediate model between resolved specs and templates.

Language-neutral and fully checked: every name here is valid and unique, every type is
one the renderers support. Renderers turn it into Python (and later TypeScript) without
making decisions of their own.
"""

from __future__ import annotations

import attrs

from . import naming
from .spec import Location
from .urlpattern import UrlPart

__all__ = [
    "AppIR",
    "Constraints",
    "ConsumerIR",
    "ConsumerNames",
    "DemuxIR",
    "EventIR",
    "FieldIR",
    "HandlerIR",
    "JobSenderIR",
    "ListOf",
    "LiteralOf",
    "Nullable",
    "Option",
    "PayloadIR",
    "Prim",
    "Ref",
    "RouteIR",
    "TypeIR",
    "UnionOf",
    "WorkerIR",
    "WorkerNames",
    "encoder_name",
]

Scalar = str | int | float | bool | None
# A consumer setting emitted as a class attribute: its name and its value (a tuple of
# literals for group_history's rules).
OptionValue = bool | int | float | str | None | tuple["OptionValue", ...]
Option = tuple[str, OptionValue]


@attrs.frozen
class Constraints:
    min_len: int | None = None
    max_len: int | None = None
    ge: int | float | None = None
    gt: int | float | None = None
    le: int | float | None = None
    lt: int | float | None = None
    pattern: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in attrs.astuple(self))


@attrs.frozen
class Prim:
    """A JSON scalar: str, int, float, bool, datetime (ISO 8601 string) or none."""

    name: str
    constraints: Constraints = Constraints()


@attrs.frozen
class ListOf:
    item: TypeIR
    constraints: Constraints = Constraints()


@attrs.frozen
class Nullable:
    inner: TypeIR


@attrs.frozen
class DictOf:
    """A JSON object with string keys; constraints count its entries."""

    value: TypeIR
    constraints: Constraints = Constraints()


@attrs.frozen
class EnumRef:
    """An enum defined in the app, by name; it travels as its value."""

    name: str


@attrs.frozen
class UnionOf:
    """Payloads told apart by the value of their ``tag`` field."""

    members: tuple[str, ...]
    tag: str


@attrs.frozen
class Ref:
    """A nested payload, by its name in the app."""

    name: str


@attrs.frozen
class LiteralOf:
    values: tuple[str | int | bool, ...]


TypeIR = Prim | ListOf | DictOf | Nullable | Ref | EnumRef | UnionOf | LiteralOf


@attrs.frozen
class Default:
    """A field default: a JSON scalar, an enum member, or a fresh empty list or dict."""

    value: Scalar = None
    factory: str | None = None  # "list" or "dict"
    enum_member: str | None = None  # the member's Python name; the enum is the field's type


@attrs.frozen
class FieldIR:
    name: str
    type: TypeIR
    default: Default | None = None


@attrs.frozen
class PayloadIR:
    name: str
    doc: str
    fields: tuple[FieldIR, ...]
    location: Location


@attrs.frozen
class EnumIR:
    name: str
    doc: str
    members: tuple[tuple[str, str | int], ...]  # (Python name, wire value)
    location: Location


@attrs.frozen
class HandlerIR:
    msg_type: str
    method: str
    payload: str
    reply: str | None
    decorators: tuple[str, ...] = ()  # dotted paths, outermost first

    @property
    def decorator_modules(self) -> tuple[str, ...]:
        return tuple(path.rsplit(".", 1)[0] for path in self.decorators)


@attrs.frozen
class EventIR:
    name: str
    payload: str
    app_wide: bool = False  # one of the app's events: its group sends reach every consumer

    @property
    def encoder(self) -> str:
        """The module-level encoder of the event's payload in the consumers module."""
        return encoder_name(self.payload)


def encoder_name(payload: str) -> str:
    return f"_encode_{payload}"


@attrs.frozen
class ConsumerNames:
    """Every top-level name the generated code declares for one consumer.

    The only place these names are derived: templates print them, and the resolver
    reserves them, so a spec name can never collide with one of them unnoticed.
    """

    consumer: str

    @property
    def base(self) -> str:
        """The Python base class that handler code subclasses."""
        return f"{self.consumer}Base"

    @property
    def stream(self) -> str:
        """The TypeScript class of the consumer's messages over one channel."""
        return f"{self.consumer}Stream"

    @property
    def socket(self) -> str:
        """The TypeScript class of a socket served by this consumer alone."""
        return f"{self.consumer}Socket"

    @property
    def send(self) -> str:
        return f"{self.consumer}Send"

    @property
    def request(self) -> str:
        return f"{self.consumer}Request"

    @property
    def on(self) -> str:
        return f"{self.consumer}On"

    @property
    def event(self) -> str:
        return f"{self.consumer}Event"

    @property
    def events(self) -> str:
        """The Python client's class of the consumer's events as async iterators."""
        return f"{self.consumer}Events"

    def adapter(self, handler: HandlerIR) -> str:
        """The module-level function the dispatch table calls for ``handler``."""
        return f"_{self.consumer}_{handler.method}"

    def derived(self) -> tuple[tuple[str, str], ...]:
        """(what, name) of every name derived from the consumer's, for the resolver."""
        kinds = ("base", "stream", "socket", "send", "request", "on", "event", "events")
        return tuple((kind, getattr(self, kind)) for kind in kinds)


@attrs.frozen
class ConsumerIR:
    name: str
    handlers: tuple[HandlerIR, ...]
    events: tuple[EventIR, ...]
    group_templates: tuple[str, ...]
    options: tuple[Option, ...] = ()  # runtime class settings that differ
    layer_handlers: tuple[HandlerIR, ...] = ()  # channel-layer message types, no replies
    kind: str = "json"  # or "plain": text/bytes frames, no schema
    # Handler methods that only routes' method_mapping overrides use: declared on the
    # base for the user to implement, dispatched by those routes' subclasses only.
    route_methods: tuple[HandlerIR, ...] = ()

    @property
    def all_handlers(self) -> tuple[HandlerIR, ...]:
        return self.handlers + self.layer_handlers

    @property
    def names(self) -> ConsumerNames:
        return ConsumerNames(self.name)

    @property
    def base_name(self) -> str:
        return self.names.base

    @property
    def event_payloads(self) -> tuple[str, ...]:
        return tuple(sorted({e.payload for e in self.events}))

    @property
    def app_events(self) -> tuple[str, ...]:
        """The app-wide events this consumer's clients receive."""
        return tuple(e.name for e in self.events if e.app_wide)


@attrs.frozen
class DemuxIR:
    name: str
    streams: tuple[tuple[str, str], ...]  # (stream, consumer name)
    multiplexer_class: str | None = None  # dotted path of the user's Multiplexer subclass

    @staticmethod
    def client_name_of(name: str) -> str:
        return f"{name}Client"

    @property
    def client_name(self) -> str:
        """The TypeScript class of a socket to this demultiplexer."""
        return self.client_name_of(self.name)

    @property
    def stream_classes(self) -> tuple[tuple[str, str], ...]:
        """(stream, TypeScript stream class) for each stream."""
        return tuple((stream, ConsumerNames(c).stream) for stream, c in self.streams)


@attrs.frozen
class JobSenderIR:
    """The typed helper every consumer and worker gets for one job of one worker."""

    name: str  # send_to_<worker>_<job>, e.g. send_to_thumbnails_resize
    channel: str
    job: str
    payload: str

    @property
    def encoder(self) -> str:
        return encoder_name(self.payload)


@attrs.frozen
class WorkerNames:
    """Every name the generated code derives from one worker's (see ``ConsumerNames``)."""

    worker: str

    @property
    def base(self) -> str:
        """The Python base class that handler code subclasses."""
        return f"{self.worker}Base"

    def adapter(self, handler: HandlerIR) -> str:
        """The module-level function the job table calls for ``handler``."""
        return f"_{self.worker}_{handler.method}"

    def sender(self, job: str) -> str:
        """The helper sending ``job`` to this worker: ``Thumbnails``, ``image.resize`` ->
        ``send_to_thumbnails_image_resize``."""
        return f"send_to_{naming.pascal_to_snake(self.worker)}_{job.replace('.', '_')}"

    def derived(self) -> tuple[tuple[str, str], ...]:
        """(what, name) of every top-level name derived from the worker's."""
        return (("base", self.base),)


@attrs.frozen
class WorkerIR:
    name: str
    channel: str
    handlers: tuple[HandlerIR, ...]

    @property
    def names(self) -> WorkerNames:
        return WorkerNames(self.name)

    @property
    def base_name(self) -> str:
        return self.names.base

    @property
    def senders(self) -> tuple[JobSenderIR, ...]:
        return tuple(
            JobSenderIR(self.names.sender(h.msg_type), self.channel, h.msg_type, h.payload)
            for h in self.handlers
        )


@attrs.frozen
class RouteIR:
    pattern: str
    target: str
    url: tuple[UrlPart, ...] | None  # None: the regex has no single URL shape
    url_builder: str  # the client's URL function for this route, e.g. lobbyUrl
    attrs: tuple[tuple[str, str | int | float | bool | None], ...] = ()
    route_class: str = ""  # with attrs: the subclass serving this route only
    to_demux: bool = False  # the target is a demultiplexer, not a handler class
    # The route's own message set, replacing the consumer's (None: the consumer's).
    handlers: tuple[HandlerIR, ...] | None = None

    def adapter(self, handler: HandlerIR) -> str:
        """The function the route subclass's dispatch table calls for ``handler``."""
        return f"_{self.route_class}_{handler.method}"

    @property
    def served_by(self) -> str:
        return self.route_class or self.target

    @property
    def py_url_builder(self) -> str:
        """The Python client's URL function for this route: ``lobby_url``, ``lobby_url2``."""
        count = self.url_builder.removeprefix(self.target[0].lower() + self.target[1:] + "Url")
        return f"{naming.pascal_to_snake(self.target)}_url{count}"


@attrs.frozen
class AppIR:
    name: str
    spec_file: str  # relative to the spec directory, for the generated header
    handlers_module: str
    enums: tuple[EnumIR, ...]
    payloads: tuple[PayloadIR, ...]  # dependencies before dependents
    consumers: tuple[ConsumerIR, ...]
    demuxes: tuple[DemuxIR, ...]
    routes: tuple[RouteIR, ...]
    allowed_origins: tuple[str, ...] = ()  # the app's Router(allowed_origins=...)
    workers: tuple[WorkerIR, ...] = ()
    events: tuple[EventIR, ...] = ()  # app-wide events, by name

    @property
    def route_variants(self) -> tuple[ConsumerIR, ...]:
        """A consumer as each route with its own message set serves it, named after the
        route class: the clients' classes of that route (``ChatRoute2Socket``...) send
        that set and receive the consumer's events."""
        consumers = {c.name: c for c in self.consumers}
        return tuple(
            attrs.evolve(consumers[r.target], name=r.route_class, handlers=r.handlers)
            for r in self.routes
            if r.handlers is not None
        )

    @property
    def job_senders(self) -> tuple[JobSenderIR, ...]:
        """The helpers every consumer and worker base gets, by name."""
        return tuple(sorted((s for w in self.workers for s in w.senders), key=lambda s: s.name))

    def group_sends(self, consumer: ConsumerIR) -> tuple[EventIR, ...]:
        """The events ``consumer`` has a ``group_send_<event>`` for: its own events and
        every app-wide event, by name."""
        own = {e.name: e for e in consumer.events}
        return tuple(sorted({**{e.name: e for e in self.events}, **own}.values(), key=_name))


def _name(event: EventIR) -> str:
    return event.name
