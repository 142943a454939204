"""JSON Schema (2020-12) for payloads, enums and field types, from the IR's type algebra.

One table, ``PRIMITIVES``, says what each scalar accepts on the wire; everything else is
built from it. The schemas say exactly what the runtime's decoder accepts (a test holds
the two equal on generated values), using only keywords that mean the same in JSON
Schema 2020-12 and in AsyncAPI's Schema Object (draft-07 based), so that one schema
serves the AsyncAPI document and ``chgen schema`` alike. That rules out siblings of
``$ref`` (draft-07 ignores them): a field with a default beside a reference wraps the
reference in ``allOf``.

References are written by a ``Ref`` function, ``#/components/schemas/X`` in the
document and ``#/$defs/X`` in a standalone schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Final

from chgen.runtime.values import MAX_DIGITS, MAX_SAFE_INTEGER

from ...ir import (
    AppIR,
    Constraints,
    Default,
    DictOf,
    EnumIR,
    EnumRef,
    FieldIR,
    ListOf,
    LiteralOf,
    Nullable,
    PayloadIR,
    Prim,
    Ref,
    TypeIR,
    UnionOf,
)
from .numtext import bound_pattern
from .regex import schema_pattern

__all__ = [
    "DRAFT",
    "PRIMITIVES",
    "RefTo",
    "component_ref",
    "enum_schema",
    "payload_schema",
    "referenced",
    "standalone_schema",
    "type_schema",
]

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"

RefTo = Callable[[str], str]
Schema = dict[str, Any]

# The wire's own limits: an int is JavaScript-safe, a Decimal or BigInt has at most
# MAX_DIGITS digits (both from chgen.runtime.values, the forms the server reads).

# Strings in a canonical form. ``$`` in a Python pattern also matches before a final
# newline, so a form of fixed length says so with min/maxLength; the others end with
# ``(?![\s\S])``, "no character follows", which reads the same in Python and ECMAScript.
_END: Final = r"(?![\s\S])"
_DAY: Final = (
    r"(?!0000)[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29"
)
_TIME: Final = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET: Final = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
# Plain positional notation: an optional "-", no leading zero, no exponent, at most
# MAX_DIGITS digits (the "." and "-" do not count).
_DECIMAL: Final = (
    rf"^-?(?:(?:0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}})"
    rf"|(?=[0-9.]{{3,{MAX_DIGITS + 1}}}{_END})(?:0|[1-9][0-9]*)\.[0-9]+){_END}"
)
_BIGINT: Final = rf"^(?:0|-?[1-9][0-9]{{0,{MAX_DIGITS - 1}}}){_END}"

PRIMITIVES: Final[dict[str, Schema]] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "none": {"type": "null"},
    "datetime": {
        "type": "string",
        "format": "date-time",
        "pattern": f"^(?:{_DAY})T{_TIME}{_OFFSET}{_END}",
    },
    "date": {
        "type": "string",
        "format": "date",
        "pattern": f"^(?:{_DAY})$",
        "minLength": 10,
        "maxLength": 10,
    },
    "uuid": {
        "type": "string",
        "format": "uuid",
        "pattern": "^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$",
        "minLength": 36,
        "maxLength": 36,
    },
    "decimal": {"type": "string", "pattern": _DECIMAL},
    "bigint": {"type": "string", "pattern": _BIGINT},
}
# Numbers that travel as text: their bounds are patterns too (see ``numtext``).
_TEXT_NUMBERS: Final = ("decimal", "bigint")

# What a spec's numeric bounds become, for a JSON number.
_BOUNDS: Final = (
    ("ge", "minimum"),
    ("gt", "exclusiveMinimum"),
    ("le", "maximum"),
    ("lt", "exclusiveMaximum"),
)
_OPERATORS: Final = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def component_ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def defs_ref(name: str) -> str:
    return f"#/$defs/{name}"


def type_schema(tp: TypeIR, ref: RefTo) -> Schema:
    """The schema of a field's type."""
    if isinstance(tp, Prim):
        return _prim(tp)
    if isinstance(tp, ListOf):
        return {
            "type": "array",
            "items": type_schema(tp.item, ref),
            **_counted(tp.constraints, "Items"),
        }
    if isinstance(tp, DictOf):
        values = type_schema(tp.value, ref)
        return {
            "type": "object",
            "additionalProperties": values,
            **_counted(tp.constraints, "Properties"),
        }
    if isinstance(tp, Nullable):
        return _nullable(type_schema(tp.inner, ref))
    if isinstance(tp, Ref | EnumRef):
        return {"$ref": ref(tp.name)}
    if isinstance(tp, UnionOf):
        return {"oneOf": [{"$ref": ref(m)} for m in tp.members], "discriminator": tp.tag}
    if isinstance(tp, LiteralOf):
        return _literal(tp.values)
    raise TypeError(f"no schema for {tp!r}")


def _prim(tp: Prim) -> Schema:
    schema = dict(PRIMITIVES[tp.name])
    c = tp.constraints
    if tp.name in _TEXT_NUMBERS:
        bounds = [(key, getattr(c, key)) for key in _OPERATORS if getattr(c, key) is not None]
        if bounds:
            schema["allOf"] = [
                {"pattern": bound_pattern(_OPERATORS[key], value)} for key, value in bounds
            ]
            # The bounds as numbers too, for people and for `chgen compat`.
            schema.update({f"x-chgen-{key}": format(Decimal(v), "f") for key, v in bounds})
        return schema
    for key, name in _BOUNDS:
        value = getattr(c, key)
        if value is not None:
            _bound(schema, name, value)
    if c.min_len is not None:
        schema["minLength"] = max(c.min_len, schema.get("minLength", 0))
    if c.max_len is not None:
        schema["maxLength"] = c.max_len
    if c.pattern is not None:
        schema["pattern"] = schema_pattern(c.pattern)
    return schema


def _bound(schema: Schema, name: str, value: float) -> None:
    """Add a spec's bound to a number's schema, keeping the wire's limit (an integer's)
    only where it is the tighter one."""
    lower = name in ("minimum", "exclusiveMinimum")
    wire = schema.get("minimum" if lower else "maximum")
    if name in ("minimum", "maximum"):
        schema[name] = value if wire is None else (max if lower else min)(wire, value)
        return
    schema[name] = value
    if wire is not None and (wire <= value if lower else wire >= value):
        del schema["minimum" if lower else "maximum"]


def _counted(c: Constraints, noun: str) -> Schema:
    found: Schema = {}
    if c.min_len is not None:
        found[f"min{noun}"] = c.min_len
    if c.max_len is not None:
        found[f"max{noun}"] = c.max_len
    return found


def _nullable(inner: Schema) -> Schema:
    kind = inner.get("type")
    if isinstance(kind, str) and not {"enum", "const"} & inner.keys():
        return {**inner, "type": [kind, "null"]}
    return {"anyOf": [inner, {"type": "null"}]}


_KIND: Final = {str: "string", int: "integer", bool: "boolean"}


def _literal(values: tuple[str | int | bool, ...]) -> Schema:
    # The type keeps 1 from matching 1.0 in a validator that reads numbers as the server
    # does (JSON Schema itself cannot tell them apart); it also makes the schema readable.
    kinds = sorted({_KIND[type(v)] for v in values})
    kind: str | list[str] = kinds[0] if len(kinds) == 1 else kinds
    if len(values) == 1:
        return {"type": kind, "const": values[0]}
    return {"type": kind, "enum": list(values)}


def field_schema(field: FieldIR, enums: dict[str, EnumIR], ref: RefTo) -> Schema:
    schema = type_schema(field.type, ref)
    if field.default is None:
        return schema
    if "$ref" in schema:
        schema = {"allOf": [schema]}
    schema["default"] = _default_value(field.default, field.type, enums)
    return schema


def _default_value(default: Default, tp: TypeIR, enums: dict[str, EnumIR]) -> Any:
    if default.factory == "list":
        return []
    if default.factory == "dict":
        return {}
    if default.enum_member is not None:
        inner = tp.inner if isinstance(tp, Nullable) else tp
        assert isinstance(inner, EnumRef), f"an enum default on {tp!r}"
        return dict(enums[inner.name].members)[default.enum_member]
    return default.value


def payload_schema(payload: PayloadIR, enums: dict[str, EnumIR], ref: RefTo) -> Schema:
    """The object schema of a payload: its fields, those without a default required."""
    schema: Schema = {"title": payload.name}
    if payload.doc:
        schema["description"] = payload.doc
    schema["type"] = "object"
    schema["properties"] = {f.name: field_schema(f, enums, ref) for f in payload.fields}
    required = [f.name for f in payload.fields if f.default is None]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def enum_schema(enum: EnumIR) -> Schema:
    values = [value for _, value in enum.members]
    schema: Schema = {"title": enum.name}
    if enum.doc:
        schema["description"] = enum.doc
    schema["type"] = "string" if all(isinstance(v, str) for v in values) else "integer"
    schema["enum"] = values
    schema["x-enum-varnames"] = [name for name, _ in enum.members]
    return schema


def referenced(app: AppIR, name: str) -> list[str]:
    """``name`` and every payload or enum it refers to, directly or not, in a stable order."""
    payloads = {p.name: p for p in app.payloads}
    found: list[str] = []

    def visit(current: str) -> None:
        if current in found:
            return
        found.append(current)
        payload = payloads.get(current)
        for field in payload.fields if payload is not None else ():
            for dep in _names(field.type):
                visit(dep)

    visit(name)
    return found


def _names(tp: TypeIR) -> Iterator[str]:
    if isinstance(tp, Ref | EnumRef):
        yield tp.name
    elif isinstance(tp, UnionOf):
        yield from tp.members
    elif isinstance(tp, ListOf):
        yield from _names(tp.item)
    elif isinstance(tp, DictOf):
        yield from _names(tp.value)
    elif isinstance(tp, Nullable):
        yield from _names(tp.inner)


def named_schema(app: AppIR, name: str, ref: RefTo) -> Schema:
    """The schema of the payload or enum ``name`` of ``app``."""
    enums = {e.name: e for e in app.enums}
    if name in enums:
        return enum_schema(enums[name])
    payload = next(p for p in app.payloads if p.name == name)
    return payload_schema(payload, enums, ref)


def standalone_schema(app: AppIR, name: str) -> Schema:
    """A JSON Schema 2020-12 document for payload (or enum) ``name``, usable on its own:
    what it refers to is under ``$defs``."""
    names = referenced(app, name)
    schema: Schema = {"$schema": DRAFT, "$id": f"urn:chgen:{app.name}:{name}"}
    schema.update(named_schema(app, name, defs_ref))
    defs = {other: named_schema(app, other, defs_ref) for other in sorted(names[1:])}
    if defs:
        schema["$defs"] = defs
    return schema
