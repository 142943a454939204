"""Lean structure functions: a valid payload in as few Python steps as possible.

cattrs' generated structure functions call one hook per field, and the hook of a
constrained string is itself three calls deep. On the path every message takes, that
is most of the cost of validation. For each payload class this module compiles one
function that checks JSON scalars inline, with exactly the tests of ``values`` (the
exact JSON kind, no coercion), runs the very constraint checks of ``constraints``, and
calls the converter's own hook for every other field (lists, dicts, nested payloads,
enums, datetimes...).

A lean function does not explain a refusal: it raises (``Refused``, or whatever the
failing check raised) and the caller runs cattrs' detailed function, which finds and
locates every problem. Both are built from
the same checks, so they accept the same payloads (tests/test_lean.py holds them to it).
"""

from __future__ import annotations

import keyword
import linecache
from collections.abc import Callable
from typing import Annotated, Any, Final, TypeVar, Union, get_args, get_origin

import attrs

from .constraints import constraint_checks
from .values import MAX_SAFE_INTEGER, BigIntText

__all__ = ["Refused", "compile_lean"]

T = TypeVar("T")
Hook = Callable[[Any, Any], Any]

# The inline test of each JSON scalar: a Python expression that is true when the value
# ``v`` is wrong. Keep these identical to the hooks in ``values``.
_WRONG_KIND: Final[dict[Any, str]] = {
    str: "type({v}) is not str",
    int: f"type({{v}}) is not int or {{v}} > {MAX_SAFE_INTEGER} or {{v}} < -{MAX_SAFE_INTEGER}",
    bool: "type({v}) is not bool",
    float: "type({v}) is not float and type({v}) is not int",
}


class Refused(Exception):
    """The lean function gave up; the detailed one will say why."""


def compile_lean(cls: type[T], field_hook: Callable[[Any], Hook]) -> Callable[[Any, Any], T] | None:
    """A lean structure function for the attrs class ``cls``, or None if it has a kind of
    field this module does not handle (cattrs' own lean function then serves).

    ``field_hook(type)`` returns the converter's structure hook for a field type.
    """
    attrs_class: Any = cls  # an attrs class; the type checker only knows it as type[T]
    attrs.resolve_types(attrs_class)
    fields = attrs.fields(attrs_class)
    if any(not f.init or f.alias != f.name or keyword.iskeyword(f.name) for f in fields):
        return None
    names: dict[str, Any] = {
        "_cls": cls,
        "_Refused": Refused,
        "_new": object.__new__,
        "_set": object.__setattr__,
    }
    body = _body(attrs_class, fields, names)
    name = f"lean_structure_{cls.__name__}"
    source = f"def {name}(o, _=None):\n" + "".join(f"    {line}\n" for line in body)
    filename = f"<chgen lean structure {cls.__module__}.{cls.__qualname__}>"
    # Kept in linecache so tracebacks and profilers can show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    for key, field_type in list(names.items()):
        if key.startswith("type_"):
            names["hook_" + key.removeprefix("type_")] = field_hook(field_type)
    exec(compile(source, filename, "exec"), names)  # the source names fields only
    function: Callable[[Any, Any], T] = names[name]
    return function


def _body(cls: Any, fields: Any, names: dict[str, Any]) -> list[str]:
    """The lines of the lean function of ``cls``; what they name goes into ``names``."""
    # A class whose __init__ only assigns (no validators, converters or init hooks) is
    # built without it: a frozen class's __init__ costs as much as the checks.
    direct = _only_assigns(cls, fields)
    required = [f for f in fields if f.default is attrs.NOTHING]
    optional = [f for f in fields if f.default is not attrs.NOTHING]
    body = [f"n = {len(required)}"]
    for i, field in enumerate(required):
        body.append(f"v{i} = o[{field.name!r}]")
        body.extend(_checks(f"v{i}", field.type, f"f{i}", names))
    if optional and not direct:
        body.append("kw = {}")
    for j, field in enumerate(optional, start=len(required)):
        body.extend(_optional_lines(field, j, direct, names))
    # Every required key was found above, so a different count means unknown keys.
    body.append("if len(o) != n:")
    body.append("    raise _Refused")
    if direct:
        body.append("obj = _new(_cls)")
        body.extend(f"_set(obj, {f.name!r}, v{i})" for i, f in enumerate(required + optional))
        body.append("return obj")
    else:
        args = [f"{f.name}=v{i}" for i, f in enumerate(required)]
        if optional:
            args.append("**kw")
        body.append(f"return _cls({', '.join(args)})")
    return body


def _optional_lines(field: Any, j: int, direct: bool, names: dict[str, Any]) -> list[str]:
    """Lines that take the optional ``field`` as ``v{j}`` when present: checked, counted,
    and either passed on in ``kw`` or (``direct``) defaulted when absent."""
    var = f"v{j}"
    lines = [f"if {field.name!r} in o:", "    n += 1", f"    {var} = o[{field.name!r}]"]
    lines.extend("    " + line for line in _checks(var, field.type, f"f{j}", names))
    if direct:
        lines.append("else:")
        lines.append(f"    {var} = {_default_expr(field.default, f'default_f{j}', names)}")
    else:
        lines.append(f"    kw[{field.name!r}] = {var}")
    return lines


def _only_assigns(cls: Any, fields: Any) -> bool:
    """True if ``cls.__init__`` does nothing but assign its arguments and defaults."""
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    if "_attrs_cached_hash" in getattr(cls, "__slots__", ()):
        return False
    for field in fields:
        if field.validator is not None or field.converter is not None:
            return False
        if isinstance(field.default, _Factory) and field.default.takes_self:
            return False
    return True


def _default_expr(default: Any, slot: str, names: dict[str, Any]) -> str:
    """What __init__ would assign for an absent field: a fresh factory value, or the
    default object itself (attrs shares it too)."""
    if isinstance(default, _Factory):
        names[slot] = default.factory
        return f"{slot}()"
    names[slot] = default
    return slot


def _checks(var: str, field_type: Any, slot: str, names: dict[str, Any]) -> list[str]:
    """Lines that check (and, for a float, convert) ``var`` in place."""
    inline = _inline_checks(var, field_type, slot, names)
    if inline is not None:
        return inline
    # Any other type: the converter's hook (bound before the function is compiled),
    # which checks and converts.
    names[f"type_{slot}"] = field_type
    return [f"{var} = hook_{slot}({var}, type_{slot})"]


def _inline_checks(var: str, field_type: Any, slot: str, names: dict[str, Any]) -> list[str] | None:
    if field_type is type(None) or field_type is None:
        return [f"if {var} is not None:", "    raise _Refused"]
    if get_origin(field_type) is Annotated:
        base, *metadata = get_args(field_type)
        if base not in _WRONG_KIND or any(isinstance(m, BigIntText) for m in metadata):
            return None  # a BigInt is an int that travels as a string: the hook reads it
        lines = _scalar_lines(var, base)
        for k, check in enumerate(constraint_checks(metadata)):
            names[f"check_{slot}_{k}"] = check
            lines.append(f"check_{slot}_{k}({var})")
        return lines
    if field_type in _WRONG_KIND:
        return _scalar_lines(var, field_type)
    if get_origin(field_type) in (Union, _UnionType):
        members = [a for a in get_args(field_type) if a is not type(None)]
        if len(members) == 1 and len(get_args(field_type)) == 2 and members[0] in _WRONG_KIND:
            inner = _scalar_lines(var, members[0])
            return [f"if {var} is not None:", *("    " + line for line in inner)]
    return None


def _scalar_lines(var: str, scalar: Any) -> list[str]:
    lines = [f"if {_WRONG_KIND[scalar].format(v=var)}:", "    raise _Refused"]
    if scalar is float:
        lines.append(f"{var} = float({var})")  # JSON 3 is a valid float, as in values
        lines.append(f"if {var} - {var}:")  # nan for inf and nan: not finite
        lines.append("    raise _Refused")
    return lines


_UnionType: Final = type(int | None)
# attrs.Factory is typed as a function returning the default; at run time it is a class.
_Factory: Final[type[Any]] = attrs.Factory  # type: ignore[assignment]
