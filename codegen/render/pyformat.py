"""Generated Python in black's style, without running black over every file.

The templates write black's layout (blank lines, quotes, trailing commas, imports), and
the encoders in ``chgen.naming`` write literals black leaves alone, so most output is
final as rendered. What a template cannot know is how wide a spec makes a line: a long
name, pattern or default. ``fit_width`` hands only the statements holding such a line to
black, one at a time, so a build pays for black on a few statements instead of on every
file. The test suite checks that black leaves every generated file unchanged.

``format_with_black`` runs black over a whole module, for template overrides that do
not write black's style themselves (``chgen build --format``).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from .python import LINE_LENGTH

if TYPE_CHECKING:
    import black

__all__ = ["fit_width", "format_with_black", "too_wide"]

_INDENT = "    "


def too_wide(line: str) -> bool:
    """Whether black could find ``line`` wider than the limit. Outside ASCII a character
    may take two columns, so such lines are counted as if every character did."""
    width = len(line) if line.isascii() else 2 * len(line)
    return width > LINE_LENGTH


def fit_width(source: str, filename: str = "<generated>") -> str:
    """``source`` with every statement that holds a too wide line formatted by black."""
    lines = source.split("\n")
    wide = [n for n, line in enumerate(lines, 1) if too_wide(line)]
    if not wide:
        return source
    tree = ast.parse(source, filename=filename)
    mode = _black_mode()
    for start, end in sorted(_statements_holding(tree, wide), reverse=True):
        lines[start - 1 : end] = _formatted(lines[start - 1 : end], mode)
    return "\n".join(lines)


def format_with_black(source: str) -> str:
    """black over the whole module, with the target version generated code runs on."""
    import black

    return black.format_str(source, mode=_black_mode())


def _black_mode() -> black.Mode:
    import black  # only when needed: most builds never reach this
    from black.mode import TargetVersion

    return black.Mode(target_versions={TargetVersion.PY311}, line_length=LINE_LENGTH)


def _span(node: ast.stmt) -> tuple[int, int]:
    starts = [node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]
    return min(starts), node.end_lineno or node.lineno


def _statements_holding(tree: ast.Module, wide: list[int]) -> set[tuple[int, int]]:
    """For each wide line, the line span of the smallest statement that holds it; a span
    inside another chosen span is left to the outer one."""
    spans = [_span(n) for n in ast.walk(tree) if isinstance(n, ast.stmt)]
    chosen = set()
    for line in wide:
        holding = [s for s in spans if s[0] <= line <= s[1]]
        if holding:
            chosen.add(min(holding, key=lambda s: s[1] - s[0]))
    return {s for s in chosen if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in chosen)}


def _formatted(statement: list[str], mode: black.Mode) -> list[str]:
    """One statement formatted by black at its own depth: it is put inside as many
    ``class _:`` blocks as it is indented, and those lines are taken off again."""
    import black

    depth = (len(statement[0]) - len(statement[0].lstrip(" "))) // len(_INDENT)
    wrapper = [f"{_INDENT * level}class _:" for level in range(depth)]
    out = black.format_str("\n".join([*wrapper, *statement]) + "\n", mode=mode).split("\n")
    body = out[depth:]
    while body and not body[-1].strip():
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    return body
