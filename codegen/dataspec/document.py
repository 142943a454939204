"""The shape of a data spec: document classes that mirror the spec classes.

Each section of the file is structured into these classes. They have the fields of
``App``, ``Route``, ``Handler``, ``Worker`` and the consumer classes, with a name where the spec
class holds an object (a handler's payload, a route's target), so that anything the
spec model gains is accepted by data specs under the same name.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, Union

import attrs

from ..spec import (
    App,
    Handler,
    JsonWebsocketConsumer,
    Route,
    WebsocketConsumer,
    WebsocketDemultiplexer,
    Worker,
)

__all__ = [
    "CONSTRAINTS",
    "CONSUMER_KINDS",
    "NO_DEFAULT",
    "SECTIONS",
    "TOP_KEYS",
    "AppDoc",
    "Document",
    "FieldDoc",
    "FieldEntry",
    "HandlerDoc",
    "ItemsDoc",
    "handler_mappings",
]

NO_DEFAULT: Any = type("_NoDefault", (), {"__repr__": lambda self: "<no default>"})()


@attrs.frozen(kw_only=True)
class ItemsDoc:
    """Constraints on the items of a list or the values of a dict: ``items = { max_len = 20 }``."""

    min_len: int | None = None
    max_len: int | None = None
    ge: int | float | None = None
    gt: int | float | None = None
    le: int | float | None = None
    lt: int | float | None = None
    pattern: str | None = None
    items: ItemsDoc | None = None


@attrs.frozen(kw_only=True)
class FieldDoc:
    """A payload field written as a table: a type expression, constraints, a default."""

    type: str
    min_len: int | None = None
    max_len: int | None = None
    ge: int | float | None = None
    gt: int | float | None = None
    le: int | float | None = None
    lt: int | float | None = None
    pattern: str | None = None
    items: ItemsDoc | None = None
    default: Any = NO_DEFAULT
    default_none: bool = False


CONSTRAINTS = ("min_len", "max_len", "ge", "gt", "le", "lt", "pattern")
FieldEntry = Union[str, FieldDoc]  # noqa: UP007 (a runtime object cattrs dispatches on)


@attrs.frozen(kw_only=True)
class _PayloadDoc:
    doc: str = ""
    fields: dict[str, Any] = attrs.Factory(dict)  # each a FieldEntry, structured one by one


@attrs.frozen(kw_only=True)
class _EnumDoc:
    doc: str = ""
    members: dict[str, str | int]


def _mirror(
    spec_cls: type[Any], name: str, special: Mapping[str, tuple[Any, Any]], skip: set[str]
) -> type[Any]:
    """A document class with the fields of ``spec_cls``: names stand in for objects.

    ``special`` replaces a field's (type, default); fields in ``skip`` are left out.
    Fields the spec model gains later are accepted as they are, with the spec's types.
    """
    hints = typing.get_type_hints(spec_cls)
    fields: dict[str, Any] = {}
    for field in attrs.fields(spec_cls):
        if field.name in skip or field.name == "defined_at":
            continue
        if field.name in special:
            tp, default = special[field.name]
        else:
            tp, default = hints[field.name], field.default
        fields[field.name] = attrs.field(type=tp, default=default, kw_only=True)
    return attrs.make_class(name, fields, frozen=True)


def handler_mappings(spec_cls: type[Any]) -> tuple[str, ...]:
    """method_mapping, and any other message type -> Handler mapping of a consumer."""
    hints = typing.get_type_hints(spec_cls)
    return tuple(f.name for f in attrs.fields(spec_cls) if hints[f.name] == Mapping[str, Handler])


HandlerDoc = _mirror(
    Handler, "_HandlerDoc", {"payload": (str, attrs.NOTHING), "reply": (str | None, None)}, set()
)
_HandlerEntry = Union[str, HandlerDoc]  # type: ignore[valid-type]  # noqa: UP007
_RouteDoc = _mirror(Route, "_RouteDoc", {"target": (str, attrs.NOTHING)}, set())
# Workers are a section of their own, [workers.<Name>], like consumers.
AppDoc = _mirror(
    App,
    "_AppDoc",
    {
        "routes": (list[_RouteDoc], attrs.NOTHING),  # type: ignore[valid-type]
        "events": (dict[str, str], attrs.Factory(dict)),  # event -> payload name
    },
    {"workers"},
)


def _consumer_doc(spec_cls: type[Any]) -> type[Any]:
    special: dict[str, tuple[Any, Any]] = {
        field: (dict[str, _HandlerEntry], attrs.Factory(dict))
        for field in handler_mappings(spec_cls)
    }
    if "sends" in attrs.fields_dict(spec_cls):
        special["sends"] = (dict[str, str], attrs.Factory(dict))
    return _mirror(spec_cls, f"_{spec_cls.__name__}Doc", special, {"name"})


# Section name -> spec class, for every kind of consumer the spec model has.
CONSUMER_KINDS: dict[str, type[Any]] = {
    "consumers": JsonWebsocketConsumer,
    "websocket_consumers": WebsocketConsumer,
}
_DemuxDoc = _mirror(
    WebsocketDemultiplexer,
    "_DemuxDoc",
    {"consumers": (dict[str, str], attrs.Factory(dict))},
    {"name"},
)

_WorkerDoc = _mirror(
    Worker, "_WorkerDoc", {"mapping": (dict[str, _HandlerEntry], attrs.Factory(dict))}, {"name"}
)

# Section name -> the document class of each of its entries.
SECTIONS: dict[str, Any] = {
    "enums": _EnumDoc,
    "payloads": _PayloadDoc,
    **{section: _consumer_doc(cls) for section, cls in CONSUMER_KINDS.items()},
    "demultiplexers": _DemuxDoc,
    "workers": _WorkerDoc,
}
TOP_KEYS = ("app", *SECTIONS)


@attrs.define
class Document:
    """The structured parts of a data spec; entries that failed to structure are absent
    from their section but listed in ``names``, so references to them raise no more errors."""

    app: Any = None
    sections: dict[str, dict[str, Any]] = attrs.Factory(dict)
    names: dict[str, list[str]] = attrs.Factory(dict)

    @property
    def payloads(self) -> dict[str, Any]:
        return self.sections["payloads"]
