"""Python rendering: type annotations with their imports, templates, black, parse check.

Templates hold only loops and ifs; every annotation, literal and docstring they emit is
produced here or in ``chgen.naming``. Imports are recorded while the body renders and
the header is rendered last, so a module imports exactly what it uses.
"""

from __future__ import annotations

import ast
import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import black
from black.mode import Mode, TargetVersion

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

__all__ = ["Imports", "PythonTypes", "check_python", "format_python"]

_BLACK_MODE = Mode(target_versions={TargetVersion.PY311})

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
    """``from module import name`` lines a rendered module needs, in a stable order."""

    def __init__(self) -> None:
        self._names: defaultdict[str, set[str]] = defaultdict(set)
        self._modules: set[str] = set()

    def add(self, module: str, name: str | None = None) -> str:
        if name is None:
            self._modules.add(module)
            return module
        self._names[module].add(name)
        return name

    def lines(self) -> list[list[str]]:
        """Import lines in groups (stdlib, third party, runtime, local)."""
        groups: defaultdict[int, list[str]] = defaultdict(list)
        for module in sorted(self._modules):
            groups[self._group(module)].append(f"import {module}")
        for module in sorted(self._names, key=lambda m: (m.startswith("."), m)):
            names = ", ".join(sorted(self._names[module]))
            groups[self._group(module)].append(f"from {module} import {names}")
        return [groups[k] for k in sorted(groups)]

    @staticmethod
    def _group(module: str) -> int:
        if module.startswith("."):
            return 4
        if module == "chgen.runtime" or module.startswith("chgen.runtime."):
            return 2
        return _GROUP.get(module, 3)


# IR primitives that are classes from the standard library: (module, name).
_IMPORTED = {
    "datetime": ("datetime", "datetime"),
    "date": ("datetime", "date"),
    "uuid": ("uuid", "UUID"),
    "decimal": ("decimal", "Decimal"),
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
            self.imports.add("typing", "Literal")
            return f"Literal[{', '.join(_literal(v) for v in tp.values)}]"
        raise TypeError(f"no Python annotation for {tp!r}")

    def default(self, default: Default, tp: TypeIR) -> str:
        """The right-hand side of a field with a default."""
        if default.factory is not None:
            self.imports.add("attrs")
            return f"attrs.field(factory={default.factory})"
        if default.enum_member is not None:
            enum_type = tp.inner if isinstance(tp, Nullable) else tp
            assert isinstance(enum_type, EnumRef), "the resolver checked the default's type"
            return f"{enum_type.name}.{default.enum_member}"
        return _literal(default.value)

    def _prim(self, name: str) -> str:
        if name in _IMPORTED:
            module, imported = _IMPORTED[name]
            return self.imports.add(module, imported)
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
                metadata.append(f"{self.imports.add('annotated_types', cls)}({_number(value)})")
        if constraints.pattern is not None:
            self.imports.add("chgen.runtime", "Pattern")
            metadata.append(f"Pattern({naming.py_str(constraints.pattern)})")
        self.imports.add("typing", "Annotated")
        return f"Annotated[{base}, {', '.join(metadata)}]"


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return naming.py_str(value)
    if isinstance(value, float):
        return _number(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    raise TypeError(f"no Python literal for {value!r}")


def _number(value: float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be written as a Python literal")
    return repr(value)


def format_python(source: str) -> str:
    """black, in-process, with the project's target version."""
    return black.format_str(source, mode=_BLACK_MODE)


def check_python(source: str, filename: str) -> None:
    """Fail loudly if a renderer produced invalid Python (a generator bug, exit 123)."""
    ast.parse(source, filename=filename)


Filter = Callable[..., str]
FILTERS: dict[str, Filter] = {
    "py_value": lambda value: _literal(value),
    "py_str": naming.py_str,
    "py_docstring": naming.py_docstring,
    "py_comment": naming.py_comment,
}
