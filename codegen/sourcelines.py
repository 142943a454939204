"""``inspect.getsourcelines`` for classes, parsing each source file once.

Python 3.11's ``inspect`` parses the whole module again for every class it locates, so
locating each of a spec's N payload classes (and their fields) cost N parses of the
module: a spec with hundreds of payloads took minutes to load. Here the class positions
of a file are computed once per source text and shared.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import sys
from typing import Any

__all__ = ["class_source"]


def class_source(cls: type[Any]) -> tuple[list[str], int]:
    """The source lines of ``cls`` and its 1-based first line, like ``getsourcelines``.

    Raises OSError or TypeError as ``inspect`` does when there is no source.
    """
    file = inspect.getsourcefile(cls)
    if file is None:
        return inspect.getsourcelines(cls)
    module = sys.modules.get(cls.__module__)
    lines = linecache.getlines(file, vars(module) if module is not None else None)
    start = _class_starts("".join(lines)).get(cls.__qualname__) if lines else None
    if start is None:
        return inspect.getsourcelines(cls)
    return inspect.getblock(lines[start:]), start + 1


@functools.lru_cache(maxsize=32)
def _class_starts(source: str) -> dict[str, int]:
    """Qualified name -> 0-based first line (its first decorator) of each class.

    The same walk as ``inspect``'s class finder: the first definition of a name wins,
    and functions contribute ``<locals>`` to the names of the classes inside them.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    starts: dict[str, int] = {}

    def visit(node: ast.AST, stack: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, [*stack, child.name, "<locals>"])
            elif isinstance(child, ast.ClassDef):
                inner = [*stack, child.name]
                first = child.decorator_list[0].lineno if child.decorator_list else child.lineno
                starts.setdefault(".".join(inner), first - 1)
                visit(child, inner)
            else:
                visit(child, stack)

    visit(tree, [])
    return starts
