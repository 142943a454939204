"""TypeScript rendering of the IR's types, and the notes TSDoc carries for constraints.

The same type algebra as the Python renderer, so both ends of the wire agree: datetimes,
Decimals and BigInts are strings, optional fields (those with a default) may be left out,
nullable fields may be ``null``, and the two are kept apart. What the TypeScript type
cannot say (an int's safe range, a string's form, a length in code points) goes into the
field's TSDoc; the client checks it too (``render.checks``).
"""

from __future__ import annotations

from .. import naming
from ..ir import (
    Constraints,
    DictOf,
    EnumRef,
    FieldIR,
    ListOf,
    LiteralOf,
    Nullable,
    Prim,
    Ref,
    TypeIR,
    UnionOf,
)
from ..urlpattern import Param, UrlPart
from .vocabulary import GLOBAL_TYPES

__all__ = ["FILTERS", "field_doc", "ts_member", "ts_type", "url_expression", "url_params"]


_PRIMS = {
    "str": "string",
    "int": "number",
    "float": "number",
    "bool": "boolean",
    "datetime": "string",
    "date": "string",
    "uuid": "string",
    "decimal": "string",
    "bigint": "string",
    "none": "null",
}


# What a string-typed field holds, for the TSDoc of fields whose type is just `string`.
_FORMATS = {
    "int": "An integer within ±(2^53 - 1), `Number.MAX_SAFE_INTEGER`: both ends refuse others.",
    "float": "A finite number (an IEEE double; -0 arrives as 0).",
    "datetime": (
        "An RFC 3339 date and time with an offset, e.g. from `Date.toISOString()`;"
        " `new Date(value)` reads it, to the millisecond."
    ),
    "date": "A date, YYYY-MM-DD.",
    "uuid": "A lowercase UUID, e.g. from `crypto.randomUUID()`.",
    "decimal": (
        'A decimal number as a string, e.g. "12.50": digits with an optional "-" and ".",'
        " no exponent, so no precision is lost."
    ),
    "bigint": (
        'An integer of any size as a decimal string, e.g. "9007199254740993":'
        " `BigInt(value)` reads it and `String(n)` writes it."
    ),
}


def ts_type(tp: TypeIR) -> str:
    if isinstance(tp, Prim):
        return _PRIMS[tp.name]
    if isinstance(tp, ListOf):
        return f"{_ARRAY}<{ts_type(tp.item)}>"
    if isinstance(tp, DictOf):
        return f"{_READONLY}<{_RECORD}<string, {ts_type(tp.value)}>>"
    if isinstance(tp, Nullable):
        return f"{ts_type(tp.inner)} | null"
    if isinstance(tp, Ref | EnumRef):
        return tp.name
    if isinstance(tp, UnionOf):
        return " | ".join(tp.members)
    if isinstance(tp, LiteralOf):
        return " | ".join(_literal(v) for v in tp.values)
    raise TypeError(f"no TypeScript type for {tp!r}")


_READONLY, _ARRAY, _RECORD = GLOBAL_TYPES


def _literal(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return naming.ts_str(value)


def field_doc(field: FieldIR) -> str:
    """What a TypeScript user cannot see in the type: formats and constraints."""
    notes = []
    tp = field.type.inner if isinstance(field.type, Nullable) else field.type
    if isinstance(tp, Prim) and tp.name in _FORMATS:
        notes.append(_FORMATS[tp.name])
    if isinstance(tp, UnionOf):
        notes.append(f"Told apart by `{tp.tag}`.")
    if isinstance(tp, Prim | ListOf | DictOf) and tp.constraints:
        unit = {ListOf: "items", DictOf: "entries"}.get(type(tp), _CHARACTERS)
        notes.append(_constraint_note(tp.constraints, unit))
    if tp is not field.type:
        notes.append("May be null.")
    if field.default is not None:
        notes.append("Optional: the server fills in its default when left out.")
    return " ".join(notes)


# Python's len() and the client's checks count code points, not UTF-16 units (`.length`).
_CHARACTERS = "characters (Unicode code points: an emoji is one)"


def _constraint_note(c: Constraints, unit: str) -> str:
    notes = []
    if c.min_len is not None or c.max_len is not None:
        low = "0" if c.min_len is None else str(c.min_len)
        high = "any number of" if c.max_len is None else str(c.max_len)
        notes.append(f"{low} to {high} {unit}.")
    bounds = [
        f"{op} {value!r}"
        for op, value in ((">=", c.ge), (">", c.gt), ("<=", c.le), ("<", c.lt))
        if value is not None
    ]
    if bounds:
        notes.append(f"Must be {' and '.join(bounds)}.")
    if c.pattern is not None:
        notes.append(f"Must match /{c.pattern}/.")
    return " ".join(notes)


def url_expression(parts: tuple[UrlPart, ...]) -> str:
    """A JS expression building the path from ``params``, each parameter URI-encoded."""
    pieces = []
    for part in parts:
        if isinstance(part, Param):
            pieces.append(f"encodeURIComponent(params.{part.name})")
        else:
            pieces.append(naming.ts_str(part))
    return " + ".join(pieces)


def url_params(parts: tuple[UrlPart, ...]) -> list[str]:
    return [p.name for p in parts if isinstance(p, Param)]


def ts_member(name: str) -> str:
    """``name`` as a member access: ``.chat``, or ``["my-stream"]`` for non-identifiers."""
    prop = naming.ts_property(name)
    return f"[{prop}]" if prop.startswith('"') else f".{prop}"


def ts_value(value: str | int | bool) -> str:
    return _literal(value)


FILTERS = {
    "ts_value": ts_value,
    "ts_member": ts_member,
    "ts_str": naming.ts_str,
    "ts_doc": naming.ts_doc,
    "ts_property": naming.ts_property,
    "ts_type": ts_type,
    "field_doc": field_doc,
    "url_expression": url_expression,
    "url_params": url_params,
}
