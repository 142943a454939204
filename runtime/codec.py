"""The one converter: strict structuring of incoming payloads, unstructuring of outgoing.

Incoming data is never coerced: a number where a string is declared, a string where a list
is declared or an unknown key is an ``invalid`` error whose details carry ``$.`` paths.
Constraints come from ``annotated_types`` metadata on the field types (``MaxLen(2000)``),
the same vocabulary the specs use. Hooks are built once per type and cached by cattrs,
so the per-message cost is one call into generated code.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal, TypeVar, get_args, get_origin

import annotated_types as at
import attrs
from cattrs import Converter
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from .protocol import INVALID, Detail, ProtocolError

__all__ = ["CONVERTER", "Decoder", "Encoder", "Mismatch", "decoder", "encoder"]

T = TypeVar("T")
Decoder = Callable[[Any], T]
Encoder = Callable[[Any], Any]


class Mismatch(ValueError):
    """A value of the wrong JSON kind or outside its constraints; the message is user-facing."""


_KINDS: Final = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _mismatch(expected: str, value: Any) -> Mismatch:
    return Mismatch(f"expected {expected}, got {_kind(value)}")


def _structure_str(value: Any, _: Any) -> str:
    if type(value) is not str:
        raise _mismatch("a string", value)
    return value


def _structure_int(value: Any, _: Any) -> int:
    if type(value) is not int:  # bool is a subclass of int: excluded on purpose
        raise _mismatch("an integer", value)
    return value


def _structure_float(value: Any, _: Any) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise _mismatch("a number", value)


def _structure_bool(value: Any, _: Any) -> bool:
    if type(value) is not bool:
        raise _mismatch("a boolean", value)
    return value


def _structure_none(value: Any, _: Any) -> None:
    if value is not None:
        raise _mismatch("null", value)


def _structure_datetime(value: Any, _: Any) -> dt.datetime:
    if type(value) is not str:
        raise _mismatch("an ISO 8601 datetime string", value)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Mismatch("expected an ISO 8601 datetime string") from None
    if parsed.tzinfo is None:
        # Without an offset, JavaScript's Date reads the time as local: refuse the ambiguity.
        raise Mismatch("expected a timezone offset (Z or +hh:mm) in the datetime")
    return parsed


def _literal_hook(literal: Any) -> Callable[[Any, Any], Any]:
    allowed = get_args(literal)
    # Compare type and value, so True never passes for 1 nor 1 for 1.0.
    keys = {(type(v), v) for v in allowed}
    choices = ", ".join(_literal_repr(v) for v in allowed)

    def structure(value: Any, _: Any) -> Any:
        try:
            allowed_value = (type(value), value) in keys
        except TypeError:  # arrays and objects are unhashable, and never allowed
            allowed_value = False
        if not allowed_value:
            raise Mismatch(f"expected one of {choices}")
        return value

    return structure


def _literal_repr(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _check_len(lo: int | None, hi: int | None) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        n = len(value)
        if lo is not None and n < lo:
            raise Mismatch(f"must have at least {_count(lo, value)}, got {n}")
        if hi is not None and n > hi:
            raise Mismatch(f"must have at most {_count(hi, value)}, got {n}")

    return check


def _count(n: int, value: Any) -> str:
    unit = "character" if isinstance(value, str) else "item"
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _check_bound(op: str, limit: Any) -> Callable[[Any], None]:
    tests: dict[str, Callable[[Any], bool]] = {
        ">=": lambda v: v >= limit,
        ">": lambda v: v > limit,
        "<=": lambda v: v <= limit,
        "<": lambda v: v < limit,
    }
    test = tests[op]

    def check(value: Any) -> None:
        if not test(value):
            raise Mismatch(f"must be {op} {limit}, got {value}")

    return check


def _check_pattern(pattern: str) -> Callable[[Any], None]:
    compiled = re.compile(pattern)

    def check(value: Any) -> None:
        if compiled.search(value) is None:
            raise Mismatch(f"must match the pattern {pattern}")

    return check


def constraint_checks(metadata: Iterable[Any]) -> list[Callable[[Any], None]]:
    """Turn ``annotated_types`` metadata (and ``Pattern``) into value checks."""
    checks: list[Callable[[Any], None]] = []
    for item in _flatten(metadata):
        if isinstance(item, at.MinLen):
            checks.append(_check_len(item.min_length, None))
        elif isinstance(item, at.MaxLen):
            checks.append(_check_len(None, item.max_length))
        elif isinstance(item, at.Ge):
            checks.append(_check_bound(">=", item.ge))
        elif isinstance(item, at.Gt):
            checks.append(_check_bound(">", item.gt))
        elif isinstance(item, at.Le):
            checks.append(_check_bound("<=", item.le))
        elif isinstance(item, at.Lt):
            checks.append(_check_bound("<", item.lt))
        elif isinstance(item, Pattern):
            checks.append(_check_pattern(item.regex))
    return checks


@attrs.frozen
class Pattern:
    """Constraint: the string must contain a match of ``regex`` (anchor it to match whole)."""

    regex: str


def _flatten(metadata: Iterable[Any]) -> Iterable[Any]:
    # Len and Interval are GroupedMetadata: iterating them yields their parts.
    for item in metadata:
        if isinstance(item, at.GroupedMetadata):
            yield from item
        else:
            yield item


def make_converter() -> Converter:
    """Build the strict converter; one per process is enough (see ``CONVERTER``)."""
    conv = Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(type(None), _structure_none)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(_is_list, lambda t: _list_hook(conv, t))
    conv.register_structure_hook_factory(attrs.has, lambda t: _attrs_hook(conv, t))
    conv.register_structure_hook_factory(_is_annotated, lambda t: _annotated_hook(conv, t))
    return conv


def _is_literal(t: Any) -> bool:
    return get_origin(t) is Literal


def _is_list(t: Any) -> bool:
    return get_origin(t) is list


def _is_annotated(t: Any) -> bool:
    return hasattr(t, "__metadata__") and hasattr(t, "__origin__")


def _list_hook(conv: Converter, list_type: Any) -> Callable[[Any, Any], list[Any]]:
    (item_type,) = get_args(list_type)
    item_hook = conv.get_structure_hook(item_type)

    def structure(value: Any, _: Any) -> list[Any]:
        if type(value) is not list:
            raise _mismatch("an array", value)
        result = []
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                result.append(item_hook(item, item_type))
            except Exception as exc:
                note = IterableValidationNote(f"@ index {index}", index, item_type)
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                errors.append(exc)
        if errors:
            raise IterableValidationError("invalid items", errors, list_type)
        return result

    return structure


def _attrs_hook(conv: Converter, cls: type[T]) -> Callable[[Any, Any], T]:
    generated = make_dict_structure_fn(cls, conv)

    def structure(value: Any, _: Any) -> T:
        if type(value) is not dict:
            raise _mismatch("an object", value)
        return generated(value, cls)

    return structure


def _annotated_hook(conv: Converter, annotated: Any) -> Callable[[Any, Any], Any]:
    base = annotated.__origin__
    base_hook = conv.get_structure_hook(base)
    checks = constraint_checks(annotated.__metadata__)
    if not checks:
        return lambda value, _: base_hook(value, base)

    def structure(value: Any, _: Any) -> Any:
        result = base_hook(value, base)
        for check in checks:
            check(result)
        return result

    return structure


CONVERTER: Final = make_converter()


def decoder(cls: type[T], converter: Converter = CONVERTER) -> Decoder[T]:
    """A function turning JSON ``data`` into ``cls``, raising ``ProtocolError(invalid)``."""
    hook = converter.get_structure_hook(cls)

    def decode(data: Any) -> T:
        try:
            return hook(data, cls)  # type: ignore[no-any-return]
        except Exception as exc:
            raise ProtocolError(
                INVALID, f"invalid {cls.__name__} payload", validation_details(exc)
            ) from None

    return decode


def encoder(cls: type[Any], converter: Converter = CONVERTER) -> Encoder:
    """A function turning an instance of ``cls`` into JSON-ready data."""
    hook = converter.get_unstructure_hook(cls)
    return hook


def validation_details(exc: BaseException, path: str = "$.data") -> tuple[Detail, ...]:
    """Flatten a cattrs validation error tree into located, user-facing details."""
    return tuple(_walk(exc, path))


def _walk(exc: BaseException, path: str) -> Iterable[Detail]:
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            yield from _walk(sub, f"{path}.{note.name}")
        for sub in without:
            yield from _walk(sub, path)
    elif isinstance(exc, IterableValidationError):
        with_notes_i, without_i = exc.group_exceptions()
        for sub, inote in with_notes_i:
            yield from _walk(sub, f"{path}{_index(inote.index)}")
        for sub in without_i:
            yield from _walk(sub, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            yield Detail(f"{path}{_index(key)}", "unexpected field")
    else:
        yield Detail(path, _describe(exc))


def _index(key: Any) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    if isinstance(key, str) and key.isidentifier():
        return f".{key}"
    return f"[{_literal_repr(str(key))}]"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, Mismatch):
        return str(exc)
    if isinstance(exc, KeyError):
        return "required field missing"
    return "invalid value"
