"""Where a problem in a data spec is: its ``$.`` path and the line of the file it points at.

A problem found while reading the document is a ``Problem`` with a path of keys and array
indices; ``Lines`` turns it into a ``SpecError`` at the line of that key (or of the
nearest enclosing key the file spells out).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import attrs

from ..errors import SpecError
from ..spec import Location

__all__ = ["DocPath", "Lines", "Problem", "render_path"]

DocPath = tuple[str | int, ...]  # a path inside the document: keys and array indices

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class Problem:
    """A mistake at ``path`` inside the document, not yet given a line."""

    path: DocPath
    message: str
    hint: str = ""
    at_parent: bool = False  # the key is missing: point at the table that lacks it


def render_path(path: DocPath) -> str:
    """``$.payloads.Post.fields["odd key"][0]``: keys as in a JSONPath."""
    parts = ["$"]
    for key in path:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _IDENTIFIER.fullmatch(key):
            parts.append(f".{key}")
        else:
            parts.append("[" + json.dumps(key, ensure_ascii=False) + "]")
    return "".join(parts)


class Lines:
    """Lines of document paths, with the nearest recorded ancestor as the fallback."""

    def __init__(self, file: Path, positions: Mapping[DocPath, int]) -> None:
        self.file = str(file)
        self.positions = positions

    def line(self, path: DocPath) -> int:
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return 1

    def at(self, path: DocPath) -> Location:
        return Location(self.file, self.line(path))

    def error(self, problem: Problem) -> SpecError:
        where = problem.path[:-1] if problem.at_parent else problem.path
        return SpecError(self.at(where), render_path(problem.path), problem.message, problem.hint)
