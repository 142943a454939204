"""The one converter: strict structuring of incoming payloads (``outbound`` writes them).

Incoming data is never coerced: a number where a string is declared, a string where a list
is declared or an unknown key is an ``invalid`` error whose details carry ``$.`` paths.
Scalars are in ``values``, constraints (``MaxLen(2000)``, the specs' own vocabulary) in
``constraints``; this module assembles containers, enums, literals, payloads and unions
of payloads told apart by a tag. Hooks are built once per type and cached by cattrs, so
the per-message cost is one call into generated code.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal, TypeVar, Union, get_args, get_origin

import attrs
import orjson
from cattrs import Converter
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from .constraints import Pattern, constraint_checks
from .lean import compile_lean
from .outbound import Encoder, InvalidPayload, encoder, index
from .protocol import INVALID, Detail, ProtocolError
from .values import SCALAR_HOOKS, BigIntText, Mismatch, mismatch, structure_bigint

__all__ = [
    "CONVERTER",
    "Decoder",
    "Encoder",
    "InvalidPayload",
    "Mismatch",
    "Pattern",
    "choices",
    "decoder",
    "encoder",
    "union_tag",
    "validation_details",
]

T = TypeVar("T")
Decoder = Callable[[Any], T]
Hook = Callable[[Any, Any], Any]


def make_converter() -> Converter:
    """Build the strict converter; one per process is enough (see ``CONVERTER``)."""
    conv = Converter(forbid_extra_keys=True, detailed_validation=True)
    for tp, hook in SCALAR_HOOKS.items():
        conv.register_structure_hook(tp, hook)
    # Later registrations win, so the most specific predicates come last.
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(_is_enum, _enum_hook)
    conv.register_structure_hook_factory(_is_list, lambda t: _list_hook(conv, t))
    conv.register_structure_hook_factory(_is_dict, lambda t: _dict_hook(conv, t))
    conv.register_structure_hook_factory(attrs.has, lambda t: _attrs_hook(conv, t))
    conv.register_structure_hook_factory(_is_payload_union, lambda t: _union_hook(conv, t))
    conv.register_structure_hook_factory(_is_annotated, lambda t: _annotated_hook(conv, t))
    return conv


def _is_literal(t: Any) -> bool:
    return get_origin(t) is Literal


def _is_enum(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, enum.Enum)


def _is_list(t: Any) -> bool:
    return get_origin(t) is list


def _is_dict(t: Any) -> bool:
    return get_origin(t) is dict


def _is_annotated(t: Any) -> bool:
    return hasattr(t, "__metadata__") and hasattr(t, "__origin__")


def _is_payload_union(t: Any) -> bool:
    if get_origin(t) not in (Union, types.UnionType):
        return False
    members = [a for a in get_args(t) if a is not type(None)]
    return len(members) >= 2 and all(attrs.has(m) for m in members)


def choices(values: Iterable[Any]) -> str:
    """Allowed values as the client wrote them: JSON (``"a"``, ``1``, ``true``)."""
    return ", ".join(orjson.dumps(v).decode() for v in values)


_ABSENT: Final = object()


def _exact_lookup(table: dict[tuple[type, Any], Any], value: Any) -> Any:
    """``table[(type, value)]`` so True never passes for 1, nor 1 for 1.0; else _ABSENT."""
    try:
        return table.get((type(value), value), _ABSENT)
    except TypeError:  # arrays and objects are unhashable, and never allowed
        return _ABSENT


def _literal_hook(literal: Any) -> Hook:
    allowed = get_args(literal)
    table = {(type(v), v): v for v in allowed}
    listed = choices(allowed)

    def structure(value: Any, _: Any) -> Any:
        if _exact_lookup(table, value) is _ABSENT:
            raise Mismatch(f"expected one of {listed}")
        return value

    return structure


def _enum_hook(cls: type[enum.Enum]) -> Hook:
    table = {(type(m.value), m.value): m for m in cls}
    listed = choices(m.value for m in cls)

    def structure(value: Any, _: Any) -> enum.Enum:
        member = _exact_lookup(table, value)
        if member is _ABSENT:
            raise Mismatch(f"expected one of {listed}")
        return member  # type: ignore[no-any-return]

    return structure


def _with_note(exc: Exception, key: Any, item_type: Any) -> Exception:
    note = IterableValidationNote(f"@ {key!r}", key, item_type)
    exc.__notes__ = [*getattr(exc, "__notes__", []), note]
    return exc


def _list_hook(conv: Converter, list_type: Any) -> Hook:
    (item_type,) = get_args(list_type)
    item_hook = conv.get_structure_hook(item_type)

    def structure(value: Any, _: Any) -> list[Any]:
        if type(value) is not list:
            raise mismatch("an array", value)
        items = _structure_items(enumerate(value), item_hook, item_type, list_type)
        return [item for _, item in items]

    return structure


def _dict_hook(conv: Converter, dict_type: Any) -> Hook:
    _, value_type = get_args(dict_type)  # keys are JSON object keys: always strings
    value_hook = conv.get_structure_hook(value_type)

    def structure(value: Any, _: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise mismatch("an object", value)
        return dict(_structure_items(value.items(), value_hook, value_type, dict_type))

    return structure


def _structure_items(
    entries: Iterable[tuple[Any, Any]], hook: Hook, item_type: Any, container: Any
) -> list[tuple[Any, Any]]:
    """Structure every (key or index, item) pair; report all failures, each located."""
    result = []
    errors: list[Exception] = []
    for key, item in entries:
        try:
            result.append((key, hook(item, item_type)))
        except Exception as exc:
            errors.append(_with_note(exc, key, item_type))
    if errors:
        raise IterableValidationError("invalid items", errors, container)
    return result


def _attrs_hook(conv: Converter, cls: type[T]) -> Callable[[Any, Any], T]:
    # Two functions built from the same field checks, so they accept exactly the same
    # payloads: a lean one for the common, valid payload (see ``lean``), and cattrs'
    # detailed one, which collects every error with its location, run only once the
    # lean one has refused.
    lean = compile_lean(cls, conv.get_structure_hook) or make_dict_structure_fn(
        cls, conv, _cattrs_detailed_validation=False
    )
    detailed = make_dict_structure_fn(cls, conv, _cattrs_detailed_validation=True)

    def structure(value: Any, _: Any) -> T:
        if type(value) is not dict:
            raise mismatch("an object", value)
        try:
            return lean(value, cls)
        except Exception:
            return detailed(value, cls)

    structure.lean = lean  # type: ignore[attr-defined]  # for decoder(), see there
    return structure


def union_tag(members: Iterable[type[Any]]) -> tuple[str, dict[Any, type[Any]]] | None:
    """The field that tells the payloads apart: present in all, a one-value ``Literal``
    with a different value in each. Returns (field, value -> class), or None."""
    members = list(members)
    candidates: set[str] | None = None
    values: dict[str, dict[Any, type[Any]]] = {}
    for cls in members:
        tags = {}
        for field in attrs.fields(cls):
            args = get_args(field.type) if get_origin(field.type) is Literal else ()
            if len(args) == 1:
                tags[field.name] = args[0]
        candidates = set(tags) if candidates is None else candidates & set(tags)
        for name, value in tags.items():
            values.setdefault(name, {})[value] = cls
    for name in sorted(candidates or ()):
        if len(values[name]) == len(members):
            return name, values[name]
    return None


def _union_hook(conv: Converter, union: Any) -> Hook:
    members = [a for a in get_args(union) if a is not type(None)]
    nullable = len(members) < len(get_args(union))
    found = union_tag(members)
    if found is None:
        names = ", ".join(m.__name__ for m in members)
        raise TypeError(f"{names} share no Literal tag field with a distinct value each")
    tag, by_value = found
    # Keyed by (type, value), as literals are: a tag true never picks the member tagged 1.
    hooks = {(type(v), v): (cls, conv.get_structure_hook(cls)) for v, cls in by_value.items()}
    listed = choices(by_value)

    def structure(value: Any, _: Any) -> Any:
        if value is None and nullable:
            return None
        if type(value) is not dict:
            raise mismatch("an object", value)
        if tag not in value:
            raise ClassValidationError("missing tag", [_field_error(KeyError(tag), tag)], union)
        chosen = _exact_lookup(hooks, value[tag])
        if chosen is _ABSENT:
            error = Mismatch(f"expected one of {listed}")
            raise ClassValidationError("unknown tag", [_field_error(error, tag)], union)
        cls, hook = chosen
        return hook(value, cls)

    return structure


def _field_error(exc: Exception, name: str) -> Exception:
    exc.__notes__ = [AttributeValidationNote(f"@ {name}", name, Any)]
    return exc


def _annotated_hook(conv: Converter, annotated: Any) -> Hook:
    base = annotated.__origin__
    if base is int and any(isinstance(m, BigIntText) for m in annotated.__metadata__):
        base_hook: Hook = structure_bigint
    else:
        base_hook = conv.get_structure_hook(base)
    checks = constraint_checks(annotated.__metadata__)
    if not checks:
        return lambda value, _: base_hook(value, base)
    if len(checks) == 1:  # the usual case, without the loop
        (check,) = checks

        def structure_one(value: Any, _: Any) -> Any:
            result = base_hook(value, base)
            if result is not None:
                check(result)
            return result

        return structure_one

    def structure(value: Any, _: Any) -> Any:
        result = base_hook(value, base)
        if result is not None:  # Annotated[T | None, ...] constrains T, not None
            for check in checks:
                check(result)
        return result

    return structure


CONVERTER: Final = make_converter()


def decoder(cls: type[T], converter: Converter = CONVERTER) -> Decoder[T]:
    """A function turning JSON ``data`` into ``cls``, raising ``ProtocolError(invalid)``."""
    hook = converter.get_structure_hook(cls)
    # A payload's lean function is called directly: no wrapper between the message and
    # the checks on the usual path. Anything it refuses goes through the whole hook,
    # which explains.
    lean = getattr(hook, "lean", None)

    def decode(data: Any) -> T:
        if lean is not None and type(data) is dict:
            try:
                return lean(data, cls)  # type: ignore[no-any-return]
            except Exception:
                pass
        try:
            return hook(data, cls)  # type: ignore[no-any-return]
        except Exception as exc:
            raise ProtocolError(
                INVALID, f"invalid {cls.__name__} payload", validation_details(exc)
            ) from None

    return decode


def validation_details(exc: BaseException, path: str = "$.data") -> tuple[Detail, ...]:
    """Flatten a cattrs validation error tree into located, user-facing details."""
    return tuple(_walk(exc, path))


def _walk(exc: BaseException, path: str) -> Iterable[Detail]:
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            yield from _walk(sub, f"{path}{index(note.name)}")
        for sub in without:
            yield from _walk(sub, path)
    elif isinstance(exc, IterableValidationError):
        with_notes_i, without_i = exc.group_exceptions()
        for sub, inote in with_notes_i:
            yield from _walk(sub, f"{path}{index(inote.index)}")
        for sub in without_i:
            yield from _walk(sub, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        # In UTF-16 order, as JavaScript's sort(): the client lists them the same way.
        for key in sorted(exc.extra_fields, key=_utf16):
            yield Detail(f"{path}{index(key)}", "unexpected field")
    else:
        yield Detail(path, _describe(exc))


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, Mismatch):
        return str(exc)
    if isinstance(exc, KeyError):
        return "required field missing"
    return "invalid value"
