"""Type expressions of data specs, such as ``list[Post] | None``, read by Python's parser.

A field's type is written as a Python annotation, so the standard library's ``ast``
parses it. This module accepts the part of the grammar a data spec may use (names,
``list[T]``, ``dict[K, V]``, ``Literal[...]``, ``A | B``) and turns it into small type
nodes; which names exist is checked later, against the payloads and enums of the file.
Errors give the column (1-based, in characters of the expression as written) where it
helps, and a hint: ``set[int]`` suggests ``list[int]``, ``Optional[T]`` ``T | None``.
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import re
import uuid
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from ..hints import did_you_mean
from ..spec import BigInt, Int64

__all__ = [
    "GENERICS",
    "LITERAL",
    "TYPE_NAMES",
    "Generic",
    "Lit",
    "Name",
    "TypeNode",
    "TypeSyntax",
    "UnionType",
    "alternative",
    "names_in",
    "parse_type",
]

# The names a type expression may use besides payload names; as in Python annotations.
TYPE_NAMES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "datetime": dt.datetime,
    "date": dt.date,
    "UUID": uuid.UUID,
    "Decimal": decimal.Decimal,
    "BigInt": BigInt,
    "Int64": Int64,
    "None": None,
}
GENERICS = {"list": 1, "dict": 2}  # name -> number of type arguments
LITERAL = "Literal"

# Python spellings a data spec has no use for: `alternative` says what to write instead.
_LIKE_LIST = ("set", "frozenset", "tuple", "List", "Sequence", "Iterable")
_LIKE_DICT = ("Dict", "Mapping")
_SYNTAX_HINT = "write a type as in Python, e.g. list[Post] | None"
_CLOSERS = {"[": "]", "(": ")", "{": "}"}


class TypeSyntax(Exception):
    """A type expression a data spec cannot use; ``message`` says where and why."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@attrs.frozen
class Name:
    name: str
    column: int = attrs.field(default=1, eq=False)  # where it is written, for errors


@attrs.frozen
class Generic:
    name: str  # list or dict
    args: tuple[TypeNode, ...]


@attrs.frozen
class Lit:
    values: tuple[str | int | bool, ...]


@attrs.frozen
class UnionType:
    members: tuple[TypeNode, ...]


TypeNode = Name | Generic | Lit | UnionType


def parse_type(text: str) -> TypeNode:
    """Parse a type expression such as ``list[Post] | None`` or ``Literal["a", 1]``."""
    return _Reader(text).read()


def names_in(node: TypeNode) -> Iterator[Name]:
    """Every name a type expression uses, payloads and enums included."""
    if isinstance(node, Name):
        yield node
    elif isinstance(node, Generic):
        for arg in node.args:
            yield from names_in(arg)
    elif isinstance(node, UnionType):
        for member in node.members:
            yield from names_in(member)


def alternative(name: str, args: Sequence[str] = ()) -> str:
    """What to write instead of a Python type a data spec lacks, as a hint, or ``""``.

    ``args`` are the type arguments as written, e.g. ``["int"]`` for ``set[int]``.
    """
    if name in _LIKE_LIST:
        one = len(args) == 1 or (len(args) == 2 and args[1] == "...")  # tuple[int, ...]
        return f"write list[{args[0] if one else 'T'}] instead"
    if name in _LIKE_DICT:
        return f"write dict[{', '.join(args) if len(args) == 2 else 'str, T'}] instead"
    if name == "Optional":
        return f"write {args[0] if len(args) == 1 else 'T'} | None instead"
    if name == "Union":
        return f"write {' | '.join(args) if len(args) > 1 else 'A | B'} instead"
    return ""


class _Reader:
    """One type expression: its syntax tree, and the columns of its nodes."""

    def __init__(self, text: str) -> None:
        # One line, so that a column is an index into the text: a line break (a TOML
        # multi-line string) is whitespace anywhere, not only inside brackets.
        flat = text.replace("\r", " ").replace("\n", " ")
        self.source = flat.lstrip()
        self.shift = len(flat) - len(self.source)  # ast refuses leading whitespace

    def read(self) -> TypeNode:
        if not self.source.strip():
            raise TypeSyntax("the type is empty", "write a type, e.g. str or list[Post] | None")
        try:
            with warnings.catch_warnings():
                # Python warns of what it reads oddly (`1x`); the type is refused anyway.
                warnings.simplefilter("ignore", SyntaxWarning)
                tree = ast.parse(self.source, mode="eval")
        except SyntaxError as exc:
            raise self._syntax(exc) from None
        return self._type(tree.body)

    # -- positions --------------------------------------------------------------------

    def _column(self, node: ast.expr) -> int:
        before = self.source.encode()[: node.col_offset].decode()  # col_offset is in bytes
        return self.shift + len(before) + 1

    def _segment(self, node: ast.expr) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def _where(self, node: ast.expr) -> str:
        """`` at column N``, unless ``node`` is the whole expression."""
        whole = self._segment(node) == self.source.strip()
        return "" if whole else f" at column {self._column(node)}"

    def _syntax(self, exc: SyntaxError) -> TypeSyntax:
        offset = exc.offset or 0  # 1-based, in characters
        column = self.shift + offset
        unclosed = re.fullmatch(r"'(.)' was never closed", exc.msg)
        if unclosed:
            opener = unclosed.group(1)
            closer = _CLOSERS.get(opener, opener)
            return TypeSyntax(
                f"the type ends early: expected {closer!r} to close the {opener!r} "
                f"at column {column}",
                _SYNTAX_HINT,
            )
        if not 0 < offset <= len(self.source.rstrip()):
            return TypeSyntax("the type ends early", _SYNTAX_HINT)
        if exc.msg.startswith(("invalid syntax", "unmatched")):
            same_line = exc.end_lineno == exc.lineno and (exc.end_offset or 0) > offset
            end = (exc.end_offset or 0) if same_line else offset + 1
            found = self.source[offset - 1 : end - 1]
            return TypeSyntax(f"unexpected {found!r} at column {column}", _SYNTAX_HINT)
        message = re.sub(r" \(detected at line \d+\)$", "", exc.msg)
        return TypeSyntax(f"{message} at column {column}", _SYNTAX_HINT)

    # -- the grammar of data spec types -----------------------------------------------

    def _type(self, node: ast.expr) -> TypeNode:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return UnionType(tuple(self._members(node)))
        if isinstance(node, ast.Constant) and node.value is None:
            return Name("None", self._column(node))
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            return self._subscript(node, node.value.id)
        raise self._unexpected(node)

    def _members(self, node: ast.expr) -> Iterator[TypeNode]:
        """The members of ``A | B | C``, however it is grouped."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            yield from self._members(node.left)
            yield from self._members(node.right)
        else:
            yield self._type(node)

    def _name(self, node: ast.Name) -> Name:
        if node.id == LITERAL:
            raise TypeSyntax(
                f"Literal needs its values{self._where(node)}", 'write Literal["a", "b"]'
            )
        if node.id in GENERICS:
            arguments = "T" if GENERICS[node.id] == 1 else "str, T"
            raise TypeSyntax(f"{node.id} needs its item type", f"write {node.id}[{arguments}]")
        return Name(node.id, self._column(node))

    def _subscript(self, node: ast.Subscript, name: str) -> TypeNode:
        args = _arguments(node)
        if name == LITERAL:
            return Lit(tuple(self._literal(arg) for arg in args))
        if name in GENERICS:
            if len(args) != GENERICS[name]:
                arguments = "T" if GENERICS[name] == 1 else "str, T"
                raise TypeSyntax(
                    f"{name}[...] takes {GENERICS[name]} type argument(s), got {len(args)}"
                    f"{self._where(node)}",
                    f"write {name}[{arguments}]",
                )
            return Generic(name, tuple(self._type(arg) for arg in args))
        written = f"{self._segment(node)!r}{self._where(node)}"
        instead = alternative(name, [self._segment(arg) for arg in args])
        if instead:
            raise TypeSyntax(f"unsupported type {written}", instead)
        raise TypeSyntax(
            f"{name!r} takes no type arguments, in {written}",
            did_you_mean(name, [*GENERICS, LITERAL])
            or "only list[...], dict[...] and Literal[...] take arguments",
        )

    def _literal(self, node: ast.expr) -> str | int | bool:
        value = _literal_value(node)
        if value is None:
            raise TypeSyntax(
                "Literal values are strings, integers or booleans; "
                f"found {self._segment(node)!r} at column {self._column(node)}",
                'e.g. Literal["a", 1, true]',
            )
        return value

    def _unexpected(self, node: ast.expr) -> TypeSyntax:
        hint = _SYNTAX_HINT
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            hint = f"write the name without quotes: {node.value}"
        elif isinstance(node, ast.List) and len(node.elts) == 1:
            hint = f"write list[{self._segment(node.elts[0])}]"
        elif isinstance(node, ast.Attribute):
            hint = f"write the name without its module: {node.attr}"
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
            written = [self._segment(arg) for arg in _arguments(node)]
            hint = alternative(node.value.attr, written) or (
                f"write the name without its module: {node.value.attr}[...]"
            )
        found = self._segment(node)
        return TypeSyntax(f"expected a type name{self._where(node)}, found {found!r}", hint)


def _arguments(node: ast.Subscript) -> list[ast.expr]:
    """The type arguments of ``X[...]``: ``X[a, b]`` has two, ``X[a]`` one."""
    items = node.slice
    return list(items.elts) if isinstance(items, ast.Tuple) else [items]


def _literal_value(node: ast.expr) -> str | int | bool | None:
    """A value of ``Literal[...]``, as Python reads it, or None for anything else."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        number = node.operand
        if not (isinstance(number, ast.Constant) and type(number.value) is int):
            return None  # only an integer takes a sign
        return -number.value if isinstance(node.op, ast.USub) else number.value
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):  # bool is an int
        return node.value
    if isinstance(node, ast.Name) and node.id in ("true", "false"):
        return node.id == "true"  # JSON's spelling, as TOML's
    return None
