"""Translate the Python annotations of payload fields into the IR's type algebra."""

from __future__ import annotations

import collections.abc
import datetime as dt
import decimal
import enum
import math
import types
import uuid
from typing import Annotated, Any, Literal, Protocol, Union, get_args, get_origin

import annotated_types as at
import attrs

from chgen.runtime.codec import Pattern, union_tag
from chgen.runtime.patterns import PatternError, portable
from chgen.runtime.values import MAX_SAFE_INTEGER, BigIntText

from .ir import DictOf, EnumRef, ListOf, LiteralOf, Nullable, Prim, Ref, TypeIR, UnionOf
from .spec import is_payload

__all__ = ["SUPPORTED", "TypeSink", "UnsupportedType", "translate"]

SUPPORTED = (
    "str, int, float, bool, datetime, date, UUID, Decimal, BigInt, None, Literal[...], an Enum, "
    "a @payload class, list[T], dict[str, T], T | None, unions of @payload classes told "
    "apart by a Literal tag field, and Annotated[T, <annotated_types constraint>...]"
)

_PRIMS: dict[Any, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    dt.datetime: "datetime",
    dt.date: "date",
    uuid.UUID: "uuid",
    decimal.Decimal: "decimal",
    type(None): "none",
}


class TypeSink(Protocol):
    """Receives the named types an annotation refers to, so the resolver can define them."""

    def payload(self, cls: type[Any]) -> None: ...

    def enum(self, cls: type[enum.Enum]) -> None: ...


class UnsupportedType(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def translate(tp: Any, sink: TypeSink) -> TypeIR:
    """The IR type for annotation ``tp``; ``sink`` sees every payload and enum it names."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *metadata = get_args(tp)
        if any(isinstance(m, BigIntText) for m in metadata):
            return _big(base, [m for m in metadata if not isinstance(m, BigIntText)])
        return _constrain(translate(base, sink), metadata)
    if tp in _PRIMS:
        return Prim(_PRIMS[tp])
    if origin in (Union, types.UnionType):
        return _union(tp, sink)
    if origin is list:
        (item,) = get_args(tp) or (None,)
        if item is None:
            raise UnsupportedType("a bare list needs an item type", "write list[T]")
        return ListOf(translate(item, sink))
    if origin is dict:
        key, value = get_args(tp) or (None, None)
        if key is not str:
            raise UnsupportedType(
                f"unsupported mapping {_name(tp)}",
                "JSON object keys are strings: write dict[str, T]",
            )
        return DictOf(translate(value, sink))
    if origin is Literal:
        return _literal(tp)
    if is_payload(tp):
        sink.payload(tp)
        return Ref(tp.__name__)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        _check_enum(tp)
        sink.enum(tp)
        return EnumRef(tp.__name__)
    if isinstance(tp, type) and attrs.has(tp):
        raise UnsupportedType(
            f"{tp.__name__} is an attrs class but not a payload",
            f"decorate {tp.__name__} with @payload",
        )
    instead = _INSTEAD.get(origin or tp)
    if instead is not None:
        raise UnsupportedType(f"unsupported type {_name(tp)}", instead)
    raise UnsupportedType(f"unsupported type {_name(tp)}", f"supported types: {SUPPORTED}")


# Collections a payload cannot hold as written, and what JSON (and so chgen) has instead.
_ARRAY = "a JSON array is a list: write list[T]"
_INSTEAD: dict[Any, str] = {
    set: f"{_ARRAY} (and check uniqueness in the handler)",
    frozenset: f"{_ARRAY} (and check uniqueness in the handler)",
    tuple: f"{_ARRAY}; MinLen and MaxLen can fix its length",
    collections.abc.Sequence: _ARRAY,
    collections.abc.Iterable: _ARRAY,
    collections.abc.Set: f"{_ARRAY} (and check uniqueness in the handler)",
    collections.abc.Mapping: "a JSON object is a dict: write dict[str, T]",
}


def _union(tp: Any, sink: TypeSink) -> TypeIR:
    args = [a for a in get_args(tp) if a is not type(None)]
    nullable = len(args) < len(get_args(tp))
    if len(args) == 1:
        return Nullable(translate(args[0], sink))
    if all(is_payload(a) for a in args):
        found = union_tag(args)
        if found is None:
            raise UnsupportedType(
                f"the payloads of {_name(tp)} share no tag field",
                'give each member a field such as `kind: Literal["circle"]`, '
                "with a different value in each",
            )
        members = UnionOf(tuple(_ref(a, sink) for a in args), found[0])
        return Nullable(members) if nullable else members
    raise UnsupportedType(
        f"unsupported union {_name(tp)}",
        "unions are `T | None`, or of @payload classes told apart by a Literal tag field",
    )


def _big(base: Any, metadata: list[Any]) -> TypeIR:
    if base is not int:
        raise UnsupportedType(
            f"BigInt marks an int, not {_name(base)}", "write BigInt (an int) or Decimal"
        )
    return _constrain(Prim("bigint"), metadata)


def _ref(cls: type[Any], sink: TypeSink) -> str:
    sink.payload(cls)
    return cls.__name__


def _check_enum(cls: type[enum.Enum]) -> None:
    kinds = {type(m.value) for m in cls}
    if not kinds or not (kinds <= {str} or kinds <= {int}):
        raise UnsupportedType(
            f"enum {cls.__name__} must have string values or integer values",
            "JSON carries an enum as its value; use all str or all int values",
        )
    for member in cls:
        _safe(member.value, f"the value of {cls.__name__}.{member.name}")


def _literal(tp: Any) -> LiteralOf:
    values = get_args(tp)
    for value in values:
        if type(value) not in (str, int, bool):
            raise UnsupportedType(
                f"Literal value {value!r} is a {type(value).__name__}",
                "Literal values must be strings, integers or booleans",
            )
        _safe(value, f"Literal value {value!r}")
    return LiteralOf(tuple(values))


def _safe(value: Any, what: str) -> None:
    """Refuse an int a JavaScript client would round (or a string it could not send)."""
    if type(value) is int and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise UnsupportedType(
            f"{what} is outside ±(2**53 - 1), where JavaScript rounds integers",
            "use a smaller integer, or a string",
        )
    if isinstance(value, str) and not _well_formed(value):
        raise UnsupportedType(f"{what} holds a lone surrogate", "JSON cannot carry it")


def _well_formed(text: str) -> bool:
    return not any("\ud800" <= c <= "\udfff" for c in text)


def _constrain(inner: TypeIR, metadata: list[Any]) -> TypeIR:
    if isinstance(inner, Nullable):
        return Nullable(_constrain(inner.inner, metadata))
    found: dict[str, Any] = {}
    for item in _flatten(metadata):
        key, value = _constraint(item)
        found[key] = value
    sized = {"min_len", "max_len"}
    numeric = {"ge", "gt", "le", "lt"}
    if isinstance(inner, ListOf):
        _only(found, sized, "list")
        return ListOf(inner.item, attrs.evolve(inner.constraints, **found))
    if isinstance(inner, DictOf):
        _only(found, sized, "dict")
        return DictOf(inner.value, attrs.evolve(inner.constraints, **found))
    if isinstance(inner, Prim) and inner.name == "str":
        _only(found, sized | {"pattern"}, "str")
    elif isinstance(inner, Prim) and inner.name in ("int", "float", "decimal", "bigint"):
        _only(found, numeric, inner.name)
        _check_bounds(inner.name, found)
    else:
        raise UnsupportedType(
            "constraints apply only to str, int, float, Decimal, BigInt, list and dict fields",
            "remove the Annotated metadata",
        )
    return Prim(inner.name, attrs.evolve(inner.constraints, **found))


def _check_bounds(kind: str, found: dict[str, Any]) -> None:
    """A bound both ends compare alike: an int bound of a BigInt field, and for an int
    or float field one that a double holds exactly (where JavaScript compares)."""
    for key in ("ge", "gt", "le", "lt"):
        value = found.get(key)
        if value is None:
            continue
        if kind == "bigint" and type(value) is not int:
            raise UnsupportedType(f"a BigInt bound must be an int, got {value!r}")
        if kind in ("int", "float") and type(value) is int and abs(value) > MAX_SAFE_INTEGER:
            hint = "for larger integers, declare the field as BigInt" if kind == "int" else ""
            raise UnsupportedType(
                f"the bound {value} of an {kind} field is outside ±(2**53 - 1)", hint
            )


def _constraint(item: Any) -> tuple[str, Any]:
    pairs: list[tuple[type[Any], str, str]] = [
        (at.MinLen, "min_len", "min_length"),
        (at.MaxLen, "max_len", "max_length"),
        (at.Ge, "ge", "ge"),
        (at.Gt, "gt", "gt"),
        (at.Le, "le", "le"),
        (at.Lt, "lt", "lt"),
    ]
    for cls, key, attr in pairs:
        if isinstance(item, cls):
            value = getattr(item, attr)
            if type(value) not in (int, float) or (key.endswith("_len") and type(value) is not int):
                raise UnsupportedType(f"{type(item).__name__} needs a number, got {value!r}")
            if not math.isfinite(value):
                raise UnsupportedType(f"{type(item).__name__} needs a finite number, got {value!r}")
            return key, value
    if isinstance(item, Pattern):
        if type(item.regex) is not str or not _well_formed(item.regex):
            raise UnsupportedType(f"Pattern needs a well-formed string, got {item.regex!r}")
        try:
            portable(item.regex)
        except PatternError as exc:
            raise UnsupportedType(f"unsupported regex: {exc}", exc.hint) from None
        return "pattern", item.regex
    raise UnsupportedType(
        f"unsupported constraint {item!r}",
        "use MinLen, MaxLen, Len, Ge, Gt, Le, Lt, Interval or Pattern",
    )


def _only(found: dict[str, Any], allowed: set[str], kind: str) -> None:
    wrong = sorted(set(found) - allowed)
    if wrong:
        raise UnsupportedType(
            f"constraint {', '.join(wrong)} does not apply to {kind}",
            f"{kind} accepts: {', '.join(sorted(allowed))}",
        )


def _flatten(metadata: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in metadata:
        flat.extend(item if isinstance(item, at.GroupedMetadata) else [item])
    return flat


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)
