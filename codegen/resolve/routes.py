"""Routes -> ``RouteIR``: the path regex, its target, group templates, route attributes
and the route's own message set.

A route's target is checked through ``ConsumerChecks``; the route then checks that every
group template of the consumers it reaches is formatted from groups its regex captures.
Attributes and a ``method_mapping`` make a subclass serving this route only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .. import naming
from ..hints import did_you_mean, python_kind
from ..ir import ConsumerNames, HandlerIR, RouteIR
from ..spec import JsonWebsocketConsumer, Route, WebsocketConsumer, WebsocketDemultiplexer
from ..urlpattern import url_template
from .consumers import ConsumerChecks, placeholders
from .context import AppContext
from .handlers import AnyConsumer
from .payloads import PayloadChecks
from .reserved import ROUTE_FIXED_ATTRIBUTES
from .route_mapping import RouteMappings

__all__ = ["OVERRIDABLE_SETTINGS", "RouteChecks"]

_ATTRIBUTE_TYPES = (str, int, float, bool, type(None))
_MAPPING = "method_mapping"


def _number(value: Any) -> bool:
    return type(value) in (int, float) and value > 0


# The runtime's settings a route's attrs may override, with what each accepts.
OVERRIDABLE_SETTINGS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "strict_ordering": (lambda v: type(v) is bool, "True or False"),
    "max_concurrency": (lambda v: type(v) is int and v >= 1, "an int >= 1"),
    "http_user": (lambda v: type(v) is bool, "True or False"),
    "login_required": (lambda v: type(v) is bool, "True or False"),
    "max_message_size": (lambda v: type(v) is int and v >= 1, "an int >= 1"),
    "rate_limit": (lambda v: v is None or _number(v), "messages a second above 0, or None"),
    "rate_burst": (lambda v: type(v) is int and v >= 1, "an int >= 1"),
    "flood_seconds": (_number, "seconds above 0"),
}


class RouteChecks:
    def __init__(
        self, context: AppContext, consumers: ConsumerChecks, payloads: PayloadChecks
    ) -> None:
        self.context = context
        self.consumers = consumers
        self.mappings = RouteMappings(context, payloads, consumers)
        self.url_builders: dict[str, int] = {}  # client URL function -> routes using it
        self.count = 0

    def route(self, spec: Any, at: Any, path: str) -> RouteIR | None:
        """The route's IR; ``at`` locates the App, for a value that is not a route."""
        if not isinstance(spec, Route):
            self.context.error(
                at,
                path,
                f"expected a route(...), got {python_kind(spec)}",
                "build routes with route(path, consumer) or consumer.as_route(path)",
            )
            return None
        pattern = self._pattern(spec)
        name, reached = self._target(spec)
        if pattern is not None:
            for consumer in reached:
                self._check_groups(consumer, set(pattern.groupindex), spec)
        if name is None or pattern is None:
            return None
        route_attrs = self._attrs(spec)
        mapping = self._mapping(spec)
        handlers = None if mapping is None else self._handlers(spec, mapping)
        if route_attrs is None or (mapping is not None and handlers is None):
            return None
        self.count += 1
        route_class = f"{name}Route{self.count}" if route_attrs or mapping is not None else ""
        if route_class and not self._claim(route_class, spec, own_client=mapping is not None):
            return None
        url = url_template(spec.path)
        to_demux = isinstance(spec.target, WebsocketDemultiplexer)
        builder = self._url_builder(name)
        return RouteIR(spec.path, name, url, builder, route_attrs, route_class, to_demux, handlers)

    def _claim(self, route_class: str, spec: Route, own_client: bool) -> bool:
        """The route subclass's name, and with its own message set, its client's names."""
        at = spec.defined_at
        if not self.context.claim(route_class, "route class", at, "$.attrs"):
            return False
        if own_client:
            for kind, derived in ConsumerNames(route_class).derived():
                if kind != "base" and not self.context.claim(
                    derived, f"route {kind}", at, "$.method_mapping"
                ):
                    return False
        return True

    def _mapping(self, spec: Route) -> Any:
        """The route's own method_mapping, given either way; None when it has none."""
        in_attrs = spec.attrs.get(_MAPPING) if isinstance(spec.attrs, dict) else None
        if in_attrs is not None and spec.method_mapping is not None:
            self.context.error(
                spec.defined_at,
                "$.method_mapping",
                "method_mapping is given twice, in attrs and as method_mapping=",
                "keep one of them",
            )
        return spec.method_mapping if spec.method_mapping is not None else in_attrs

    def _handlers(self, spec: Route, mapping: Any) -> tuple[HandlerIR, ...] | None:
        target = spec.target
        if isinstance(target, JsonWebsocketConsumer):
            if self.consumers.consumer(target) is None:
                return None  # refused, and reported, as a consumer
            return self.mappings.handlers(spec, mapping, target)
        if isinstance(target, WebsocketDemultiplexer):
            message = "a route to a demultiplexer cannot replace a mapping"
            hint = "give the consumer a route of its own: as_route(path, method_mapping=...)"
        else:
            message = f"a route to {python_kind(target)} has no method_mapping to replace"
            hint = "only a JsonWebsocketConsumer maps message types to handlers"
        self.context.error(spec.defined_at, "$.method_mapping", message, hint)
        return None

    def _pattern(self, spec: Route) -> re.Pattern[str] | None:
        try:
            return re.compile(spec.path)
        except (re.error, TypeError) as exc:
            self.context.error(
                spec.defined_at,
                "$.path",
                f"invalid regular expression {spec.path!r}: {exc}",
                'the path is a Python regex, e.g. r"^/ws/(?P<room>[a-z0-9-]+)/$"',
            )
            return None

    def _target(self, spec: Route) -> tuple[str | None, list[AnyConsumer]]:
        """The target's name (None if refused) and the consumers the route reaches."""
        target = spec.target
        if isinstance(target, JsonWebsocketConsumer | WebsocketConsumer):
            return self.consumers.consumer(target), [target]
        if isinstance(target, WebsocketDemultiplexer):
            reached = [c for c in target.consumers.values() if isinstance(c, JsonWebsocketConsumer)]
            return self.consumers.demux(target), list(reached)
        self.context.error(
            spec.defined_at,
            "$.target",
            f"a route serves a consumer or demultiplexer, got {python_kind(target)}",
        )
        return None, []

    def _url_builder(self, target: str) -> str:
        """The client's URL function for a route to ``target``: ``lobbyUrl``, then
        ``lobbyUrl2`` for a second route to the same target."""
        builder = target[0].lower() + target[1:] + "Url"
        self.url_builders[builder] = self.url_builders.get(builder, 0) + 1
        count = self.url_builders[builder]
        return builder if count == 1 else f"{builder}{count}"

    def _attrs(self, spec: Route) -> tuple[tuple[str, Any], ...] | None:
        found = []
        ok = True
        for key, value in sorted(spec.attrs.items(), key=lambda kv: str(kv[0])):
            if key == _MAPPING:
                continue  # the route's own message set, not a class attribute
            problem = _attribute_problem(key, value)
            if problem:
                path = f"$.attrs[{naming.py_str(str(key))}]"
                self.context.error(spec.defined_at, path, *problem)
                ok = False
            else:
                found.append((key, value))
        return tuple(found) if ok else None

    def _check_groups(self, consumer: AnyConsumer, captured: set[str], route: Route) -> None:
        for i, template in enumerate(consumer.connection_groups):
            try:
                fields = placeholders(template) if isinstance(template, str) else []
            except ValueError:
                continue  # ConsumerChecks reports the malformed template itself
            for field in (f for f in fields if f not in captured):
                known = ", ".join(sorted(captured)) or "none"
                self.context.error(
                    consumer.defined_at,
                    f"$.connection_groups[{i}]",
                    f"group template {template!r} uses {{{field}}}, which the route "
                    f"{route.path!r} (at {route.defined_at}) does not capture "
                    f"(it captures: {known})",
                    did_you_mean(field, captured) or "capture it with (?P<name>...) in the route",
                )


def _attribute_problem(key: Any, value: Any) -> tuple[str, str] | None:
    """(message, hint) when a route attribute cannot be set; None when it can."""
    if not isinstance(key, str) or not naming.is_python_identifier(key) or key[0] == "_":
        return f"attribute name {key!r} is not usable", "use a public Python identifier"
    if key in ROUTE_FIXED_ATTRIBUTES:
        return f"{key!r} is defined by the spec itself", "change it in the consumer's spec instead"
    if key in OVERRIDABLE_SETTINGS:
        accepts, expected = OVERRIDABLE_SETTINGS[key]
        if not accepts(value):
            return f"{key} must be {expected}, got {value!r}", f"set {key} to {expected}"
        return None
    if type(value) not in _ATTRIBUTE_TYPES:
        return (
            f"unsupported attribute value {value!r}",
            "route attributes are strings, numbers, booleans or None; only "
            "method_mapping may be more",
        )
    return None
