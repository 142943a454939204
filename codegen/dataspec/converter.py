"""The strict cattrs converter that structures a parsed data spec into document classes.

No coercion (a number is not a string), unknown keys are errors, and every mismatch
says what was expected and what the file holds, in TOML/JSON words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union, get_args, get_origin

import attrs
from cattrs import Converter
from cattrs.errors import IterableValidationError, IterableValidationNote

from ..hints import data_kind

__all__ = ["CONVERTER", "Mismatch"]


class Mismatch(Exception):
    """A value of the wrong kind; the message says what was expected."""


def _make_converter() -> Converter:
    conv = Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(str, _scalar(str, "a string"))
    conv.register_structure_hook(int, _scalar(int, "an integer"))
    conv.register_structure_hook(float, _scalar(float, "a number"))
    conv.register_structure_hook(bool, _scalar(bool, "true or false"))
    conv.register_structure_hook_factory(_is_sequence, lambda tp: _list_hook(conv, tp))
    conv.register_structure_hook_factory(_is_mapping, lambda tp: _dict_hook(conv, tp))
    conv.register_structure_hook_factory(_is_union, lambda tp: _union_hook(conv, tp))
    conv.register_structure_hook_factory(attrs.has, lambda tp: _table_hook(conv, tp))
    return conv


def _scalar(tp: type[Any], what: str) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if type(value) is tp or (tp is float and type(value) is int):
            return value
        raise Mismatch(f"expected {what}, got {data_kind(value)}")

    return structure


def _is_sequence(tp: Any) -> bool:
    return get_origin(tp) in (list, tuple, Sequence)


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) in (dict, Mapping)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, type(int | str))


def _list_hook(conv: Converter, tp: Any) -> Callable[[Any, Any], Any]:
    (item,) = get_args(tp)[:1] or (Any,)

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not list:
            raise Mismatch(f"expected an array, got {data_kind(value)}")
        out, errors = [], []
        for index, element in enumerate(value):
            try:
                out.append(conv.structure(element, item))
            except Exception as exc:
                exc.__notes__ = [IterableValidationNote(f"@ [{index}]", index, item)]
                errors.append(exc)
        if errors:
            raise IterableValidationError("invalid items", errors, tp)
        return out

    return structure


def _dict_hook(conv: Converter, tp: Any) -> Callable[[Any, Any], Any]:
    args = get_args(tp)
    value_type = args[1] if len(args) == 2 else Any

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not dict:
            raise Mismatch(f"expected a table, got {data_kind(value)}")
        out, errors = {}, []
        for key, element in value.items():
            try:
                out[key] = conv.structure(element, value_type)
            except Exception as exc:
                exc.__notes__ = [IterableValidationNote(f"@ [{key!r}]", key, value_type)]
                errors.append(exc)
        if errors:
            raise IterableValidationError("invalid entries", errors, tp)
        return out

    return structure


def _union_hook(conv: Converter, tp: Any) -> Callable[[Any, Any], Any]:
    """Pick the member by the kind of value: a string, a number, a table, null. A table
    is a mapping's when the union has one and the table has keys the class has not
    (``history``: ``{size, ttl}`` or ``{template: {size, ttl}}``)."""
    members = get_args(tp)
    mapping = next((m for m in members if _is_mapping(m)), None)

    def structure(value: Any, _: Any) -> Any:
        if value is None and type(None) in members:
            return None
        for member in members:
            if member is Any:
                return value
            if attrs.has(member) and type(value) is dict:
                fields = {f.name for f in attrs.fields(member)}
                if mapping is not None and not set(value) <= fields:
                    return conv.structure(value, mapping)
                return conv.structure(value, member)
            if member is type(value) or (member is float and type(value) is int):
                return value
        raise Mismatch(f"expected {_expected(members)}, got {data_kind(value)}")

    return structure


def _expected(members: tuple[Any, ...]) -> str:
    # null is left out: TOML has none, and it is rarely what a key wants.
    kinds = [_member_kind(m) for m in members if m is not type(None)]
    if "a number" in kinds and "an integer" in kinds:
        kinds.remove("an integer")
    return " or ".join(kinds)


def _member_kind(member: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if member in names:
        return names[member]
    if member is type(None):
        return "null"
    return "a table" if attrs.has(member) else getattr(member, "__name__", str(member))


def _table_hook(conv: Converter, tp: type[Any]) -> Callable[[Any, Any], Any]:
    inner = conv.gen_structure_attrs_fromdict(tp)

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not dict:
            raise Mismatch(f"expected a table, got {data_kind(value)}")
        return inner(value, tp)

    return structure


CONVERTER = _make_converter()
