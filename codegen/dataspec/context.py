"""What building the spec objects of one data spec shares: the document, its lines and
the errors found so far."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import SpecError
from ..spec import Location
from .document import Document
from .locations import DocPath, Lines, Problem, render_path

__all__ = ["BuildContext"]


class BuildContext:
    def __init__(self, document: Document, lines: Lines) -> None:
        self.doc = document
        self.lines = lines
        self.errors: list[SpecError] = []

    def error(self, path: DocPath, message: str, hint: str = "") -> None:
        self.errors.append(SpecError(self.at(path), render_path(path), message, hint))

    def report(self, problems: Iterable[Problem]) -> None:
        self.errors.extend(self.lines.error(p) for p in problems)

    def at(self, path: DocPath) -> Location:
        return self.lines.at(path)

    @property
    def module(self) -> str:
        """The ``__module__`` of the classes built from this file."""
        return f"_chgen_data_{Path(self.lines.file).stem}"
