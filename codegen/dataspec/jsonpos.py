"""The line of every key and array item of a JSON spec, and its duplicate keys.

json gives values without positions, and no library that gives them is good enough:
json-source-map (last release 2022) neither unescapes keys nor escapes ``/`` in its
pointers, and keeps stale entries for duplicate keys; tree-sitter's JSON grammar, as
released (0.24.8), misreads numbers such as ``1e+16``, which json writes. So this module
reads the text once more with the standard library's own pieces: ``scanstring`` for
keys and strings, ``raw_decode`` for anything else, once json.loads has accepted it.
"""

from __future__ import annotations

import bisect
import json
import re

from .locations import DocPath

__all__ = ["json_positions"]

_WHITESPACE = re.compile(r"[ \t\r\n]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity")


def json_positions(text: str) -> tuple[dict[DocPath, int], list[tuple[DocPath, int]]]:
    """The 1-based line of every key and array item of ``text`` (JSON that json.loads
    accepted), and each key written twice in one object with the line of the repeat."""
    reader = _Reader(text)
    start = reader.skip(0)
    reader.positions[()] = reader.line(start)
    reader.value(start, ())
    return reader.positions, reader.duplicates


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        # "\n" ends a line (also in "\r\n"), as for json and editors.
        self.starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.positions: dict[DocPath, int] = {}
        self.duplicates: list[tuple[DocPath, int]] = []

    def line(self, index: int) -> int:
        return bisect.bisect_right(self.starts, index)

    def skip(self, index: int) -> int:
        """The index after the whitespace at ``index``."""
        match = _WHITESPACE.match(self.text, index)
        return match.end() if match else index

    def value(self, index: int, path: DocPath) -> int:
        """Record the value at ``index`` and what it holds; return the index after it."""
        char = self.text[index]
        if char == "{":
            return self.members(self.skip(index + 1), path)
        if char == "[":
            return self.items(self.skip(index + 1), path)
        if char == '"':
            return _string(self.text, index)[1]
        match = _SCALAR.match(self.text, index)
        if match is None:  # not reached for text json.loads accepted
            return int(json.JSONDecoder().raw_decode(self.text, index)[1])
        return match.end()

    def members(self, index: int, path: DocPath) -> int:
        """The members of an object from ``index``, past its ``{``."""
        while self.text[index] != "}":
            key, end = _string(self.text, index)
            self.key((*path, key), self.line(index))
            end = self.skip(self.skip(end) + 1)  # past ':'
            end = self.skip(self.value(end, (*path, key)))
            index = self.skip(end + 1) if self.text[end] == "," else end
        return index + 1

    def key(self, here: DocPath, line: int) -> None:
        if here in self.positions:
            # json.loads keeps the last value: forget the lines of the first.
            self.duplicates.append((here, line))
            for known in [p for p in self.positions if p[: len(here)] == here]:
                del self.positions[known]
        self.positions[here] = line

    def items(self, index: int, path: DocPath) -> int:
        """The items of an array from ``index``, past its ``[``."""
        item = 0
        while self.text[index] != "]":
            self.positions[(*path, item)] = self.line(index)
            end = self.skip(self.value(index, (*path, item)))
            item += 1
            index = self.skip(end + 1) if self.text[end] == "," else end
        return index + 1


def _string(text: str, index: int) -> tuple[str, int]:
    """The JSON string starting at ``index`` (its quote) and the index after it."""
    value, end = json.decoder.scanstring(text, index + 1)  # type: ignore[attr-defined]
    return str(value), int(end)
