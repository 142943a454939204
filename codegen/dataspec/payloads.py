"""The enums and ``@payload`` classes of a data spec, built as a Python spec builds them.

Every field type is parsed first, so that every unknown name is reported at once; then
the classes are made in dependency order, a payload after the payloads its fields use.
"""

from __future__ import annotations

import enum
import keyword
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..hints import did_you_mean
from ..spec import Location, located_at, payload_at
from .context import BuildContext
from .document import NO_DEFAULT, FieldDoc, FieldEntry
from .fieldtypes import annotation, constrained
from .locations import DocPath, Problem
from .structure import structure_entry
from .typeexpr import (
    GENERICS,
    LITERAL,
    TYPE_NAMES,
    Name,
    TypeNode,
    TypeSyntax,
    UnionType,
    alternative,
    names_in,
    parse_type,
)

__all__ = ["Payloads"]

_Fields = dict[str, tuple[TypeNode, FieldDoc]]  # field name -> (type, its table)


class Payloads:
    """The file's enums and payload classes by name; ``ref`` resolves a payload name."""

    def __init__(self, context: BuildContext) -> None:
        self.ctx = context
        self.enums: dict[str, type[enum.Enum]] = {}
        self.classes: dict[str, type[Any]] = {}

    def build(self) -> None:
        self._enums()
        names = set(self.ctx.doc.names["payloads"])
        fields = {name: self._fields(name, doc) for name, doc in self.ctx.doc.payloads.items()}
        deps = {name: _used(found) & names for name, found in fields.items()}
        for name in _dependency_order(deps, self._cycle):
            used = _used(fields[name])
            if all(n in TYPE_NAMES or n in self.classes or n in self.enums for n in used):
                self._make(name, fields[name])

    def ref(self, name: str, path: DocPath) -> Any:
        """The payload class named ``name``, or None (reported when the name is unknown)."""
        found = self.classes.get(name)
        if found is None:
            known = self.ctx.doc.names["payloads"]
            if name not in known:
                self.ctx.error(
                    path,
                    f"no payload named {name!r}",
                    did_you_mean(name, known) or f"payloads: {', '.join(known) or 'none'}",
                )
            return None  # an unknown name, or a payload whose own errors were reported
        return found

    # -- enums --------------------------------------------------------------------------

    def _enums(self) -> None:
        for name, doc in self.ctx.doc.sections["enums"].items():
            path: DocPath = ("enums", name)
            if name in self.ctx.doc.names["payloads"]:
                self.ctx.error(path, f"{name!r} names both an enum and a payload", "rename one")
                continue
            try:
                made = enum.Enum(  # type: ignore[misc]
                    name, list(doc.members.items()), module=self.ctx.module, qualname=name
                )
            except Exception as exc:  # e.g. a member name enum refuses
                self.ctx.error((*path, "members"), f"cannot build enum {name!r}: {exc}")
                continue
            made.__doc__ = doc.doc or None
            self.enums[name] = located_at(made, self.ctx.at(path))

    # -- fields -----------------------------------------------------------------------

    def _fields(self, name: str, doc: Any) -> _Fields:
        """The fields of payload ``name`` whose name and type are right."""
        fields: _Fields = {}
        for field_name, entry in doc.fields.items():
            path: DocPath = ("payloads", name, "fields", field_name)
            problems: list[Problem] = []
            field = structure_entry(entry, FieldEntry, path, problems)
            self.ctx.report(problems)
            if field is None:
                continue
            type_path = path if isinstance(field, str) else (*path, "type")
            if isinstance(field, str):
                field = FieldDoc(type=field)
            node = self._field_type(field.type, type_path)
            if node is not None and self._field_name(field_name, path):
                fields[field_name] = (node, field)
        return fields

    def _field_name(self, name: str, path: DocPath) -> bool:
        if not name.isidentifier():
            self.ctx.error(path, f"field name {name!r} is not an identifier", "rename the field")
            return False
        if name == "self" or keyword.iskeyword(name):
            self.ctx.error(path, f"field name {name!r} is reserved in Python", "rename the field")
            return False
        return True

    def _field_type(self, text: str, path: DocPath) -> TypeNode | None:
        try:
            node = parse_type(text)
        except TypeSyntax as exc:
            self.ctx.error(path, f"invalid type {text!r}: {exc.message}", exc.hint)
            return None
        unknown = [n for n in names_in(node) if n.name not in TYPE_NAMES and not self._known(n)]
        for name in unknown:
            within = f" in {text!r} at column {name.column}" if text.strip() != name.name else ""
            self.ctx.error(path, f"unknown type {name.name!r}{within}", self._unknown_hint(name))
        return None if unknown else node

    def _known(self, name: Name) -> bool:
        return (
            name.name in self.ctx.doc.names["payloads"] or name.name in self.ctx.doc.names["enums"]
        )

    def _unknown_hint(self, name: Name) -> str:
        known = sorted({*self.ctx.doc.names["payloads"], *self.ctx.doc.names["enums"]})
        choices = [*TYPE_NAMES, *GENERICS, LITERAL, *known]
        return (
            alternative(name.name)
            or did_you_mean(name.name, choices)
            or f"use {', '.join(TYPE_NAMES)}, list[T], dict[str, T], Literal[...], "
            "a payload or an enum"
        )

    # -- classes ----------------------------------------------------------------------

    def _make(self, name: str, fields: _Fields) -> None:
        path: DocPath = ("payloads", name)
        namespace: dict[str, Any] = {
            "__annotations__": {},
            "__module__": self.ctx.module,
            "__qualname__": name,
            "__doc__": self.ctx.doc.payloads[name].doc or None,
        }
        locations: dict[str, Location] = {}
        for field_name, (node, field) in fields.items():
            where: DocPath = (*path, "fields", field_name)
            locations[field_name] = self.ctx.at(where)
            self._add_field(namespace, field_name, node, field, where)
        try:
            cls = type(name, (), namespace)
            self.classes[name] = payload_at(cls, self.ctx.at(path), locations)
        except Exception as exc:  # attrs refuses the class, e.g. a clashing field name
            self.ctx.error(path, f"cannot build payload {name!r}: {exc}")

    def _add_field(
        self, namespace: dict[str, Any], name: str, node: TypeNode, field: FieldDoc, where: DocPath
    ) -> None:
        """The field's annotation and default, in the namespace of the class to be."""
        try:
            tp = annotation(node, {**self.classes, **self.enums})
            namespace["__annotations__"][name] = constrained(tp, field)
        except TypeSyntax as exc:  # only `items` on a type that is not a list
            self.ctx.error((*where, "items"), exc.message, exc.hint)
            return
        if field.default_none:
            namespace[name] = None
        elif field.default is not NO_DEFAULT:
            try:
                namespace[name] = self._default(field.default, node)
            except TypeSyntax as exc:
                self.ctx.error((*where, "default"), exc.message, exc.hint)

    def _default(self, value: Any, node: TypeNode) -> Any:
        """The attrs default for a wire value: fresh empty containers, enum members."""
        if value == [] and type(value) is list:
            return attrs.Factory(list)
        if value == {} and type(value) is dict:
            return attrs.Factory(dict)
        members = node.members if isinstance(node, UnionType) else (node,)
        enums = [
            self.enums[m.name] for m in members if isinstance(m, Name) and m.name in self.enums
        ]
        if len(enums) == 1 and value is not None:
            try:
                return enums[0](value)
            except ValueError:
                values = ", ".join(repr(m.value) for m in enums[0])
                raise TypeSyntax(
                    f"default {value!r} is not a value of {enums[0].__name__}",
                    f"write one of its values: {values}",
                ) from None
        return value

    def _cycle(self, name: str, through: str) -> None:
        via = f" (through {through!r})" if through != name else ""
        self.ctx.error(
            ("payloads", name),
            f"payload {name!r} refers to itself{via}",
            "recursive payloads are not supported",
        )


def _used(fields: _Fields) -> set[str]:
    """The names the types of ``fields`` use."""
    return {name.name for node, _ in fields.values() for name in names_in(node)}


def _dependency_order(deps: Mapping[str, set[str]], cycle: Callable[[str, str], None]) -> list[str]:
    """Payload names, each after those it uses; ``cycle`` hears of each loop."""
    ordered: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle(name, chain[-1])
            return
        state[name] = 1
        for dep in sorted(deps[name]):
            if dep in deps:  # not: a payload that failed to structure, already reported
                visit(dep, [*chain, name])
        state[name] = 2
        ordered.append(name)

    for name in deps:
        visit(name, [name])
    return ordered
