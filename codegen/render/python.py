"""Python rendering: the import vocabulary, type annotations with their imports, filters.

Templates hold only loops and ifs; every annotation, literal and docstring they emit is
produced here or in ``chgen.naming``. Imports are recorded while the body renders and
the header is rendered last, so a module imports exactly what it uses.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .. import naming
from ..ir import (
    Constraints,
    Default,
    DictOf,
    EnumRef,
    ListOf,
    LiteralOf,
    Nullable,
    Prim,
    Ref,
    TypeIR,
    UnionOf,
)
from .vocabulary import IMPORTABLE, IMPORTABLE_MODULES, RUNTIME

__all__ = ["FILTERS", "LINE_LENGTH", "Imports", "PythonTypes"]

# The width generated Python is laid out for: black's default.
LINE_LENGTH = 88


# Import groups in the order isort would put them: stdlib, third party, runtime, local.
_GROUP = {
    "datetime": 0,
    "decimal": 0,
    "enum": 0,
    "typing": 0,
    "uuid": 0,
    "collections.abc": 0,
    "annotated_types": 1,
    "attrs": 1,
}


class Imports:
    """The imports a rendered module needs, recorded as its body renders.

    Templates and the type renderer write every imported name through ``use`` (or
    ``module``, ``local``, ``external``), which records the import and returns the name
    to print; the header is rendered last, from what was recorded.
    """

    def __init__(self) -> None:
        self._names: defaultdict[str, set[str]] = defaultdict(set)
        self._modules: set[str] = set()

    def use(self, name: str) -> str:
        """A name from ``IMPORTABLE``."""
        try:
            module = IMPORTABLE[name]
        except KeyError:
            raise KeyError(f"{name!r} is not in IMPORTABLE: add it there first") from None
        self._names[module].add(name)
        return name

    def module(self, name: str) -> str:
        """A module imported whole: one of ``IMPORTABLE_MODULES``."""
        if name not in IMPORTABLE_MODULES:
            raise KeyError(f"{name!r} is not in IMPORTABLE_MODULES: add it there first")
        self._modules.add(name)
        return name

    def local(self, module: str, name: str) -> str:
        """A name the app's own package defines, e.g. ``.payloads``."""
        assert module.startswith("."), module
        self._names[module].add(name)
        return name

    def external(self, module: str, name: str) -> str:
        """A name from the user's code, which the resolver checked: a handler class."""
        self._names[module].add(name)
        return name

    def decorator(self, path: str) -> str:
        """A decorator by dotted path; its module is imported whole."""
        self._modules.add(path.rsplit(".", 1)[0])
        return path

    def lines(self) -> list[list[str]]:
        """Import lines in groups (stdlib, third party, runtime, local)."""
        groups: defaultdict[int, list[str]] = defaultdict(list)
        for module in sorted(self._modules):
            groups[self._group(module)].append(f"import {module}")
        for module in sorted(self._names, key=lambda m: (m.startswith("."), m)):
            groups[self._group(module)].append(_from_import(module, sorted(self._names[module])))
        return [groups[k] for k in sorted(groups)]

    @staticmethod
    def _group(module: str) -> int:
        if module.startswith("."):
            return 4
        if module == RUNTIME or module.startswith(RUNTIME + "."):
            return 2
        return _GROUP.get(module, 3)


def _from_import(module: str, names: list[str]) -> str:
    """``from module import a, b`` as black writes it: on one line when it fits, else one
    name per line in parentheses with a trailing comma."""
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line
    body = "".join(f"    {name},\n" for name in names)
    return f"from {module} import (\n{body})"


# IR primitives that are classes imported from the standard library.
_IMPORTED = {
    "datetime": "datetime",
    "date": "date",
    "uuid": "UUID",
    "decimal": "Decimal",
    "bigint": "BigInt",
}


class PythonTypes:
    """Renders IR types as annotations, recording the imports they need."""

    def __init__(self, imports: Imports) -> None:
        self.imports = imports

    def annotation(self, tp: TypeIR) -> str:
        if isinstance(tp, Prim):
            return self._constrained(self._prim(tp.name), tp.constraints)
        if isinstance(tp, ListOf):
            return self._constrained(f"list[{self.annotation(tp.item)}]", tp.constraints)
        if isinstance(tp, DictOf):
            return self._constrained(f"dict[str, {self.annotation(tp.value)}]", tp.constraints)
        if isinstance(tp, Nullable):
            return f"{self.annotation(tp.inner)} | None"
        if isinstance(tp, Ref | EnumRef):
            return tp.name
        if isinstance(tp, UnionOf):
            return " | ".join(tp.members)
        if isinstance(tp, LiteralOf):
            return f"{self.imports.use('Literal')}[{', '.join(_literal(v) for v in tp.values)}]"
        raise TypeError(f"no Python annotation for {tp!r}")

    def default(self, default: Default, tp: TypeIR) -> str:
        """The right-hand side of a field with a default."""
        if default.factory is not None:
            return f"{self.imports.module('attrs')}.field(factory={default.factory})"
        if default.enum_member is not None:
            enum_type = tp.inner if isinstance(tp, Nullable) else tp
            assert isinstance(enum_type, EnumRef), "the resolver checked the default's type"
            return f"{enum_type.name}.{default.enum_member}"
        return _literal(default.value)

    def _prim(self, name: str) -> str:
        if name in _IMPORTED:
            return self.imports.use(_IMPORTED[name])
        return {"none": "None"}.get(name, name)

    def _constrained(self, base: str, constraints: Constraints) -> str:
        if not constraints:
            return base
        metadata = []
        for key, cls in (
            ("min_len", "MinLen"),
            ("max_len", "MaxLen"),
            ("ge", "Ge"),
            ("gt", "Gt"),
            ("le", "Le"),
            ("lt", "Lt"),
        ):
            value = getattr(constraints, key)
            if value is not None:
                metadata.append(f"{self.imports.use(cls)}({_number(value)})")
        if constraints.pattern is not None:
            pattern = self.imports.use("Pattern")
            metadata.append(f"{pattern}({naming.py_str(constraints.pattern)})")
        return f"{self.imports.use('Annotated')}[{base}, {', '.join(metadata)}]"


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return naming.py_str(value)
    if isinstance(value, float):
        return _number(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, tuple):
        return _tuple(value)
    raise TypeError(f"no Python literal for {value!r}")


def _tuple(values: Any) -> str:
    """A tuple display of literals, as black writes a short one: ``()``, ``("a",)``."""
    items = [_literal(v) for v in values]
    if len(items) == 1:
        return f"({items[0]},)"
    return f"({', '.join(items)})"


def _number(value: float) -> str:
    """``repr(value)`` as black writes it: ``1e16``, not ``1e+16``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be written as a Python literal")
    return repr(value).replace("e+", "e")


Filter = Callable[..., str]
FILTERS: dict[str, Filter] = {
    "py_tuple": lambda values: _tuple(values),
    "py_value": lambda value: _literal(value),
    "py_str": naming.py_str,
    "py_docstring": naming.py_docstring,
    "py_comment": naming.py_comment,
}
