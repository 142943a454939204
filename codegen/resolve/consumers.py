"""Consumers and demultiplexers -> ``ConsumerIR`` and ``DemuxIR``.

A consumer may be reached from several routes and streams; it is checked once, the
first time, and later references get its name (or None if it was refused).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Mapping
from typing import Any

from chgen.runtime.consumer import JsonWebsocketConsumer as RuntimeConsumer

from .. import naming
from ..hints import python_kind
from ..ir import ConsumerIR, ConsumerNames, DemuxIR, EventIR, Option
from ..render import vocabulary
from ..spec import JsonWebsocketConsumer, RateLimit, WebsocketConsumer, WebsocketDemultiplexer
from .context import AppContext
from .events import event_name_ok
from .handlers import AnyConsumer, HandlerChecks
from .history import history_option
from .payloads import PayloadChecks

__all__ = ["ConsumerChecks", "placeholders"]

_STREAM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_FLAGS = ("strict_ordering", "http_user", "login_required")


def placeholders(template: str) -> list[str]:
    """Named fields of a str.format template; ValueError for positional or formatted ones."""
    names = []
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{field}}} must be a plain name like {{room}}")
        names.append(field)
    return names


class ConsumerChecks:
    def __init__(
        self,
        context: AppContext,
        payloads: PayloadChecks,
        senders: Mapping[str, str],
        app_events: Mapping[str, EventIR] | None = None,
    ) -> None:
        self.context = context
        self.payloads = payloads
        self.senders = senders  # the app's job senders, methods of every consumer
        self.app_events = dict(app_events or {})  # every consumer group-sends these
        self.consumers: dict[str, ConsumerIR] = {}
        self.demuxes: dict[str, DemuxIR] = {}
        # Every spec object seen, by name, with the outcome: a refused spec is reported
        # once however many routes and streams reach it.
        self._seen: dict[tuple[str, str], tuple[Any, str | None]] = {}

    def consumer(self, spec: AnyConsumer) -> str | None:
        """The consumer's name once it is checked; None if it was refused."""
        return self._once(spec, "consumer", self._consumer)

    def demux(self, spec: WebsocketDemultiplexer) -> str | None:
        """The demultiplexer's name once it and its streams are checked; None if refused."""
        return self._once(spec, "demultiplexer", self._demux)

    def _once(self, spec: Any, what: str, check: Callable[[Any], str | None]) -> str | None:
        key = (what, spec.name)
        seen = self._seen.get(key)
        if seen is not None and seen[0] is spec:
            return seen[1]
        if seen is not None:
            self.context.error(
                spec.defined_at,
                "$.name",
                f"{what} {spec.name!r} is also defined at {seen[0].defined_at}",
                f"give each {what} a unique name",
            )
            return None
        self._seen[key] = (spec, None)
        name = check(spec)
        self._seen[key] = (spec, name)
        return name

    # -- consumers ---------------------------------------------------------------------

    def _consumer(self, spec: AnyConsumer) -> str | None:
        at = spec.defined_at
        if not self.context.claim(spec.name, "consumer", at, "$.name"):
            return None  # the derived names would only repeat the same complaint
        ok = True
        for kind, derived in ConsumerNames(spec.name).derived():
            ok = self.context.claim(derived, f"consumer {kind}", at, "$.name") and ok
        if not ok:
            return None
        events = self._events(spec)
        helpers = {f"send_{e.name}" for e in events} | {f"group_send_{e.name}" for e in events}
        helpers |= {f"group_send_{name}" for name in self.app_events}
        handlers = HandlerChecks(self.context, self.payloads, spec, helpers | set(self.senders))
        self.consumers[spec.name] = ConsumerIR(
            spec.name,
            handlers.table("method_mapping"),
            events,
            tuple(self._template(t, spec, i) for i, t in enumerate(spec.connection_groups)),
            self._options(spec),
            handlers.table("layer_mapping"),
            "plain" if isinstance(spec, WebsocketConsumer) else "json",
        )
        return spec.name

    def _options(self, spec: AnyConsumer) -> tuple[Option, ...]:
        """Settings that differ from the runtime's defaults, as class attributes to emit."""
        options: list[Option] = []
        for name in _FLAGS:
            value = getattr(spec, name, getattr(RuntimeConsumer, name))
            if type(value) is not bool:
                self.context.error(spec.defined_at, f"$.{name}", f"{name} must be True or False")
            elif value != getattr(RuntimeConsumer, name):
                options.append((name, value))
        limit = getattr(spec, "max_concurrency", RuntimeConsumer.max_concurrency)
        if type(limit) is not int or limit < 1:
            message = "max_concurrency must be an int >= 1"
            self.context.error(spec.defined_at, "$.max_concurrency", message)
        elif limit != RuntimeConsumer.max_concurrency:
            options.append(("max_concurrency", limit))
        if isinstance(spec, JsonWebsocketConsumer):
            options += self._rate_limit(spec)
            options += history_option(self.context, spec)
        return tuple(options)

    def _rate_limit(self, spec: JsonWebsocketConsumer) -> list[Option]:
        """The rate limit's class attributes that differ from the runtime's defaults."""
        limit = spec.rate_limit
        if limit is None:
            return [("rate_limit", None)]
        if not isinstance(limit, RateLimit):
            message = f"rate_limit must be a RateLimit or None, got {python_kind(limit)}"
            self.context.error(
                spec.defined_at, "$.rate_limit", message, "write RateLimit(20, burst=40)"
            )
            return []
        rate, burst, flood = limit.per_second, limit.burst, limit.flood_seconds
        ok = True
        if type(rate) not in (int, float) or not rate > 0:
            message = f"per_second must be a number above 0, got {rate!r}"
            self.context.error(spec.defined_at, "$.rate_limit.per_second", message)
            ok = False
        if type(burst) is not int or burst < 1:
            message = f"burst must be an int >= 1, got {burst!r}"
            self.context.error(spec.defined_at, "$.rate_limit.burst", message)
            ok = False
        if type(flood) not in (int, float) or not 0 < flood < math.inf:
            message = f"flood_seconds must be a number of seconds above 0, got {flood!r}"
            self.context.error(spec.defined_at, "$.rate_limit.flood_seconds", message)
            ok = False
        if not ok:
            return []
        if rate == math.inf:
            return [("rate_limit", None)]  # no limit, as TOML specs can write it
        wanted: list[Option] = [
            ("rate_limit", float(rate)),
            ("rate_burst", burst),
            ("flood_seconds", float(flood)),
        ]
        return [(name, value) for name, value in wanted if value != getattr(RuntimeConsumer, name)]

    def _template(self, template: Any, spec: AnyConsumer, index: int) -> str:
        path = f"$.connection_groups[{index}]"
        if not isinstance(template, str):
            message = f"a group template is a string, got {python_kind(template)}"
            self.context.error(spec.defined_at, path, message)
            return ""
        try:
            placeholders(template)
        except ValueError as exc:
            self.context.error(
                spec.defined_at,
                path,
                f"invalid group template {template!r}: {exc}",
                'use named placeholders only, e.g. "room.{room}"',
            )
        return template

    def _events(self, spec: AnyConsumer) -> tuple[EventIR, ...]:
        events: list[EventIR] = []
        for name, cls in getattr(spec, "sends", {}).items():
            path = f"$.sends[{naming.py_str(str(name))}]"
            if not event_name_ok(self.context, name, spec.defined_at, path):
                continue
            if f"send_{name}" in self.senders:
                self.context.error(
                    spec.defined_at,
                    path,
                    f"event {name!r} would generate send_{name}(), which sends "
                    f"{self.senders[f'send_{name}']}",
                    "choose another event name",
                )
                continue
            ref = self.payloads.ref(cls, spec.defined_at, path)
            if ref is not None:
                events.append(self._event(name, ref, spec, path))
        return tuple(sorted(events, key=lambda e: e.name))

    def _event(self, name: str, payload: str, spec: AnyConsumer, path: str) -> EventIR:
        """The consumer's event ``name``; one of the app's events when the app has it."""
        shared = self.app_events.get(name)
        if shared is None:
            return EventIR(name, payload)
        if shared.payload != payload:
            self.context.error(
                spec.defined_at,
                path,
                f"{name!r} is an app event with payload {shared.payload}, "
                f"but {spec.name} sends it with {payload}",
                f"send it with {shared.payload}, or give this event another name",
            )
        return shared

    # -- demultiplexers ----------------------------------------------------------------

    def _demux(self, spec: WebsocketDemultiplexer) -> str | None:
        at = spec.defined_at
        if not self.context.claim(spec.name, "demultiplexer", at, "$.name"):
            return None
        client = DemuxIR.client_name_of(spec.name)
        if not self.context.claim(client, "demultiplexer client", at, "$.name"):
            return None
        if not spec.consumers:
            self.context.error(
                at,
                "$.consumers",
                "the demultiplexer has no streams",
                'map stream names to consumers: consumers={"chat": chat}',
            )
        streams = [self._stream(spec, s, c) for s, c in spec.consumers.items()]
        found = tuple(sorted(s for s in streams if s is not None))
        self.demuxes[spec.name] = DemuxIR(spec.name, found, self._multiplexer_class(spec))
        return spec.name

    def _multiplexer_class(self, spec: WebsocketDemultiplexer) -> str | None:
        path = spec.multiplexer_class
        if path is None:
            return None
        parts = path.split(".") if isinstance(path, str) else []
        if len(parts) < 2 or not all(naming.is_python_identifier(p) for p in parts):
            self.context.error(
                spec.defined_at,
                "$.multiplexer_class",
                f"{path!r} is not a dotted path to a class",
                'name the module and the Multiplexer subclass, e.g. "myapp.mux.Signed"',
            )
            return None
        return path

    def _stream(
        self, spec: WebsocketDemultiplexer, stream: Any, consumer: Any
    ) -> tuple[str, str] | None:
        at = spec.defined_at
        path = f"$.consumers[{naming.py_str(str(stream))}]"
        if not isinstance(stream, str) or not _STREAM_NAME.match(stream):
            self.context.error(
                at,
                path,
                f"stream name {stream!r} is not valid",
                "use ASCII letters, digits, '_', '.' and '-'",
            )
            return None
        if stream in vocabulary.client_member_names():
            self.context.error(
                at,
                path,
                f"stream name {stream!r} is reserved: the TypeScript client object has a "
                f"member of that name",
                "choose another stream name",
            )
            return None
        if not isinstance(consumer, JsonWebsocketConsumer):
            hint = (
                "a plain WebsocketConsumer speaks raw text; route it on its own path"
                if isinstance(consumer, WebsocketConsumer)
                else ""
            )
            message = f"a stream is served by a JsonWebsocketConsumer, got {python_kind(consumer)}"
            self.context.error(at, path, message, hint)
            return None
        name = self.consumer(consumer)
        return None if name is None else (stream, name)
