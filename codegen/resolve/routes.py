"""Routes -> ``RouteIR``: the path regex, its target, group templates, route attributes.

A route's target is checked through ``ConsumerChecks``; the route then checks that every
group template of the consumers it reaches is formatted from groups its regex captures.
"""

from __future__ import annotations

import re
from typing import Any

from .. import naming
from ..hints import did_you_mean, python_kind
from ..ir import RouteIR
from ..spec import JsonWebsocketConsumer, Route, WebsocketConsumer, WebsocketDemultiplexer
from ..urlpattern import url_template
from .consumers import ConsumerChecks, placeholders
from .context import AppContext
from .handlers import AnyConsumer
from .reserved import ROUTE_FIXED_ATTRIBUTES

__all__ = ["RouteChecks"]

_ATTRIBUTE_TYPES = (str, int, float, bool, type(None))


class RouteChecks:
    def __init__(self, context: AppContext, consumers: ConsumerChecks) -> None:
        self.context = context
        self.consumers = consumers
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
        if route_attrs is None:
            return None
        self.count += 1
        route_class = f"{name}Route{self.count}" if route_attrs else ""
        if route_class and not self.context.claim(
            route_class, "route class", spec.defined_at, "$.attrs"
        ):
            return None
        url = url_template(spec.path)
        to_demux = isinstance(spec.target, WebsocketDemultiplexer)
        builder = self._url_builder(name)
        return RouteIR(spec.path, name, url, builder, route_attrs, route_class, to_demux)

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
    if type(value) not in _ATTRIBUTE_TYPES:
        return (
            f"unsupported attribute value {value!r}",
            "route attributes are strings, numbers, booleans or None",
        )
    return None
