"""Walk two surfaces side by side and report every difference as a ``Finding``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from ..render.contracts.schema import PRIMITIVES
from .model import AppSurface, Message, RouteSurface, StreamSurface, Surface
from .rules import RULES, Finding

__all__ = ["compare"]

Doc = dict[str, Any]
IN, OUT = "in", "out"

# Keywords that are words for people, not rules for values.
_NOTES = ("title", "description", "examples", "default", "x-enum-varnames", "x-chgen-location")
_LOWER = (("minimum", False), ("exclusiveMinimum", True))
_UPPER = (("maximum", False), ("exclusiveMaximum", True))
_COUNTS = ("Length", "Items", "Properties")


def compare(old: Surface, new: Surface) -> list[Finding]:
    found: list[Finding] = []
    for name in sorted(set(old.apps) | set(new.apps)):
        before, after = old.apps.get(name), new.apps.get(name)
        if before is None or after is None:
            kept = before or after
            assert kept is not None
            rule = "route-removed" if after is None else "route-added"
            for route in kept.routes:
                loc = route.location
                old_loc, new_loc = (loc, "-") if after is None else ("-", loc)
                found.append(
                    _finding(
                        rule,
                        IN,
                        f"app {name} is gone" if after is None else f"new app {name}",
                        f"{name} {route.pattern}",
                        old_loc,
                        new_loc,
                    )
                )
            continue
        found += _App(before, after).compare()
    return _merged(found)


def _finding(rule: str, position: str, message: str, where: str, old: str, new: str) -> Finding:
    spec = RULES[rule]
    breaks = spec.breaks_in if position == IN else spec.breaks_out
    return Finding(rule, breaks, message, where, old, new)


def _merged(found: list[Finding]) -> list[Finding]:
    """One finding per change: a payload used by several messages is reported once,
    naming every place it is used."""
    merged: dict[tuple[str, str, str, str, frozenset[str]], Finding] = {}
    for f in found:
        key = (f.rule, f.message, f.old, f.new, f.breaks)
        known = merged.get(key)
        if known is None:
            merged[key] = f
        elif f.where not in known.where.split("; "):
            merged[key] = Finding(
                f.rule, f.breaks, f.message, f"{known.where}; {f.where}", f.old, f.new
            )
    return list(merged.values())


class _App:
    def __init__(self, old: AppSurface, new: AppSurface) -> None:
        self.old, self.new = old, new
        self.found: list[Finding] = []

    def add(self, rule: str, position: str, message: str, where: str, old: str, new: str) -> None:
        self.found.append(_finding(rule, position, message, where, old, new))

    def compare(self) -> list[Finding]:
        old_routes = list(self.old.routes)
        new_routes = list(self.new.routes)
        for route in list(old_routes):
            twin = next((r for r in new_routes if r.pattern == route.pattern), None)
            if twin is not None:
                old_routes.remove(route)
                new_routes.remove(twin)
                self.route(route, twin)
        for route in list(old_routes):
            twin = next((r for r in new_routes if r.target == route.target), None)
            if twin is None:
                self.add(
                    "route-removed",
                    IN,
                    f"the route {route.pattern} is gone",
                    self._where(route),
                    route.location,
                    self.new.location,
                )
                continue
            new_routes.remove(twin)
            self.add(
                "route-changed",
                IN,
                f"the route {route.pattern} is now {twin.pattern}",
                self._where(twin),
                route.location,
                twin.location,
            )
            self.route(route, twin)
        for route in new_routes:
            self.add(
                "route-added",
                IN,
                f"a new route {route.pattern}",
                self._where(route),
                self.old.location,
                route.location,
            )
        return self.found

    def _where(self, route: RouteSurface, *more: str) -> str:
        return " ".join([self.new.name, route.address or route.pattern, *[m for m in more if m]])

    def route(self, old: RouteSurface, new: RouteSurface) -> None:
        if old.demultiplexer != new.demultiplexer or _plain(old) != _plain(new):
            kinds = {True: "a demultiplexer", False: "a consumer"}
            self.add(
                "route-target-changed",
                IN,
                f"the route served {kinds[old.demultiplexer]} ({old.target}) "
                f"and now {kinds[new.demultiplexer]} ({new.target})",
                self._where(new),
                old.location,
                new.location,
            )
            return
        for key in sorted(set(old.streams) | set(new.streams)):
            before, after = old.streams.get(key), new.streams.get(key)
            if after is None:
                assert before is not None
                self.add(
                    "stream-removed",
                    IN,
                    f"the stream {key} is gone",
                    self._where(old, key),
                    before.location,
                    new.location,
                )
            elif before is None:
                self.add(
                    "stream-added",
                    IN,
                    f"a new stream {key}",
                    self._where(new, key),
                    old.location,
                    after.location,
                )
            else:
                self.stream(new, before, after)

    def stream(self, route: RouteSurface, old: StreamSurface, new: StreamSurface) -> None:
        for name in sorted(set(old.requests) | set(new.requests)):
            before, after = old.requests.get(name), new.requests.get(name)
            where = self._where(route, old.key, name)
            if after is None:
                assert before is not None
                self.add(
                    "message-removed",
                    IN,
                    f"the message {name} is gone",
                    where,
                    before.location,
                    new.location,
                )
            elif before is None:
                self.add(
                    "message-added",
                    IN,
                    f"a new message {name}",
                    where,
                    old.location,
                    after.location,
                )
            else:
                self.message(where, before, after)
        for name in sorted(set(old.events) | set(new.events)):
            before, after = old.events.get(name), new.events.get(name)
            where = self._where(route, old.key, name)
            if after is None:
                assert before is not None
                self.add(
                    "event-removed",
                    OUT,
                    f"the event {name} is gone",
                    where,
                    before.location,
                    new.location,
                )
            elif before is None:
                self.add(
                    "event-added", OUT, f"a new event {name}", where, old.location, after.location
                )
            else:
                self.event(where, before, after)

    def event(self, where: str, old: Message, new: Message) -> None:
        if old.app_wide != new.app_wide:
            rule = "event-now-app-wide" if new.app_wide else "event-no-longer-app-wide"
            message = (
                f"the event {old.name} became an app event"
                if new.app_wide
                else f"the app event {old.name} became one consumer's own"
            )
            self.add(rule, OUT, message, where, old.location, new.location)
        _Schemas(self, where, OUT).compare(
            old.schema, new.schema, "$.data", old.location, new.location
        )

    def message(self, where: str, old: Message, new: Message) -> None:
        _Schemas(self, where, IN).compare(
            old.schema, new.schema, "$.data", old.location, new.location
        )
        old_reply, new_reply = _is_null(old.reply), _is_null(new.reply)
        if old_reply and not new_reply:
            self.add(
                "reply-added",
                OUT,
                f"{new.name} now replies with data",
                where,
                old.location,
                new.location,
            )
        elif new_reply and not old_reply:
            self.add(
                "reply-removed",
                OUT,
                f"{new.name} now replies with null",
                where,
                old.location,
                new.location,
            )
        elif old.reply and new.reply and not old_reply:
            _Schemas(self, f"{where} (reply)", OUT).compare(
                old.reply, new.reply, "$.data", old.location, new.location
            )


def _plain(route: RouteSurface) -> bool:
    return any(s.plain for s in route.streams.values())


def _is_null(schema: Doc | None) -> bool:
    return schema is None or schema.get("type") == "null"


class _Schemas:
    """Compares two schemas in one position, following $refs into each document."""

    def __init__(self, app: _App, where: str, position: str) -> None:
        self.app, self.where, self.position = app, where, position

    def add(self, rule: str, path: str, message: str, old: str, new: str) -> None:
        self.app.add(rule, self.position, f"{path}: {message}", self.where, old, new)

    def compare(self, old: Doc, new: Doc, path: str, old_loc: str, new_loc: str) -> None:
        old, old_loc = self._follow(self.app.old, old, old_loc)
        new, new_loc = self._follow(self.app.new, new, new_loc)
        old_null, old = _nullable(old)
        new_null, new = _nullable(new)
        if old_null and not new_null:
            self.add("null-removed", path, "null is no longer accepted", old_loc, new_loc)
        elif new_null and not old_null:
            self.add("null-added", path, "null is now accepted", old_loc, new_loc)
        old, old_loc = self._follow(self.app.old, old, old_loc)
        new, new_loc = self._follow(self.app.new, new, new_loc)
        kind = _kind(old)
        if kind != _kind(new):
            self.add("type-changed", path, f"was {kind}, is {_kind(new)}", old_loc, new_loc)
            return
        if old.get("description") != new.get("description") and "properties" in old:
            self.add("doc-changed", path, "the docstring changed", old_loc, new_loc)
        if kind == "object":
            self.fields(old, new, path, old_loc, new_loc)
        elif kind == "union":
            self.union(old, new, path, old_loc, new_loc)
        elif kind == "array":
            self.counts(old, new, path, "Items", old_loc, new_loc)
            self.compare(old["items"], new["items"], f"{path}[*]", old_loc, new_loc)
        elif kind == "map":
            self.counts(old, new, path, "Properties", old_loc, new_loc)
            self.compare(
                old["additionalProperties"],
                new["additionalProperties"],
                f"{path}.*",
                old_loc,
                new_loc,
            )
        elif kind.startswith("values"):
            self.values(old, new, path, old_loc, new_loc)
        else:
            self.scalar(old, new, path, old_loc, new_loc)

    def _follow(self, app: AppSurface, schema: Doc, loc: str) -> tuple[Doc, str]:
        if "allOf" in schema and len(schema["allOf"]) == 1 and "$ref" in schema["allOf"][0]:
            schema = schema["allOf"][0]
        resolved, name = app.resolve(schema)
        if name is not None:
            return resolved, resolved.get("x-chgen-location", loc)
        return resolved, loc

    def fields(self, old: Doc, new: Doc, path: str, old_loc: str, new_loc: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name in sorted(set(old_props) | set(new_props)):
            at = f"{path}.{name}"
            before, after = old_props.get(name), new_props.get(name)
            o_loc = before.get("x-chgen-location", old_loc) if before else old_loc
            n_loc = after.get("x-chgen-location", new_loc) if after else new_loc
            if after is None:
                self.add("field-removed", at, "the field is gone", o_loc, n_loc)
                if name in old_req and self.position == IN:
                    self.add(
                        "field-added-required",
                        at,
                        "old servers require it; new clients leave it out",
                        o_loc,
                        n_loc,
                    )
                continue
            if before is None:
                rule = "field-added-required" if name in new_req else "field-added-optional"
                self.add(rule, at, "a new field", o_loc, n_loc)
                continue
            if self.position == IN and (name in old_req) != (name in new_req):
                rule = "field-now-required" if name in new_req else "field-now-optional"
                self.add(rule, at, "required" if name in new_req else "optional", o_loc, n_loc)
            if (
                self.position == IN
                and "default" in before
                and "default" in after
                and before["default"] != after["default"]
            ):
                self.add(
                    "default-changed",
                    at,
                    f"default {before['default']!r} is now {after['default']!r}",
                    o_loc,
                    n_loc,
                )
            self.compare(before, after, at, o_loc, n_loc)

    def union(self, old: Doc, new: Doc, path: str, old_loc: str, new_loc: str) -> None:
        tag = new.get("discriminator", "")
        before, after = self._members(self.app.old, old, tag), self._members(self.app.new, new, tag)
        for value in sorted(set(before) | set(after), key=repr):
            if value not in after:
                self.add(
                    "value-removed",
                    path,
                    f"the union member {tag}={value!r} is gone",
                    old_loc,
                    new_loc,
                )
            elif value not in before:
                self.add(
                    "value-added", path, f"a new union member {tag}={value!r}", old_loc, new_loc
                )
            else:
                self.compare(before[value], after[value], path, old_loc, new_loc)

    @staticmethod
    def _members(app: AppSurface, union: Doc, tag: str) -> dict[Any, Doc]:
        found = {}
        for member in union["oneOf"]:
            schema, _ = app.resolve(member)
            found[schema.get("properties", {}).get(tag, {}).get("const")] = member
        return found

    def values(self, old: Doc, new: Doc, path: str, old_loc: str, new_loc: str) -> None:
        before, after = _value_set(old), _value_set(new)
        for value in sorted(before - after, key=repr):
            self.add("value-removed", path, f"the value {value[1]!r} is gone", old_loc, new_loc)
        for value in sorted(after - before, key=repr):
            self.add("value-added", path, f"a new value {value[1]!r}", old_loc, new_loc)

    def counts(self, old: Doc, new: Doc, path: str, noun: str, old_loc: str, new_loc: str) -> None:
        self.bound(
            path, f"min{noun}", old.get(f"min{noun}"), new.get(f"min{noun}"), True, old_loc, new_loc
        )
        self.bound(
            path,
            f"max{noun}",
            old.get(f"max{noun}"),
            new.get(f"max{noun}"),
            False,
            old_loc,
            new_loc,
        )

    def scalar(self, old: Doc, new: Doc, path: str, old_loc: str, new_loc: str) -> None:
        self.counts(old, new, path, "Length", old_loc, new_loc)
        if old.get("pattern") != new.get("pattern"):
            self.add(
                "pattern-changed",
                path,
                f"pattern {old.get('pattern')!r} is now {new.get('pattern')!r}",
                old_loc,
                new_loc,
            )
        for lower, keys in ((True, _LOWER), (False, _UPPER)):
            self.bound(
                path,
                "lower bound" if lower else "upper bound",
                _limit(old, keys, lower),
                _limit(new, keys, lower),
                lower,
                old_loc,
                new_loc,
            )

    def bound(
        self, path: str, what: str, old: Any, new: Any, lower: bool, old_loc: str, new_loc: str
    ) -> None:
        """Compare one bound; a lower bound that rises, or an upper one that falls (or
        one that appears), narrows what is accepted."""
        if old == new:
            return
        if old is None or new is None:
            narrowed = old is None  # a bound appeared
        else:
            narrowed = bool(new > old) if lower else bool(new < old)
        rule = "constraint-narrowed" if narrowed else "constraint-widened"
        self.add(rule, path, f"{what} {_shown(old)} is now {_shown(new)}", old_loc, new_loc)


@attrs.frozen(order=False)
class _Bound:
    """A numeric bound; ``key`` orders bounds so that a greater lower bound, or a smaller
    upper one, is the narrower (at one value, the exclusive bound is narrower)."""

    value: Decimal
    exclusive: bool
    lower: bool

    @property
    def key(self) -> tuple[Decimal, bool]:
        return (self.value, self.exclusive) if self.lower else (self.value, not self.exclusive)

    def __lt__(self, other: _Bound) -> bool:
        return self.key < other.key

    def __gt__(self, other: _Bound) -> bool:
        return self.key > other.key

    def __str__(self) -> str:
        sign = (">" if self.exclusive else "≥") if self.lower else ("<" if self.exclusive else "≤")
        return f"{sign} {self.value}"


def _shown(bound: Any) -> str:
    return "none" if bound is None else str(bound)


_TEXT_KEYS = {"minimum": "ge", "exclusiveMinimum": "gt", "maximum": "le", "exclusiveMaximum": "lt"}


def _limit(schema: Doc, keys: tuple[tuple[str, bool], ...], lower: bool) -> _Bound | None:
    """The tightest bound on one side: from the JSON number keywords, or from the
    ``x-chgen-*`` bounds of a number that travels as text."""
    found = []
    for key, exclusive in keys:
        for value in (schema.get(key), schema.get(f"x-chgen-{_TEXT_KEYS[key]}")):
            if value is not None:
                try:
                    found.append(_Bound(Decimal(str(value)), exclusive, lower))
                except InvalidOperation:
                    continue
    if not found:
        return None
    return max(found) if lower else min(found)


def _nullable(schema: Doc) -> tuple[bool, Doc]:
    kinds = schema.get("type")
    if isinstance(kinds, list) and "null" in kinds:
        rest = [k for k in kinds if k != "null"]
        return True, {**schema, "type": rest[0] if len(rest) == 1 else rest}
    options = schema.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        return True, next(o for o in options if o != {"type": "null"})
    return False, schema


def _value_set(schema: Doc) -> set[tuple[str, Any]]:
    values = schema.get("enum", [schema.get("const")] if "const" in schema else [])
    return {(type(v).__name__, v) for v in values}


def _kind(schema: Doc) -> str:
    if "properties" in schema or (
        schema.get("type") == "object" and schema.get("additionalProperties") is False
    ):
        return "object"
    if "oneOf" in schema:
        return "union"
    if "enum" in schema or "const" in schema:
        kinds = schema.get("type")
        return f"values of {kinds}"
    kind = schema.get("type")
    if kind == "array":
        return "array"
    if kind == "object":
        return "map"
    for name, prim in PRIMITIVES.items():
        if (
            prim.get("type") == kind
            and prim.get("format") == schema.get("format")
            and ("pattern" not in prim or prim["pattern"] == schema.get("pattern"))
        ):
            return name
    return str(kind)
