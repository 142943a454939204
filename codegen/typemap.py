"""Translate the Python annotations of payload fields into the IR's type algebra."""

from __future__ import annotations

import datetime as dt
import math
import re
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import attrs

from runtime.codec import Pattern

from .ir import ListOf, LiteralOf, Nullable, Prim, Ref, TypeIR
from .spec import is_payload

__all__ = ["SUPPORTED", "UnsupportedType", "translate"]

SUPPORTED = (
    "str, int, float, bool, datetime, None, Literal[...], a @payload class, "
    "list[T], T | None, and Annotated[T, <annotated_types constraint>...]"
)

_PRIMS: dict[Any, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    dt.datetime: "datetime",
    type(None): "none",
}


class UnsupportedType(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def translate(tp: Any, on_payload: Callable[[type[Any]], None]) -> TypeIR:
    """The IR type for annotation ``tp``; ``on_payload`` sees every nested payload class."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *metadata = get_args(tp)
        return _constrain(translate(base, on_payload), metadata)
    if tp in _PRIMS:
        return Prim(_PRIMS[tp])
    if origin in (Union, types.UnionType):
        return _union(tp, on_payload)
    if origin is list:
        (item,) = get_args(tp) or (None,)
        if item is None:
            raise UnsupportedType("a bare list needs an item type", "write list[T]")
        return ListOf(translate(item, on_payload))
    if origin is Literal:
        return _literal(tp)
    if is_payload(tp):
        on_payload(tp)
        return Ref(tp.__name__)
    if isinstance(tp, type) and attrs.has(tp):
        raise UnsupportedType(
            f"{tp.__name__} is an attrs class but not a payload",
            f"decorate {tp.__name__} with @payload",
        )
    raise UnsupportedType(f"unsupported type {_name(tp)}", f"supported types: {SUPPORTED}")


def _union(tp: Any, on_payload: Callable[[type[Any]], None]) -> TypeIR:
    args = [a for a in get_args(tp) if a is not type(None)]
    if len(args) == 1 and len(get_args(tp)) == 2:
        return Nullable(translate(args[0], on_payload))
    raise UnsupportedType(
        f"unsupported union {_name(tp)}",
        "only `T | None` unions are supported",
    )


def _literal(tp: Any) -> LiteralOf:
    values = get_args(tp)
    for value in values:
        if type(value) not in (str, int, bool):
            raise UnsupportedType(
                f"Literal value {value!r} is a {type(value).__name__}",
                "Literal values must be strings, integers or booleans",
            )
    return LiteralOf(tuple(values))


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
    if isinstance(inner, Prim) and inner.name == "str":
        _only(found, sized | {"pattern"}, "str")
    elif isinstance(inner, Prim) and inner.name in ("int", "float"):
        _only(found, numeric, inner.name)
    else:
        raise UnsupportedType(
            "constraints apply only to str, int, float and list fields",
            "remove the Annotated metadata",
        )
    return Prim(inner.name, attrs.evolve(inner.constraints, **found))


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
        try:
            re.compile(item.regex)
        except re.error as exc:
            raise UnsupportedType(f"invalid regex {item.regex!r}: {exc}") from None
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
