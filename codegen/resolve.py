"""Check loaded specs and turn them into the IR; report every problem at once.

Nothing here touches the disk. Each error names the spec object's file and line, a
``$.`` path inside it, what is wrong and, where a name is close to a known one, a
did-you-mean.
"""

from __future__ import annotations

import enum
import inspect
import re
import string
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from chgen.runtime.codec import CONVERTER, validation_details
from chgen.runtime.consumer import GROUP_EVENT
from chgen.runtime.consumer import JsonWebsocketConsumer as RuntimeConsumer

from . import naming
from .errors import SpecError, SpecErrors
from .hints import did_you_mean, python_kind
from .ir import (
    AppIR,
    ConsumerIR,
    ConsumerNames,
    Default,
    DemuxIR,
    DictOf,
    EnumIR,
    EventIR,
    FieldIR,
    HandlerIR,
    ListOf,
    Nullable,
    PayloadIR,
    Ref,
    RouteIR,
    TypeIR,
    UnionOf,
)
from .loader import LoadedApp
from .sourcelines import class_source
from .spec import (
    App,
    Handler,
    JsonWebsocketConsumer,
    Location,
    Route,
    WebsocketConsumer,
    WebsocketDemultiplexer,
    class_location,
    field_location,
    is_payload,
    payload_location,
)
from .typemap import UnsupportedType, translate
from .urlpattern import url_template

__all__ = ["resolve"]

AnyConsumer = JsonWebsocketConsumer | WebsocketConsumer

# Names the generated modules import or define themselves; a spec name must not shadow them.
GENERATED_NAMES = frozenset(
    {
        "annotations",
        "attrs",
        "Annotated",
        "Literal",
        "ClassVar",
        "datetime",
        "date",
        "UUID",
        "Decimal",
        "Enum",
        "enum",
        "Mapping",
        "BaseConsumer",
        "WebsocketConsumer",
        "encoder",
        "unimplemented",
        "MinLen",
        "MaxLen",
        "Ge",
        "Gt",
        "Le",
        "Lt",
        "Pattern",
        "DispatchTable",
        "MessageRoute",
        "JsonWebsocketConsumer",
        "WebsocketDemultiplexer",
        "Router",
        "route",
        "routes",
        "application",
        "payloads",
        "consumers",
        "routing",
    }
)
# The TypeScript client's core exports and the globals it uses share the module scope.
TS_CLIENT_NAMES = frozenset(
    {
        "Connection",
        "Channel",
        "ChgenError",
        "ErrorDetail",
        "ConnectionState",
        "ClientOptions",
        "ReconnectOptions",
        "RequestOptions",
        "WebSocketLike",
        "WebSocketConstructor",
        "Promise",
        "Error",
        "JSON",
        "Math",
        "Object",
        "Array",
        "ReadonlyArray",
        "Readonly",
        "Record",
        "Partial",
        "Map",
        "Set",
        "String",
        "Number",
        "Boolean",
        "Symbol",
        "Date",
        "WebSocket",
        "TypeError",
    }
)
# Names a generated payload class body uses in its annotations and defaults; a field of
# that name would hide them from the fields after it.
ANNOTATION_NAMES = GENERATED_NAMES | {"str", "int", "float", "bool", "list", "dict"}
# Class attributes the generated code sets from the spec; a route's attrs can't change them.
ROUTE_FIXED_ATTRIBUTES = frozenset(
    {"consumer_name", "dispatch_table", "connection_group_templates", "consumers"}
)
# Message types become handler methods; they must not hide the consumer's own API.
CONSUMER_ATTRIBUTES = frozenset(n for n in dir(RuntimeConsumer) if not n.startswith("__"))
RESERVED_TYPES = frozenset({"error"})
_APP_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]*\Z")
_LAYER_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\Z")
_MEMBER_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_STREAM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")


def resolve(loaded: Sequence[LoadedApp], spec_root: Path) -> list[AppIR]:
    """The IR of every app, or SpecErrors listing every problem found."""
    errors: list[SpecError] = []
    apps: list[AppIR] = []
    seen_apps: dict[str, App] = {}
    for item in loaded:
        app = item.app
        if app.name in seen_apps and seen_apps[app.name] is not app:
            first = seen_apps[app.name].defined_at
            errors.append(
                SpecError(
                    app.defined_at,
                    "$.name",
                    f"app {app.name!r} is also defined at {first}",
                    "give each App a unique name: it names the generated package",
                )
            )
            continue
        seen_apps[app.name] = app
        resolver = _AppResolver(app, item.module_file, spec_root)
        ir = resolver.resolve()
        errors.extend(resolver.errors)
        if ir is not None:
            apps.append(ir)
    if errors:
        raise SpecErrors(errors)
    return sorted(apps, key=lambda a: a.name)


class _AppResolver:
    def __init__(self, app: App, module_file: Path, spec_root: Path) -> None:
        self.app = app
        self.module_file = module_file
        self.spec_root = spec_root.resolve()
        self.errors: list[SpecError] = []
        self.payload_classes: dict[str, type[Any]] = {}
        self.payloads: dict[str, PayloadIR] = {}
        self.enum_classes: dict[str, type[enum.Enum]] = {}
        self.enums: dict[str, EnumIR] = {}
        self.consumers: dict[str, ConsumerIR] = {}
        self.consumer_specs: dict[str, AnyConsumer] = {}
        self.demuxes: dict[str, DemuxIR] = {}
        self.demux_specs: dict[str, WebsocketDemultiplexer] = {}
        self.names: dict[str, tuple[str, Location]] = {}  # generated top-level names
        self.url_builders: dict[str, int] = {}
        self.route_count = 0

    def error(self, where: Location, path: str, message: str, hint: str = "") -> None:
        self.errors.append(SpecError(where, path, message, hint))

    # -- app ---------------------------------------------------------------------------

    def resolve(self) -> AppIR | None:
        app = self.app
        at = app.defined_at
        if not isinstance(app.name, str) or not _APP_NAME.match(app.name):
            self.error(
                at,
                "$.name",
                f"app name {app.name!r} is not a valid package name",
                "use lowercase letters, digits and underscores, starting with a letter",
            )
        elif naming.reserved_reason(app.name):
            self.error(
                at,
                "$.name",
                f"app name is reserved: {naming.reserved_reason(app.name)}",
                "choose another name",
            )
        self._check_module_path(app.handlers, at, "$.handlers")
        routes = [self._route(r, f"$.routes[{i}]") for i, r in enumerate(app.routes)]
        if not app.routes:
            self.error(at, "$.routes", "the app has no routes", "add route(path, consumer) entries")
        for payload in self.payloads.values():
            for field in payload.fields:
                if field.name in self.names:
                    self.error(
                        payload.location,
                        f"$.{field.name}",
                        f"field name {field.name!r} would hide the type {field.name} inside "
                        "the generated class",
                        "rename the field",
                    )
        if self.errors:
            return None
        return AppIR(
            name=app.name,
            spec_file=self._relative(self.module_file),
            handlers_module=app.handlers,
            enums=tuple(self.enums[n] for n in sorted(self.enums)),
            payloads=self._ordered_payloads(),
            consumers=tuple(self.consumers[n] for n in sorted(self.consumers)),
            demuxes=tuple(self.demuxes[n] for n in sorted(self.demuxes)),
            routes=tuple(r for r in routes if r is not None),
        )

    def _check_module_path(self, value: Any, at: Location, path: str) -> None:
        parts = value.split(".") if isinstance(value, str) else [""]
        if not all(naming.is_python_identifier(p) for p in parts):
            self.error(
                at,
                path,
                f"{value!r} is not a dotted module path",
                'name the module holding the handler classes, e.g. "handlers.chat"',
            )

    def _relative(self, file: Path) -> str:
        try:
            return file.resolve().relative_to(self.spec_root.parent).as_posix()
        except ValueError:
            return file.name

    # -- routes ------------------------------------------------------------------------

    def _route(self, spec: Any, path: str) -> RouteIR | None:
        if not isinstance(spec, Route):
            self.error(
                self.app.defined_at,
                path,
                f"expected a route(...), got {python_kind(spec)}",
                "build routes with route(path, consumer) or consumer.as_route(path)",
            )
            return None
        at = spec.defined_at
        try:
            pattern = re.compile(spec.path)
        except (re.error, TypeError) as exc:
            self.error(
                at,
                "$.path",
                f"invalid regular expression {spec.path!r}: {exc}",
                'the path is a Python regex, e.g. r"^/ws/(?P<room>[a-z0-9-]+)/$"',
            )
            pattern = None
        target = spec.target
        if isinstance(target, JsonWebsocketConsumer | WebsocketConsumer):
            name = self._consumer(target)
            consumers: list[AnyConsumer] = [target]
        elif isinstance(target, WebsocketDemultiplexer):
            name = self._demux(target)
            consumers = [
                c for c in target.consumers.values() if isinstance(c, JsonWebsocketConsumer)
            ]
        else:
            self.error(
                at,
                "$.target",
                f"a route serves a consumer or demultiplexer, got {python_kind(target)}",
            )
            return None
        if pattern is not None:
            for consumer in consumers:
                self._check_groups(consumer, set(pattern.groupindex), spec)
        if name is None or pattern is None:
            return None
        builders = self.url_builders
        builder = name[0].lower() + name[1:] + "Url"
        builders[builder] = builders.get(builder, 0) + 1
        if builders[builder] > 1:
            builder = f"{builder}{builders[builder]}"
        route_attrs = self._route_attrs(spec)
        if route_attrs is None:
            return None
        self.route_count += 1
        route_class = ""
        if route_attrs:
            route_class = f"{name}Route{self.route_count}"
            if not self._claim(route_class, "route class", at, "$.attrs"):
                return None
        return RouteIR(spec.path, name, url_template(spec.path), builder, route_attrs, route_class)

    def _route_attrs(self, spec: Route) -> tuple[tuple[str, Any], ...] | None:
        found = []
        ok = True
        for key, value in sorted(spec.attrs.items(), key=lambda kv: str(kv[0])):
            path = f"$.attrs[{naming.py_str(str(key))}]"
            if not isinstance(key, str) or not naming.is_python_identifier(key) or key[0] == "_":
                self.error(
                    spec.defined_at,
                    path,
                    f"attribute name {key!r} is not usable",
                    "use a public Python identifier",
                )
                ok = False
            elif key in ROUTE_FIXED_ATTRIBUTES:
                self.error(
                    spec.defined_at,
                    path,
                    f"{key!r} is defined by the spec itself",
                    "change it in the consumer's spec instead",
                )
                ok = False
            elif type(value) not in (str, int, float, bool, type(None)):
                self.error(
                    spec.defined_at,
                    path,
                    f"unsupported attribute value {value!r}",
                    "route attributes are strings, numbers, booleans or None",
                )
                ok = False
            else:
                found.append((key, value))
        return tuple(found) if ok else None

    def _check_groups(self, consumer: AnyConsumer, captured: set[str], route: Route) -> None:
        for i, template in enumerate(consumer.connection_groups):
            try:
                fields = _placeholders(template) if isinstance(template, str) else []
            except ValueError:
                continue  # _template reports the malformed template itself
            for field in fields:
                if field not in captured:
                    known = ", ".join(sorted(captured)) or "none"
                    self.error(
                        consumer.defined_at,
                        f"$.connection_groups[{i}]",
                        f"group template {template!r} uses {{{field}}}, which the route "
                        f"{route.path!r} (at {route.defined_at}) does not capture "
                        f"(it captures: {known})",
                        did_you_mean(field, captured)
                        or "capture it with (?P<name>...) in the route",
                    )

    # -- consumers ---------------------------------------------------------------------

    def _claim(self, name: str, what: str, at: Location, path: str) -> bool:
        """Reserve a generated top-level name; report clashes and bad names."""
        if not isinstance(name, str) or not _TYPE_NAME.match(name):
            self.error(
                at,
                path,
                f"{what} name {name!r} is not a valid type name",
                "use PascalCase ASCII letters and digits, e.g. ChatRoom",
            )
            return False
        reason = naming.reserved_reason(name)
        if reason is None and name in GENERATED_NAMES | TS_CLIENT_NAMES:
            reason = f"{name!r} is used by the generated code"
        if reason:
            self.error(at, path, f"{what} name is reserved: {reason}", "choose another name")
            return False
        if name in self.names:
            other, where = self.names[name]
            self.error(
                at,
                path,
                f"{what} name {name!r} is already used by {other} at {where}",
                "names of payloads, consumers and demultiplexers share one namespace",
            )
            return False
        self.names[name] = (what, at)
        return True

    def _consumer(self, spec: AnyConsumer) -> str | None:
        known = self.consumer_specs.get(spec.name)
        if known is spec:
            return spec.name
        at = spec.defined_at
        if known is not None:
            self.error(
                at,
                "$.name",
                f"consumer {spec.name!r} is also defined at {known.defined_at}",
                "give each consumer a unique name",
            )
            return None
        ok = self._claim(spec.name, "consumer", at, "$.name")
        for kind, derived in ConsumerNames(spec.name).derived():
            ok = self._claim(derived, f"consumer {kind}", at, "$.name") and ok
        if not ok:
            return None
        self.consumer_specs[spec.name] = spec
        events = self._events(spec)
        helpers = {f"send_{e.name}" for e in events} | {f"group_send_{e.name}" for e in events}
        methods: dict[str, str] = {}
        handlers = self._handlers(spec, "method_mapping", helpers, methods)
        layer_handlers = self._handlers(spec, "layer_mapping", helpers, methods)
        templates = tuple(self._template(t, spec, i) for i, t in enumerate(spec.connection_groups))
        options = self._options(spec)
        kind = "plain" if isinstance(spec, WebsocketConsumer) else "json"
        self.consumers[spec.name] = ConsumerIR(
            spec.name, handlers, events, templates, options, layer_handlers, kind
        )
        return spec.name

    def _options(self, spec: AnyConsumer) -> tuple[tuple[str, bool | int], ...]:
        """Settings that differ from the runtime's defaults, as class attributes to emit."""
        options: list[tuple[str, bool | int]] = []
        for name in ("strict_ordering", "http_user", "login_required"):
            value = getattr(spec, name, getattr(RuntimeConsumer, name))
            if type(value) is not bool:
                self.error(spec.defined_at, f"$.{name}", f"{name} must be True or False")
            elif value != getattr(RuntimeConsumer, name):
                options.append((name, value))
        limit = getattr(spec, "max_concurrency", RuntimeConsumer.max_concurrency)
        if type(limit) is not int or limit < 1:
            self.error(spec.defined_at, "$.max_concurrency", "max_concurrency must be an int >= 1")
        elif limit != RuntimeConsumer.max_concurrency:
            options.append(("max_concurrency", limit))
        return tuple(options)

    def _template(self, template: Any, spec: AnyConsumer, index: int) -> str:
        path = f"$.connection_groups[{index}]"
        if not isinstance(template, str):
            self.error(
                spec.defined_at, path, f"a group template is a string, got {python_kind(template)}"
            )
            return ""
        try:
            _placeholders(template)
        except ValueError as exc:
            self.error(
                spec.defined_at,
                path,
                f"invalid group template {template!r}: {exc}",
                'use named placeholders only, e.g. "room.{room}"',
            )
        return template

    def _handlers(
        self, spec: AnyConsumer, table: str, taken: set[str], methods: dict[str, str]
    ) -> tuple[HandlerIR, ...]:
        """Handlers of one table: ``method_mapping`` (client messages) or ``layer_mapping``
        (channel-layer messages, Channels style ``chat.message``, which get no reply)."""
        layer = table == "layer_mapping"
        handlers: list[HandlerIR] = []
        for msg_type, handler in getattr(spec, table, {}).items():
            path = f"$.{table}[{naming.py_str(str(msg_type))}]"
            at = handler.defined_at if isinstance(handler, Handler) else spec.defined_at
            valid = (
                self._layer_type(msg_type, at, path)
                if layer
                else self._member_name(msg_type, "message type", at, path)
            )
            if not valid:
                continue
            if not isinstance(handler, Handler):
                self.error(
                    spec.defined_at,
                    path,
                    f"expected Handler(...), got {python_kind(handler)}",
                    f"write Handler(PayloadClass) for {msg_type!r}",
                )
                continue
            method = handler.method or msg_type.replace(".", "_")
            if (handler.method is not None or layer) and not self._member_name(
                method, "handler method", handler.defined_at, "$.method"
            ):
                continue
            if method in taken:
                self.error(
                    handler.defined_at,
                    "$.method",
                    f"handler method {method!r} clashes with a generated send helper",
                    "set Handler(..., method=...) to another name",
                )
                continue
            if method in methods:
                self.error(
                    handler.defined_at,
                    "$.method",
                    f"handler method {method!r} already handles {methods[method]!r}",
                    "each message type needs its own method",
                )
                continue
            methods[method] = msg_type
            if layer and handler.reply is not None:
                self.error(
                    handler.defined_at,
                    "$.reply",
                    "a layer message has nobody to reply to",
                    "remove reply=",
                )
                continue
            payload = self._payload_ref(handler.payload, handler.defined_at, "$.payload")
            reply = None
            if handler.reply is not None:
                reply = self._payload_ref(handler.reply, handler.defined_at, "$.reply")
            decorators = self._decorators(handler)
            if payload is not None and (handler.reply is None or reply is not None):
                handlers.append(HandlerIR(msg_type, method, payload, reply, decorators))
        return tuple(sorted(handlers, key=lambda h: h.msg_type))

    def _layer_type(self, name: Any, at: Location, path: str) -> bool:
        if not isinstance(name, str) or not _LAYER_TYPE.match(name) or name == GROUP_EVENT:
            self.error(
                at,
                path,
                f"layer message type {name!r} is not usable",
                'use lowercase names with dots, like Channels\' "chat.message"',
            )
            return False
        return True

    def _decorators(self, handler: Handler) -> tuple[str, ...]:
        found = []
        for i, path in enumerate(handler.decorators):
            parts = path.split(".") if isinstance(path, str) else []
            if len(parts) < 2 or not all(naming.is_python_identifier(p) for p in parts):
                self.error(
                    handler.defined_at,
                    f"$.decorators[{i}]",
                    f"{path!r} is not a dotted path to a decorator",
                    'name the module and the function, e.g. "myapp.guards.staff_only"',
                )
            else:
                found.append(path)
        return tuple(found)

    def _events(self, spec: AnyConsumer) -> tuple[EventIR, ...]:
        events: list[EventIR] = []
        for name, cls in getattr(spec, "sends", {}).items():
            path = f"$.sends[{naming.py_str(str(name))}]"
            if not self._member_name(name, "event", spec.defined_at, path):
                continue
            clash = {f"send_{name}", f"group_send_{name}"} & CONSUMER_ATTRIBUTES
            if clash:
                self.error(
                    spec.defined_at,
                    path,
                    f"event {name!r} would generate {min(clash)}(), a method every consumer has",
                    "choose another event name",
                )
                continue
            ref = self._payload_ref(cls, spec.defined_at, path)
            if ref is not None:
                events.append(EventIR(name, ref))
        return tuple(sorted(events, key=lambda e: e.name))

    def _member_name(self, name: Any, what: str, at: Location, path: str) -> bool:
        if not isinstance(name, str) or not _MEMBER_NAME.match(name):
            self.error(
                at,
                path,
                f"{what} {name!r} is not a valid name",
                "use lowercase ASCII letters, digits and underscores, starting with a letter",
            )
            return False
        # Only Python keywords matter: on the TypeScript side these are property names,
        # where reserved words are legal (`chat.send.delete(...)`).
        reason = f"{name!r} is a Python keyword" if name in naming.PYTHON_KEYWORDS else None
        if reason is None and name in RESERVED_TYPES:
            reason = f"{name!r} is the protocol's error frame type"
        if reason is None and name in CONSUMER_ATTRIBUTES:
            reason = f"{name!r} is a method of every consumer"
        if reason:
            self.error(at, path, f"{what} name is reserved: {reason}", "choose another name")
            return False
        return True

    def _demux(self, spec: WebsocketDemultiplexer) -> str | None:
        known = self.demux_specs.get(spec.name)
        if known is spec:
            return spec.name
        at = spec.defined_at
        if known is not None:
            self.error(
                at, "$.name", f"demultiplexer {spec.name!r} is also defined at {known.defined_at}"
            )
            return None
        ok = self._claim(spec.name, "demultiplexer", at, "$.name")
        client = DemuxIR.client_name_of(spec.name)
        if not (self._claim(client, "demultiplexer client", at, "$.name") and ok):
            return None
        self.demux_specs[spec.name] = spec
        streams: list[tuple[str, str]] = []
        if not spec.consumers:
            self.error(
                at,
                "$.consumers",
                "the demultiplexer has no streams",
                'map stream names to consumers: consumers={"chat": chat}',
            )
        for stream, consumer in spec.consumers.items():
            path = f"$.consumers[{naming.py_str(str(stream))}]"
            if not isinstance(stream, str) or not _STREAM_NAME.match(stream):
                self.error(
                    at,
                    path,
                    f"stream name {stream!r} is not valid",
                    "use ASCII letters, digits, '_', '.' and '-'",
                )
                continue
            if not isinstance(consumer, JsonWebsocketConsumer):
                hint = (
                    "a plain WebsocketConsumer speaks raw text; route it on its own path"
                    if isinstance(consumer, WebsocketConsumer)
                    else ""
                )
                self.error(
                    at,
                    path,
                    f"a stream is served by a JsonWebsocketConsumer, got {python_kind(consumer)}",
                    hint,
                )
                continue
            name = self._consumer(consumer)
            if name is not None:
                streams.append((stream, name))
        self.demuxes[spec.name] = DemuxIR(spec.name, tuple(sorted(streams)))
        return spec.name

    # -- payloads ----------------------------------------------------------------------

    def _payload_ref(self, cls: Any, at: Location, path: str) -> str | None:
        if not is_payload(cls):
            hint = "decorate the class with @payload" if isinstance(cls, type) else ""
            if not hint:
                hint = did_you_mean(str(cls), self.payload_classes) or "pass a @payload class"
            self.error(at, path, f"expected a @payload class, got {python_kind(cls)}", hint)
            return None
        self._payload(cls)
        return str(cls.__name__)

    # -- TypeSink: translate() reports the payloads and enums a field refers to ---------

    def payload(self, cls: type[Any]) -> None:
        self._payload(cls)

    def enum(self, cls: type[enum.Enum]) -> None:
        name = cls.__name__
        known = self.enum_classes.get(name)
        if known is cls:
            return
        at = _class_location(cls)
        self.enum_classes[name] = cls
        if known is not None:
            self.error(at, "$", f"enum {name!r} is defined twice in this app", "rename one")
            return
        if not self._claim(name, "enum", at, "$"):
            return
        doc = inspect.cleandoc(cls.__doc__) if _own_doc(cls) and cls.__doc__ else ""
        if doc == inspect.cleandoc(enum.Enum.__doc__ or ""):
            doc = ""
        members = tuple((m.name, m.value) for m in cls)
        self.enums[name] = EnumIR(name, doc, members, at)

    def _payload(self, cls: type[Any]) -> None:
        name = cls.__name__
        known = self.payload_classes.get(name)
        if known is cls:
            return
        at = payload_location(cls)
        if known is not None:
            self.error(
                at,
                "$",
                f"payload {name!r} is also defined at {payload_location(known)}",
                "rename one of them: payload names are unique within an app",
            )
            return
        if not self._claim(name, "payload", at, "$"):
            self.payload_classes[name] = cls  # report the clash once, not per reference
            return
        self.payload_classes[name] = cls
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:
            self.error(
                at,
                "$",
                f"cannot resolve the field types of {name}: {exc}",
                "define referenced payloads before this one",
            )
            return
        fields = []
        for field in attrs.fields(cls):
            where = Location(at.file, _field_line(cls, field.name) or at.line)
            fields.append(self._field(field, hints.get(field.name), where))
        doc = inspect.cleandoc(cls.__doc__) if cls.__doc__ and _own_doc(cls) else ""
        self.payloads[name] = PayloadIR(name, doc, tuple(f for f in fields if f is not None), at)

    def _field(self, field: attrs.Attribute[Any], tp: Any, at: Location) -> FieldIR | None:
        path = f"$.{field.name}"
        if field.name.startswith("_"):
            self.error(at, path, "field names must not start with '_'", "rename the field")
            return None
        if field.name in ANNOTATION_NAMES:
            self.error(
                at,
                path,
                f"field name {field.name!r} would hide the type {field.name} inside the "
                "generated class",
                "rename the field",
            )
            return None
        if not naming.is_python_identifier(field.name):
            self.error(
                at,
                path,
                f"field name {field.name!r} is not an ASCII identifier",
                "rename the field",
            )
            return None
        try:
            type_ir = translate(tp, self)
        except UnsupportedType as exc:
            self.error(at, path, exc.message, exc.hint)
            return None
        return FieldIR(field.name, type_ir, self._default(field, type_ir, at, path))

    def _default(
        self, field: attrs.Attribute[Any], tp: TypeIR, at: Location, path: str
    ) -> Default | None:
        if field.default is attrs.NOTHING:
            return None
        value: Any = field.default
        if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
            kinds = {list: ("list", ListOf), dict: ("dict", DictOf)}
            kind = kinds.get(value.factory)
            if kind is not None and isinstance(tp, kind[1]):
                return Default(factory=kind[0])
            self.error(
                at,
                path,
                "only an empty list or dict factory is supported as a default factory",
                "use attrs.field(factory=list), attrs.field(factory=dict) or a constant",
            )
            return None
        if isinstance(value, enum.Enum):
            wire, default = value.value, Default(enum_member=value.name)
        elif type(value) in (str, int, float, bool, type(None)):
            wire, default = value, Default(value)
        else:
            self.error(
                at,
                path,
                f"unsupported default {value!r}",
                "defaults must be a string, number, boolean, None or an enum member",
            )
            return None
        # The default must be a value the field accepts on the wire, checked by the runtime.
        try:
            CONVERTER.get_structure_hook(field.type)(wire, field.type)
        except Exception as exc:
            reasons = "; ".join(d.message for d in validation_details(exc, path))
            self.error(at, path, f"default {value!r} does not fit the field: {reasons}")
            return None
        return default

    def _ordered_payloads(self) -> tuple[PayloadIR, ...]:
        """Dependencies first, then by name, so generated code never needs forward refs."""
        ordered: list[PayloadIR] = []
        state: dict[str, int] = {}

        def visit(name: str) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                payload = self.payloads[name]
                self.error(
                    payload.location,
                    "$",
                    f"payload {name!r} refers to itself",
                    "recursive payloads are not supported",
                )
                return
            state[name] = 1
            for dep in sorted(_refs(f.type for f in self.payloads[name].fields)):
                if dep in self.payloads:
                    visit(dep)
            state[name] = 2
            ordered.append(self.payloads[name])

        for name in sorted(self.payloads):
            visit(name)
        return tuple(ordered)


def _refs(types: Iterable[TypeIR]) -> set[str]:
    found: set[str] = set()
    for tp in types:
        if isinstance(tp, Ref):
            found.add(tp.name)
        elif isinstance(tp, ListOf):
            found |= _refs([tp.item])
        elif isinstance(tp, DictOf):
            found |= _refs([tp.value])
        elif isinstance(tp, Nullable):
            found |= _refs([tp.inner])
        elif isinstance(tp, UnionOf):
            found |= set(tp.members)
    return found


def _placeholders(template: str) -> list[str]:
    """Named fields of a str.format template; ValueError for positional or formatted ones."""
    names = []
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{field}}} must be a plain name like {{room}}")
        names.append(field)
    return names


def _field_line(cls: type[Any], name: str) -> int | None:
    given = field_location(cls, name)  # a class made at run time, e.g. from a data spec
    if given is not None:
        return given.line
    try:
        lines, start = class_source(cls)
    except (OSError, TypeError):
        return None
    pattern = re.compile(rf"\s+{re.escape(name)}\s*:")
    for offset, line in enumerate(lines):
        if pattern.match(line):
            return start + offset
    return None


def _class_location(cls: type[Any]) -> Location:
    given = class_location(cls)  # a class made at run time, e.g. from a data spec
    if given is not None:
        return given
    try:
        file = inspect.getsourcefile(cls) or "<unknown>"
        line = class_source(cls)[1]
    except (OSError, TypeError):
        return Location("<unknown>", 0)
    return Location(str(Path(file).resolve()), line)


def _own_doc(cls: type[Any]) -> bool:
    return "__doc__" in vars(cls) and cls.__doc__ is not None
