"""The line of every key, table and array item of a TOML spec, from its syntax tree.

tomllib gives values without positions, and so does tomlkit (its issue #55 has asked
for positions since 2019); tomlkit-extras, which adds line numbers on top of tomlkit,
fails on dotted keys. tree-sitter's TOML grammar gives the exact position of every node
of the syntax tree, so this module walks that tree once tomllib has accepted the text.
It adds only what a syntax tree cannot know: the path a key stands for (dotted keys,
``[table]`` and ``[[array]]`` headers, the current item of an array of tables).

Lines are exact for every key written in the file. A table created implicitly (by a
dotted key, or by a header such as ``[payloads.Post]`` creating ``payloads``) gets the
line where it is first mentioned. Syntax the grammar does not know (TOML 1.1, should a
later tomllib accept it) leaves the keys inside it at their table's line.
"""

from __future__ import annotations

import tomllib

import tree_sitter_toml
from tree_sitter import Language, Node, Parser

from .locations import DocPath

__all__ = ["toml_positions"]

_PARSER = Parser(Language(tree_sitter_toml.language()))


def toml_positions(text: str) -> dict[DocPath, int]:
    """The 1-based line of every key, table and array item of ``text``, which tomllib
    accepted."""
    walk = _Walk()
    for node in _parts(_PARSER.parse(text.encode()).root_node):
        if node.type == "pair":
            walk.pair(node, ())
        elif node.type in ("table", "table_array_element"):
            walk.table(node)
    return walk.positions


class _Walk:
    def __init__(self) -> None:
        self.positions: dict[DocPath, int] = {(): 1}
        self.array_tables: dict[DocPath, int] = {}  # path -> items so far

    def record(self, path: DocPath, node: Node) -> None:
        for end in range(1, len(path) + 1):
            self.positions.setdefault(path[:end], node.start_point.row + 1)

    def table(self, node: Node) -> None:
        """``[a.b]`` or ``[[a.b]]`` and the pairs below it."""
        header, *pairs = _parts(node)
        path = self._concrete(_keys(header))
        if node.type == "table_array_element":
            item = self.array_tables.get(path, 0)
            self.array_tables[path] = item + 1
            path = (*path, item)
        self.record(path, node)
        for pair in pairs:
            self.pair(pair, path)

    def _concrete(self, keys: DocPath) -> DocPath:
        """A header's path with the current item of each array of tables on the way."""
        path: DocPath = ()
        for key in keys[:-1]:
            path = (*path, key)
            if path in self.array_tables:
                path = (*path, self.array_tables[path] - 1)
        return (*path, *keys[-1:])

    def pair(self, node: Node, table: DocPath) -> None:
        parts = _parts(node)
        if node.type != "pair" or len(parts) < 2:
            return  # syntax the grammar does not know
        path = (*table, *_keys(parts[0]))
        self.record(path, node)
        self.value(parts[1], path)

    def value(self, node: Node, path: DocPath) -> None:
        if node.type == "inline_table":
            for pair in _parts(node):
                self.pair(pair, path)
        elif node.type == "array":
            for index, item in enumerate(_parts(node)):
                self.record((*path, index), item)
                self.value(item, (*path, index))


def _parts(node: Node) -> list[Node]:
    """The named children that carry data (comments left out)."""
    return [child for child in node.named_children if child.type != "comment"]


def _keys(node: Node) -> tuple[str, ...]:
    """The keys a (possibly dotted) key node spells, unquoted."""
    if node.type == "dotted_key":
        return tuple(key for part in _parts(node) for key in _keys(part))
    text = (node.text or b"").decode("utf-8")
    if node.type == "quoted_key" and text.startswith('"'):
        return (str(tomllib.loads(f"k = {text}")["k"]),)  # escapes, as tomllib reads them
    if node.type == "quoted_key":
        return (text[1:-1],)
    return (text,)
