"""Payload and enum classes -> ``PayloadIR`` and ``EnumIR``, with their fields checked.

``PayloadChecks`` is the ``TypeSink`` that ``typemap.translate`` reports every payload
and enum to, so a class is checked the first time any field, handler or event names it.
"""

from __future__ import annotations

import enum
import inspect
import re
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from chgen.runtime.codec import CONVERTER, InvalidPayload, encoder, validation_details

from .. import naming
from ..hints import did_you_mean, python_kind
from ..ir import Default, DictOf, EnumIR, FieldIR, ListOf, Nullable, PayloadIR, Ref, TypeIR, UnionOf
from ..sourcelines import class_source
from ..spec import Location, class_location, field_location, is_payload, payload_location
from ..typemap import UnsupportedType, translate
from .context import AppContext
from .reserved import field_shadow_reason

__all__ = ["PayloadChecks"]

_FACTORIES = {list: ("list", ListOf), dict: ("dict", DictOf)}


class PayloadChecks:
    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.classes: dict[str, type[Any]] = {}
        self.payloads: dict[str, PayloadIR] = {}
        self.enum_classes: dict[str, type[enum.Enum]] = {}
        self.enums: dict[str, EnumIR] = {}

    def ref(self, cls: Any, at: Location, path: str) -> str | None:
        """The payload name for ``cls`` where a handler or event names it; checks it."""
        if not is_payload(cls):
            hint = "decorate the class with @payload" if isinstance(cls, type) else ""
            if not hint:
                hint = did_you_mean(str(cls), self.classes) or "pass a @payload class"
            self.context.error(at, path, f"expected a @payload class, got {python_kind(cls)}", hint)
            return None
        self.payload(cls)
        return str(cls.__name__)

    # -- TypeSink ----------------------------------------------------------------------

    def payload(self, cls: type[Any]) -> None:
        name = cls.__name__
        known = self.classes.get(name)
        if known is cls:
            return
        at = payload_location(cls)
        if known is not None:
            self.context.error(
                at,
                "$",
                f"payload {name!r} is also defined at {payload_location(known)}",
                "rename one of them: payload names are unique within an app",
            )
            return
        self.classes[name] = cls  # also on a refused name: report the clash once
        if self.context.claim(name, "payload", at, "$"):
            self._define(cls, at)

    def enum(self, cls: type[enum.Enum]) -> None:
        name = cls.__name__
        known = self.enum_classes.get(name)
        if known is cls:
            return
        at = _class_location(cls)
        self.enum_classes[name] = cls
        if known is not None:
            self.context.error(at, "$", f"enum {name!r} is defined twice in this app", "rename one")
            return
        if not self.context.claim(name, "enum", at, "$"):
            return
        doc = _doc(cls)
        if doc == inspect.cleandoc(enum.Enum.__doc__ or ""):
            doc = ""
        members = tuple((m.name, m.value) for m in cls)
        self.enums[name] = EnumIR(name, doc, members, at)

    def check_unused(self, cls: type[Any]) -> None:
        """Check the field types of a payload no handler or event uses (yet): it is not
        generated, but a type it cannot have is reported now, not when it is first used."""
        if cls.__name__ in self.classes:
            return
        at = payload_location(cls)
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception:
            return  # reported when the payload is used
        for field in attrs.fields(cls):
            try:
                translate(hints.get(field.name), _Unrecorded())
            except UnsupportedType as exc:
                where = Location(at.file, _field_line(cls, field.name) or at.line)
                self.context.error(where, f"$.{field.name}", exc.message, exc.hint)

    # -- fields ------------------------------------------------------------------------

    def _define(self, cls: type[Any], at: Location) -> None:
        name = cls.__name__
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:
            self.context.error(
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
        kept = tuple(f for f in fields if f is not None)
        self.payloads[name] = PayloadIR(name, _doc(cls), kept, at)

    def _field(self, field: attrs.Attribute[Any], tp: Any, at: Location) -> FieldIR | None:
        if not self._field_name(field.name, at):
            return None
        path = f"$.{field.name}"
        try:
            type_ir = translate(tp, self)
        except UnsupportedType as exc:
            self.context.error(at, path, exc.message, exc.hint)
            return None
        return FieldIR(field.name, type_ir, self._default(field, type_ir, at, path))

    def _field_name(self, name: str, at: Location) -> bool:
        path = f"$.{name}"
        if name.startswith("_"):
            self.context.error(at, path, "field names must not start with '_'", "rename the field")
            return False
        shadow = field_shadow_reason(name)
        if shadow:
            self.context.error(at, path, shadow, "rename the field")
            return False
        if not naming.is_python_identifier(name):
            message = f"field name {name!r} is not an ASCII identifier"
            self.context.error(at, path, message, "rename the field")
            return False
        return True

    def _default(
        self, field: attrs.Attribute[Any], tp: TypeIR, at: Location, path: str
    ) -> Default | None:
        value: Any = field.default
        if value is attrs.NOTHING:
            return None
        if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
            return self._factory_default(value.factory, tp, at, path)
        if isinstance(value, enum.Enum):
            default = Default(enum_member=value.name)
        elif type(value) in (str, int, float, bool, type(None)):
            default = Default(value)
        else:
            self.context.error(
                at,
                path,
                f"unsupported default {value!r}",
                "defaults must be a string, number, boolean, None or an enum member; "
                "for an empty list or dict write attrs.field(factory=list) or factory=dict",
            )
            return None
        # The default must be a value the server can send and accept on the wire: its own
        # encoder writes it, its own decoder reads that back.
        try:
            written = encoder(field.type)(value)
            CONVERTER.get_structure_hook(field.type)(written, field.type)
        except InvalidPayload as exc:
            reasons = "; ".join(d.message for d in exc.details)
            self.context.error(at, path, f"default {value!r} does not fit the field: {reasons}")
            return None
        except Exception as exc:
            reasons = "; ".join(d.message for d in validation_details(exc, path))
            self.context.error(at, path, f"default {value!r} does not fit the field: {reasons}")
            return None
        return default

    def _factory_default(
        self, factory: object, tp: TypeIR, at: Location, path: str
    ) -> Default | None:
        kind = _FACTORIES.get(factory)  # type: ignore[call-overload]
        if kind is not None and isinstance(tp, kind[1]):
            return Default(factory=kind[0])
        self.context.error(
            at,
            path,
            "only an empty list or dict factory is supported as a default factory",
            "use attrs.field(factory=list), attrs.field(factory=dict) or a constant",
        )
        return None

    # -- order -------------------------------------------------------------------------

    def ordered(self) -> tuple[PayloadIR, ...]:
        """Dependencies first, then by name, so generated code never needs forward refs."""
        ordered: list[PayloadIR] = []
        state: dict[str, int] = {}  # 1: being visited, 2: done

        def visit(name: str) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                self.context.error(
                    self.payloads[name].location,
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


class _Unrecorded:
    """A TypeSink for a type check alone: the classes named are not generated."""

    def payload(self, cls: type[Any]) -> None:
        pass

    def enum(self, cls: type[enum.Enum]) -> None:
        pass


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


def _doc(cls: type[Any]) -> str:
    """The class's own docstring, cleaned; "" when it only inherits one."""
    own = "__doc__" in vars(cls) and cls.__doc__ is not None
    return inspect.cleandoc(cls.__doc__) if own and cls.__doc__ else ""


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
