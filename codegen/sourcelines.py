"""``inspect.getsourcelines`` for classes, parsing each source file once.

Python 3.11's ``inspect`` parses the whole module again for every class it locates, so
locating each of a spec's N payload classes (and their fields) cost N parses of the
module: a spec with hundreds of payloads took minutes to load. Here the class positions
of a file are computed once per source text and shared.
"""

from __future__ import annotations

import ast
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
    linecache.checkcache(file)  # as inspect does: the file may have changed since
    module = sys.modules.get(cls.__module__)
    lines = linecache.getlines(file, vars(module) if module is not None else None)
    cached = _spans_by_file.get(file)
    if cached is None or cached[0] is not lines:  # linecache keeps one list per version
        cached = _spans_by_file[file] = (lines, _class_spans("".join(lines)))
    span = cached[1].get(cls.__qualname__) if lines else None
    if span is None:
        return inspect.getsourcelines(cls)
    start, end = span
    return lines[start:end], start + 1


_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)
_spans_by_file: dict[str, tuple[list[str], dict[str, tuple[int, int]]]] = {}


def _class_spans(source: str) -> dict[str, tuple[int, int]]:
    """Qualified name -> (first, last + 1) 0-based lines of each class.

    The same walk as ``inspect``'s class finder: the first definition of a name wins,
    its first decorator starts it, and functions contribute ``<locals>`` to the names
    of the classes inside them. A class ends with its last statement, as in
    ``inspect.getblock`` (which tokenizes the rest of the file to find that out).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    spans: dict[str, tuple[int, int]] = {}

    def visit(nodes: list[Any], stack: list[str]) -> None:
        # Classes are statements: walk statement lists only, not every expression.
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(node.body, [*stack, node.name, "<locals>"])
            elif isinstance(node, ast.ClassDef):
                inner = [*stack, node.name]
                first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                last = node.end_lineno or node.lineno
                spans.setdefault(".".join(inner), (first - 1, last))
                visit(node.body, inner)
            else:  # if/for/while/with/try/match: their bodies, handlers and cases in order
                for field in node._fields:
                    value = getattr(node, field, None)
                    if isinstance(value, list) and value and isinstance(value[0], _BLOCKS):
                        visit(value, stack)

    visit(tree.body, [])
    return spans
