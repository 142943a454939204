"""A field's Python annotation: its type expression with the constraints of its table.

``list[str]`` with ``max_len = 5`` and ``items = { min_len = 1 }`` becomes
``Annotated[list[Annotated[str, MinLen(1)]], MaxLen(5)]``, what a Python spec writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at

from ..spec import Pattern
from .document import CONSTRAINTS, ItemsDoc
from .typeexpr import TYPE_NAMES, Generic, Lit, Name, TypeNode, TypeSyntax

__all__ = ["annotation", "constrained"]

_UNIONS = (Union, type(int | str))
_METADATA: dict[str, Callable[[Any], Any]] = {
    "min_len": at.MinLen,
    "max_len": at.MaxLen,
    "ge": at.Ge,
    "gt": at.Gt,
    "le": at.Le,
    "lt": at.Lt,
    "pattern": Pattern,
}


def annotation(node: TypeNode, named: Mapping[str, Any]) -> Any:
    """The Python type of ``node``; ``named`` holds the file's payload and enum classes."""
    if isinstance(node, Name):
        if node.name in TYPE_NAMES:
            found = TYPE_NAMES[node.name]
            return type(None) if found is None else found
        return named[node.name]
    if isinstance(node, Lit):
        return Literal.__getitem__(node.values)
    if isinstance(node, Generic):
        args = tuple(annotation(a, named) for a in node.args)
        return list[args[0]] if node.name == "list" else dict[args[0], args[1]]  # type: ignore[valid-type]
    return Union.__getitem__(tuple(annotation(m, named) for m in node.members))


def constrained(tp: Any, source: Any) -> Any:
    """``tp`` annotated with the constraints of ``source`` (a FieldDoc or ItemsDoc)."""
    if source.items is not None:
        tp = _constrain_items(tp, source.items)
    metadata = [
        _METADATA[k](getattr(source, k)) for k in CONSTRAINTS if getattr(source, k) is not None
    ]
    if not metadata:
        return tp
    members = get_args(tp) if get_origin(tp) in _UNIONS else ()
    if type(None) in members and len(members) == 2:
        # On `T | None` the constraints are T's: Annotated[T, ...] | None, as one writes it.
        (inner,) = [m for m in members if m is not type(None)]
        return Union[Annotated.__class_getitem__((inner, *metadata)), None]  # type: ignore[attr-defined]  # noqa: UP007
    return Annotated.__class_getitem__((tp, *metadata))  # type: ignore[attr-defined]


def _constrain_items(tp: Any, items: ItemsDoc) -> Any:
    """``tp`` with the items of its list, or the values of its dict, constrained."""
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        return list[constrained(item, items)]  # type: ignore[misc]
    if get_origin(tp) is dict:
        key, value = get_args(tp)
        return dict[key, constrained(value, items)]  # type: ignore[misc,valid-type]
    if get_origin(tp) in _UNIONS:
        members = get_args(tp)
        containers = [m for m in members if get_origin(m) in (list, dict)]
        if len(containers) == 1:
            rebuilt = tuple(
                _constrain_items(m, items) if m is containers[0] else m for m in members
            )
            return Union.__getitem__(rebuilt)
    raise TypeSyntax(
        "items constrains the items of a list or the values of a dict, but the field is neither",
        "remove items, or make the type list[T] or dict[str, T]",
    )
