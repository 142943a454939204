"""Specs as data: TOML and JSON files structured into the same spec model as Python specs.

A data spec describes one App. Its tables are structured by cattrs into small document
classes that mirror the spec classes (``App``, ``Route``, ``JsonWebsocketConsumer``,
``WebsocketDemultiplexer``, ``Handler``), with other objects referred to by name; then
the real spec objects are built, payloads as real ``@payload`` classes. From there on a
data spec is indistinguishable from a Python one, so it generates the same code and is
checked by the same resolver. docs/data-specs.md describes the format.

Every spec object carries the file and line of its key in the data file, so errors from
either stage point into the data file. Neither tomllib nor json reports positions, so
this module scans the text once more to find the line of every key and array item.
"""

from __future__ import annotations

import ast
import bisect
import datetime as dt
import decimal
import enum
import json
import keyword
import re
import tomllib
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import attrs
from cattrs import Converter
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)

from .errors import SpecError, SpecErrors
from .hints import data_kind, did_you_mean
from .spec import (
    App,
    Handler,
    JsonWebsocketConsumer,
    Location,
    Pattern,
    Route,
    WebsocketConsumer,
    WebsocketDemultiplexer,
    located_at,
    payload_at,
)

__all__ = ["DATA_SUFFIXES", "TYPE_NAMES", "load_data_spec"]

DATA_SUFFIXES = (".toml", ".json")

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
    "None": None,
}
_GENERICS = {"list": 1, "dict": 2}  # name -> number of type arguments
_LITERAL = "Literal"

Path_ = tuple[str | int, ...]  # a path inside the document: keys and array indices


# -- reading the document model -------------------------------------------------------


class _Mismatch(Exception):
    """A value of the wrong kind; the message says what was expected."""


_NO_DEFAULT: Any = type("_NoDefault", (), {"__repr__": lambda self: "<no default>"})()


@attrs.frozen(kw_only=True)
class _Items:
    """Constraints on the items of a list or the values of a dict: ``items = { max_len = 20 }``."""

    min_len: int | None = None
    max_len: int | None = None
    ge: int | float | None = None
    gt: int | float | None = None
    le: int | float | None = None
    lt: int | float | None = None
    pattern: str | None = None
    items: _Items | None = None


@attrs.frozen(kw_only=True)
class _Field:
    """A payload field written as a table: a type expression, constraints, a default."""

    type: str
    min_len: int | None = None
    max_len: int | None = None
    ge: int | float | None = None
    gt: int | float | None = None
    le: int | float | None = None
    lt: int | float | None = None
    pattern: str | None = None
    items: _Items | None = None
    default: Any = _NO_DEFAULT
    default_none: bool = False


_CONSTRAINTS = ("min_len", "max_len", "ge", "gt", "le", "lt", "pattern")
_FieldEntry = Union[str, _Field]  # noqa: UP007 (a runtime object cattrs dispatches on)


@attrs.frozen(kw_only=True)
class _Payload:
    doc: str = ""
    fields: dict[str, Any] = attrs.Factory(dict)  # each a _FieldEntry, structured one by one


def _mirror(
    spec_cls: type[Any], name: str, special: Mapping[str, tuple[Any, Any]], skip: set[str]
) -> type[Any]:
    """A document class with the fields of ``spec_cls``: names stand in for objects.

    ``special`` replaces a field's (type, default); fields in ``skip`` are left out.
    Fields the spec model gains later are accepted as they are, with the spec's types.
    """
    hints = typing.get_type_hints(spec_cls)
    fields: dict[str, Any] = {}
    for field in attrs.fields(spec_cls):
        if field.name in skip or field.name == "defined_at":
            continue
        if field.name in special:
            tp, default = special[field.name]
        else:
            tp, default = hints[field.name], field.default
        fields[field.name] = attrs.field(type=tp, default=default, kw_only=True)
    return attrs.make_class(name, fields, frozen=True)


_HandlerDoc = _mirror(
    Handler, "_HandlerDoc", {"payload": (str, attrs.NOTHING), "reply": (str | None, None)}, set()
)
_HandlerEntry = Union[str, _HandlerDoc]  # type: ignore[valid-type]  # noqa: UP007
_RouteDoc = _mirror(Route, "_RouteDoc", {"target": (str, attrs.NOTHING)}, set())


def _handler_mappings(spec_cls: type[Any]) -> tuple[str, ...]:
    """method_mapping, and any other message type -> Handler mapping of a consumer."""
    hints = typing.get_type_hints(spec_cls)
    return tuple(f.name for f in attrs.fields(spec_cls) if hints[f.name] == Mapping[str, Handler])


def _consumer_doc(spec_cls: type[Any], name: str) -> type[Any]:
    special: dict[str, tuple[Any, Any]] = {
        field: (dict[str, _HandlerEntry], attrs.Factory(dict))
        for field in _handler_mappings(spec_cls)
    }
    if "sends" in attrs.fields_dict(spec_cls):
        special["sends"] = (dict[str, str], attrs.Factory(dict))
    return _mirror(spec_cls, name, special, {"name"})


# Section name -> spec class, for every kind of consumer the spec model has.
_CONSUMER_KINDS: dict[str, type[Any]] = {
    "consumers": JsonWebsocketConsumer,
    "websocket_consumers": WebsocketConsumer,
}
_DemuxDoc = _mirror(
    WebsocketDemultiplexer,
    "_DemuxDoc",
    {"consumers": (dict[str, str], attrs.Factory(dict))},
    {"name"},
)
_AppDoc = _mirror(App, "_AppDoc", {"routes": (list[_RouteDoc], attrs.NOTHING)}, set())  # type: ignore[valid-type]


@attrs.frozen(kw_only=True)
class _EnumDoc:
    doc: str = ""
    members: dict[str, str | int]


_SECTIONS: dict[str, Any] = {
    "enums": _EnumDoc,
    "payloads": _Payload,
    **{
        section: _consumer_doc(cls, f"_{cls.__name__}Doc")
        for section, cls in _CONSUMER_KINDS.items()
    },
    "demultiplexers": _DemuxDoc,
}
_TOP_KEYS = ("app", *_SECTIONS)


@attrs.define
class _Document:
    """The structured parts of a data spec; entries that failed to structure are absent
    from their section but listed in ``names``, so references to them raise no more errors."""

    app: Any = None
    sections: dict[str, dict[str, Any]] = attrs.Factory(dict)
    names: dict[str, list[str]] = attrs.Factory(dict)

    @property
    def payloads(self) -> dict[str, Any]:
        return self.sections["payloads"]


def _structure(parsed: dict[str, Any]) -> tuple[_Document, list[_Problem]]:
    """Structure each entry on its own, so that one mistake hides no other."""
    document = _Document()
    problems: list[_Problem] = []
    for key in parsed:
        if key not in _TOP_KEYS:
            hint = did_you_mean(key, _TOP_KEYS) or f"known keys: {', '.join(_TOP_KEYS)}"
            problems.append(_Problem((key,), f"unknown key {key!r}", hint))
    for section, cls in _SECTIONS.items():
        raw = parsed.get(section, {})
        document.sections[section] = {}
        document.names[section] = list(raw) if type(raw) is dict else []
        if type(raw) is not dict:
            problems.append(_Problem((section,), f"expected a table, got {data_kind(raw)}"))
            continue
        for name, entry in raw.items():
            made = _structure_entry(entry, cls, (section, name), problems)
            if made is not None:
                document.sections[section][name] = made
    if "app" not in parsed:
        problems.append(
            _Problem(("app",), "missing required key 'app'", "add an [app] table", True)
        )
    else:
        document.app = _structure_entry(parsed["app"], _AppDoc, ("app",), problems)
    return document, problems


def _structure_entry(raw: Any, cls: Any, path: Path_, problems: list[_Problem]) -> Any:
    """``raw`` structured as ``cls``; on errors, what is left without the faulty keys.

    The partial object lets the later checks run, so one wrong key does not hide the
    mistakes around it. The caller never builds an App once there is a problem.
    """
    try:
        return _CONVERTER.structure(raw, cls)
    except Exception as exc:
        found = list(_problems(exc, path))
    problems.extend(found)
    if type(raw) is not dict:
        return None
    # Drop just the faulty values (or the tables missing a key), else whole top keys.
    deep = [p.path[len(path) :][: -1 if p.at_parent else None] for p in found]
    top = [p.path[len(path) :][:1] for p in found]
    for faulty in (deep, top):
        try:
            return _CONVERTER.structure(_without(raw, faulty), cls)
        except Exception:
            continue
    return None  # a required key is missing or wrong


def _without(raw: Any, paths: list[Path_]) -> Any:
    """A copy of ``raw`` without the values at ``paths`` (relative key/index paths)."""
    if any(len(p) == 0 for p in paths):
        raise ValueError("nothing left")
    if type(raw) is dict:
        return {
            k: _without(v, [p[1:] for p in paths if p[0] == k])
            for k, v in raw.items()
            if (k,) not in paths
        }
    if type(raw) is list:
        return [
            _without(v, [p[1:] for p in paths if p[0] == i])
            for i, v in enumerate(raw)
            if (i,) not in paths
        ]
    return raw


def _make_converter() -> Converter:
    """Strict: no coercion (a number is not a string), unknown keys are errors."""
    conv = Converter(forbid_extra_keys=True, detailed_validation=True)

    def scalar(tp: type[Any], what: str) -> Callable[[Any, Any], Any]:
        def structure(value: Any, _: Any) -> Any:
            if type(value) is tp or (tp is float and type(value) is int):
                return value
            raise _Mismatch(f"expected {what}, got {data_kind(value)}")

        return structure

    conv.register_structure_hook(str, scalar(str, "a string"))
    conv.register_structure_hook(int, scalar(int, "an integer"))
    conv.register_structure_hook(float, scalar(float, "a number"))
    conv.register_structure_hook(bool, scalar(bool, "true or false"))
    conv.register_structure_hook_factory(_is_sequence, lambda tp: _list_hook(conv, tp))
    conv.register_structure_hook_factory(_is_mapping, lambda tp: _dict_hook(conv, tp))
    conv.register_structure_hook_factory(_is_union, lambda tp: _union_hook(conv, tp))
    conv.register_structure_hook_factory(attrs.has, lambda tp: _table_hook(conv, tp))
    return conv


def _is_sequence(tp: Any) -> bool:
    return get_origin(tp) in (list, tuple, Sequence)


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) in (dict, Mapping)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, type(int | str))


def _list_hook(conv: Converter, tp: Any) -> Callable[[Any, Any], Any]:
    (item,) = get_args(tp)[:1] or (Any,)

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not list:
            raise _Mismatch(f"expected an array, got {data_kind(value)}")
        out, errors = [], []
        for index, element in enumerate(value):
            try:
                out.append(conv.structure(element, item))
            except Exception as exc:
                exc.__notes__ = [IterableValidationNote(f"@ [{index}]", index, item)]
                errors.append(exc)
        if errors:
            raise IterableValidationError("invalid items", errors, tp)
        return out

    return structure


def _dict_hook(conv: Converter, tp: Any) -> Callable[[Any, Any], Any]:
    args = get_args(tp)
    value_type = args[1] if len(args) == 2 else Any

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not dict:
            raise _Mismatch(f"expected a table, got {data_kind(value)}")
        out, errors = {}, []
        for key, element in value.items():
            try:
                out[key] = conv.structure(element, value_type)
            except Exception as exc:
                exc.__notes__ = [IterableValidationNote(f"@ [{key!r}]", key, value_type)]
                errors.append(exc)
        if errors:
            raise IterableValidationError("invalid entries", errors, tp)
        return out

    return structure


def _union_hook(conv: Converter, tp: Any) -> Callable[[Any, Any], Any]:
    """Pick the member by the kind of value: a string, a number, a table, null."""
    members = get_args(tp)

    def structure(value: Any, _: Any) -> Any:
        if value is None and type(None) in members:
            return None
        for member in members:
            if member is Any:
                return value
            if attrs.has(member) and type(value) is dict:
                return conv.structure(value, member)
            matches_number = member is float and type(value) is int
            if member is type(value) or matches_number:
                return value
        # null is left out: TOML has none, and it is rarely what a key wants.
        kinds = [_member_kind(m) for m in members if m is not type(None)]
        if "a number" in kinds and "an integer" in kinds:
            kinds.remove("an integer")
        expected = " or ".join(kinds)
        raise _Mismatch(f"expected {expected}, got {data_kind(value)}")

    return structure


def _member_kind(member: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if member in names:
        return names[member]
    if member is type(None):
        return "null"
    return "a table" if attrs.has(member) else getattr(member, "__name__", str(member))


def _table_hook(conv: Converter, tp: type[Any]) -> Callable[[Any, Any], Any]:
    inner = conv.gen_structure_attrs_fromdict(tp)

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not dict:
            raise _Mismatch(f"expected a table, got {data_kind(value)}")
        return inner(value, tp)

    return structure


_CONVERTER = _make_converter()


# -- errors ---------------------------------------------------------------------------


@attrs.frozen
class _Problem:
    path: Path_
    message: str
    hint: str = ""
    at_parent: bool = False  # the key is missing: point at the table that lacks it


def _problems(exc: BaseException, path: Path_ = ()) -> Iterator[_Problem]:
    """Flatten a cattrs error tree into located problems."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        for sub in exc.exceptions:
            notes = [n for n in getattr(sub, "__notes__", []) if hasattr(n, "name")]
            inotes = [n for n in getattr(sub, "__notes__", []) if hasattr(n, "index")]
            if notes:
                yield from _problems(sub, (*path, notes[0].name))
            elif inotes:
                yield from _problems(sub, (*path, inotes[0].index))
            else:
                yield from _problems(sub, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        allowed = sorted(f.name for f in attrs.fields(exc.cl))
        for key in sorted(exc.extra_fields):
            hint = did_you_mean(key, allowed) or f"known keys: {', '.join(allowed)}"
            yield _Problem((*path, key), f"unknown key {key!r}", hint)
    elif isinstance(exc, KeyError):
        missing = path[-1] if path else "?"
        yield _Problem(path, f"missing required key {missing!r}", "", at_parent=True)
    elif isinstance(exc, _Mismatch):
        yield _Problem(path, str(exc))
    else:
        yield _Problem(path, f"invalid value: {exc}")


def _render_path(path: Path_) -> str:
    parts = ["$"]
    for key in path:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            parts.append(f".{key}")
        else:
            parts.append("[" + json.dumps(key, ensure_ascii=False) + "]")
    return "".join(parts)


class _Lines:
    """Lines of document paths, with the nearest recorded ancestor as the fallback."""

    def __init__(self, file: Path, positions: Mapping[Path_, int]) -> None:
        self.file = str(file)
        self.positions = positions

    def line(self, path: Path_) -> int:
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return 1

    def at(self, path: Path_) -> Location:
        return Location(self.file, self.line(path))

    def error(self, problem: _Problem) -> SpecError:
        where = problem.path[:-1] if problem.at_parent else problem.path
        return SpecError(self.at(where), _render_path(problem.path), problem.message, problem.hint)


# -- positions: JSON ------------------------------------------------------------------


def _line_starts(text: str) -> list[int]:
    # "\n" ends a line (also in "\r\n"), as for tomllib, json and editors.
    return [0, *(m.end() for m in re.finditer("\n", text))]


_JSON_WS = re.compile(r"[ \t\r\n]*")
_JSON_SCALAR = re.compile(
    r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity"
)


def json_positions(text: str) -> tuple[dict[Path_, int], list[tuple[Path_, int]]]:
    """The line of every key and array item of valid JSON ``text``, and duplicate keys."""
    starts = _line_starts(text)
    positions: dict[Path_, int] = {}
    duplicates: list[tuple[Path_, int]] = []
    decoder = json.JSONDecoder()

    def line(index: int) -> int:
        return bisect.bisect_right(starts, index)

    def ws(index: int) -> int:
        match = _JSON_WS.match(text, index)
        return match.end() if match else index

    def value(index: int, path: Path_) -> int:
        char = text[index]
        if char == "{":
            index = ws(index + 1)
            if text[index] == "}":
                return index + 1
            while True:
                key, end = json.decoder.scanstring(text, index + 1)  # type: ignore[attr-defined]
                here = (*path, key)
                if here in positions:
                    # json.loads keeps the last value: forget the lines of the first.
                    duplicates.append((here, line(index)))
                    for known in [p for p in positions if p[: len(here)] == here]:
                        del positions[known]
                positions[here] = line(index)
                end = ws(ws(end) + 1)  # past ':'
                end = ws(value(end, here))
                if text[end] == ",":
                    index = ws(end + 1)
                    continue
                return end + 1
        if char == "[":
            index = ws(index + 1)
            if text[index] == "]":
                return index + 1
            item = 0
            while True:
                positions[(*path, item)] = line(index)
                end = ws(value(index, (*path, item)))
                item += 1
                if text[end] == ",":
                    index = ws(end + 1)
                    continue
                return end + 1
        if char == '"':
            return int(json.decoder.scanstring(text, index + 1)[1])  # type: ignore[attr-defined]
        match = _JSON_SCALAR.match(text, index)
        if match is None:  # not reached for text json.loads accepted
            return int(decoder.raw_decode(text, index)[1])
        return match.end()

    start = ws(0)
    positions[()] = line(start)
    value(start, ())
    return positions, duplicates


# -- positions: TOML ------------------------------------------------------------------

_TOML_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_SCALAR_END = re.compile(r"[,\]}\n#]")


class _TomlScanner:
    """Finds the line of every key, table and array item in valid TOML text.

    tomllib has already accepted the text, so this only tokenises: strings, comments,
    keys, headers, inline tables and arrays. Lines are exact for every key written in
    the file; a table created implicitly by a dotted key or header gets the line where
    it is first mentioned.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = _line_starts(text)
        self.index = 0
        self.positions: dict[Path_, int] = {(): 1}
        self.array_tables: dict[Path_, int] = {}  # path -> items so far

    def line(self, index: int | None = None) -> int:
        return bisect.bisect_right(self.starts, self.index if index is None else index)

    def peek(self, n: int = 1) -> str:
        return self.text[self.index : self.index + n]

    def skip_space(self, newlines: bool = False) -> None:
        while self.index < len(self.text):
            char = self.text[self.index]
            if char in " \t" or (newlines and char in "\r\n"):
                self.index += 1
            elif char == "#" and newlines:
                end = self.text.find("\n", self.index)
                self.index = len(self.text) if end < 0 else end
            else:
                return

    def record(self, path: Path_, line: int) -> None:
        for end in range(1, len(path) + 1):
            self.positions.setdefault(path[:end], line)

    def scan(self) -> dict[Path_, int]:
        table: Path_ = ()
        while True:
            self.skip_space(newlines=True)
            if self.index >= len(self.text):
                return self.positions
            line = self.line()
            if self.peek(2) == "[[":
                self.index += 2
                path = self._concrete(self.keys("]"))
                self.index += 2
                item = self.array_tables.get(path, 0)
                self.array_tables[path] = item + 1
                table = (*path, item)
                self.record(table, line)
            elif self.peek() == "[":
                self.index += 1
                table = self._concrete(self.keys("]"))
                self.index += 1
                self.record(table, line)
            else:
                self.key_value(table)

    def _concrete(self, keys: Path_) -> Path_:
        """A header's path with the current item of each array of tables on the way."""
        path: Path_ = ()
        for key in keys[:-1]:
            path = (*path, key)
            if path in self.array_tables:
                path = (*path, self.array_tables[path] - 1)
        return (*path, *keys[-1:])

    def keys(self, stop: str) -> Path_:
        keys: list[str | int] = []
        while True:
            self.skip_space()
            keys.append(self.key())
            self.skip_space()
            if self.peek() == ".":
                self.index += 1
                continue
            if self.text.startswith(stop, self.index):
                return tuple(keys)
            return tuple(keys)  # malformed: tomllib would have refused it

    def key(self) -> str:
        char = self.peek()
        if char == '"':
            return str(self.string())
        if char == "'":
            end = self.text.index("'", self.index + 1)
            key = self.text[self.index + 1 : end]
            self.index = end + 1
            return key
        match = _TOML_BARE_KEY.match(self.text, self.index)
        if match is None:
            self.index += 1
            return ""
        self.index = match.end()
        return match.group()

    def key_value(self, table: Path_) -> None:
        line = self.line()
        path = (*table, *self.keys("="))
        self.record(path, line)
        self.skip_space()
        self.index += 1  # '='
        self.skip_space()
        self.value(path)

    def value(self, path: Path_) -> None:
        char = self.peek()
        if char in "\"'":
            self.string()
        elif char == "{":
            self.index += 1
            while True:
                self.skip_space()
                if self.peek() == "}":
                    self.index += 1
                    return
                if self.peek() == ",":
                    self.index += 1
                    continue
                self.key_value(path)
        elif char == "[":
            self.index += 1
            item = 0
            while True:
                self.skip_space(newlines=True)
                if self.peek() == "]":
                    self.index += 1
                    return
                if self.peek() == ",":
                    self.index += 1
                    continue
                self.record((*path, item), self.line())
                self.value((*path, item))
                item += 1
        else:
            match = _TOML_SCALAR_END.search(self.text, self.index)
            self.index = len(self.text) if match is None else match.start()

    def string(self) -> str | None:
        """Skip a string of any of the four kinds; return a basic one-line key's text."""
        text = self.text
        for quote in ('"""', "'''"):
            if text.startswith(quote, self.index):
                end = self.index + 3
                while True:
                    end = text.index(quote, end)
                    if quote == '"""' and _escaped(text, end):
                        end += 1
                        continue
                    break
                # Up to two more quotes may close the string: """a""""" is 'a""'.
                end += 3
                while text.startswith(quote[0], end):
                    end += 1
                self.index = end
                return None
        quote = text[self.index]
        end = self.index + 1
        while text[end] != quote or (quote == '"' and _escaped(text, end)):
            end += 1
        raw = text[self.index : end + 1]
        self.index = end + 1
        if quote == "'":
            return raw[1:-1]
        try:
            return str(tomllib.loads(f"k = {raw}")["k"])
        except tomllib.TOMLDecodeError:
            return raw[1:-1]


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def toml_positions(text: str) -> dict[Path_, int]:
    return _TomlScanner(text).scan()


# -- reading a file -------------------------------------------------------------------


def _read(file: Path) -> tuple[Any, dict[Path_, int], list[SpecError]]:
    """The parsed document and its key lines, or a located syntax error."""
    where = str(file)
    data = file.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"the data spec is not UTF-8 text: {exc.reason} at byte {exc.start}"
        return None, {}, [SpecError(Location(where, line), "$", message, "save it as UTF-8")]
    text = text.removeprefix("\ufeff")
    if file.suffix == ".json":
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"invalid JSON: {exc.msg} (column {exc.colno})"
            return None, {}, [SpecError(Location(where, exc.lineno), "$", message, "")]
        positions, duplicates = json_positions(text)
        errors = [
            SpecError(
                Location(where, line),
                _render_path(path),
                f"duplicate key {path[-1]!r}",
                "JSON keeps only the last value; remove one",
            )
            for path, line in duplicates
        ]
        return parsed, positions, errors
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)$", str(exc))
        line = int(found.group(1)) if found else 1
        message = re.sub(r" \(at (line \d+, column \d+|end of document)\)$", "", str(exc))
        column = f" (column {found.group(2)})" if found else ""
        return None, {}, [SpecError(Location(where, line), "$", f"invalid TOML: {message}{column}")]
    return parsed, toml_positions(text), []


def load_data_spec(file: Path) -> App:
    """The App a TOML or JSON spec file describes; raises SpecErrors listing every problem."""
    file = file.resolve()
    parsed, positions, errors = _read(file)
    if parsed is None:
        raise SpecErrors(errors)
    lines = _Lines(file, positions)
    if type(parsed) is not dict:
        errors.append(
            SpecError(
                lines.at(()),
                "$",
                f"a data spec is a table (a JSON object), got {data_kind(parsed)}",
            )
        )
        raise SpecErrors(errors)
    document, problems = _structure(parsed)
    errors.extend(lines.error(p) for p in problems)
    builder = _Builder(document, lines)
    app = builder.build()
    errors.extend(builder.errors)
    if errors or app is None:
        raise SpecErrors(errors)
    return app


# -- type expressions -----------------------------------------------------------------


class _TypeSyntax(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@attrs.frozen
class _Name:
    name: str


@attrs.frozen
class _Generic:
    name: str  # list or dict
    args: tuple[_TypeNode, ...]


@attrs.frozen
class _Lit:
    values: tuple[str | int | bool, ...]


@attrs.frozen
class _Union:
    members: tuple[_TypeNode, ...]


_TypeNode = _Name | _Generic | _Lit | _Union

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<number>[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<punct>[\[\],|])
    )""",
    re.VERBOSE,
)


def parse_type(text: str) -> _TypeNode:
    """Parse a type expression such as ``list[Post] | None`` or ``Literal["a", 1]``."""
    tokens: list[tuple[str, str, int]] = []
    index = 0
    while index < len(text.rstrip()):
        match = _TOKEN.match(text, index)
        if match is None or match.end() == index:
            raise _TypeSyntax(
                f"unexpected {text[index:].strip()[:1]!r} at column {index + 1}",
                "write a type as in Python, e.g. list[Post] | None",
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind), match.start(kind) + 1))
        index = match.end()
    parser = _TypeParser(tokens)
    node = parser.union()
    if parser.position < len(tokens):
        _, value, column = tokens[parser.position]
        raise _TypeSyntax(f"unexpected {value!r} at column {column}")
    return node


class _TypeParser:
    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.position = 0

    def next(self, expected: str) -> tuple[str, str, int]:
        if self.position >= len(self.tokens):
            raise _TypeSyntax(f"the type ends early: expected {expected}")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def punct(self, char: str) -> None:
        _, value, column = self.next(repr(char))
        if value != char:
            raise _TypeSyntax(f"expected {char!r} at column {column}, found {value!r}")

    def at(self, char: str) -> bool:
        return self.position < len(self.tokens) and self.tokens[self.position][1] == char

    def union(self) -> _TypeNode:
        members = [self.term()]
        while self.at("|"):
            self.position += 1
            members.append(self.term())
        return members[0] if len(members) == 1 else _Union(tuple(members))

    def term(self) -> _TypeNode:
        kind, value, column = self.next("a type name")
        if kind != "name":
            raise _TypeSyntax(f"expected a type name at column {column}, found {value!r}")
        if value == _LITERAL:
            self.punct("[")
            values = [self.literal()]
            while self.at(","):
                self.position += 1
                values.append(self.literal())
            self.punct("]")
            return _Lit(tuple(values))
        if value in _GENERICS:
            if not self.at("["):
                arguments = "T" if _GENERICS[value] == 1 else "str, T"
                raise _TypeSyntax(f"{value} needs its item type", f"write {value}[{arguments}]")
            self.punct("[")
            args = [self.union()]
            while self.at(","):
                self.position += 1
                args.append(self.union())
            self.punct("]")
            if len(args) != _GENERICS[value]:
                raise _TypeSyntax(
                    f"{value}[...] takes {_GENERICS[value]} type argument(s), got {len(args)}"
                )
            return _Generic(value, tuple(args))
        return _Name(value)

    def literal(self) -> str | int | bool:
        kind, value, column = self.next("a literal value")
        if kind == "string":
            return str(ast.literal_eval(value))
        if kind == "number" and value.lstrip("+-").isdigit():
            return int(value)
        if value in ("true", "True"):
            return True
        if value in ("false", "False"):
            return False
        raise _TypeSyntax(
            f"Literal values are strings, integers or booleans; found {value!r} at column {column}"
        )


def _names_in(node: _TypeNode) -> Iterator[str]:
    if isinstance(node, _Name):
        yield node.name
    elif isinstance(node, _Generic):
        for arg in node.args:
            yield from _names_in(arg)
    elif isinstance(node, _Union):
        for member in node.members:
            yield from _names_in(member)


# -- building spec objects ------------------------------------------------------------


class _Builder:
    def __init__(self, document: _Document, lines: _Lines) -> None:
        self.doc = document
        self.lines = lines
        self.errors: list[SpecError] = []
        self.enums: dict[str, type[enum.Enum]] = {}
        self.payloads: dict[str, type[Any]] = {}
        self.consumers: dict[str, Any] = {}
        self.consumer_names = [n for s in _CONSUMER_KINDS for n in document.names[s]]

    def error(self, path: Path_, message: str, hint: str = "") -> None:
        self.errors.append(SpecError(self.lines.at(path), _render_path(path), message, hint))

    def at(self, path: Path_) -> Location:
        return self.lines.at(path)

    def build(self) -> App | None:
        self._enums()
        self._payloads()
        for section, spec_cls in _CONSUMER_KINDS.items():
            for name, doc in self.doc.sections[section].items():
                if name in self.consumers:
                    self.error(
                        (section, name),
                        f"consumer {name!r} is defined twice",
                        "consumer names are unique across kinds of consumers",
                    )
                self.consumers[name] = self._consumer(section, spec_cls, name, doc)
        demuxes = {
            name: self._demux(name, demux)
            for name, demux in self.doc.sections["demultiplexers"].items()
        }
        for name in sorted(set(self.consumer_names) & set(demuxes)):
            self.error(
                ("demultiplexers", name),
                f"{name!r} names both a consumer and a demultiplexer",
                "routes name their target, so give each a unique name",
            )
        app = self.doc.app
        if app is None:
            return None
        routes = []
        targets = [*self.consumer_names, *self.doc.names["demultiplexers"]]
        for index, route in enumerate(app.routes):
            path: Path_ = ("app", "routes", index)
            target: Any = self.consumers.get(route.target) or demuxes.get(route.target)
            if target is None and route.target not in targets:
                self.error(
                    (*path, "target"),
                    f"no consumer or demultiplexer named {route.target!r}",
                    did_you_mean(route.target, targets)
                    or f"defined: {', '.join(targets) or 'none'}",
                )
                continue
            routes.append(Route(**_options(route, {"target": target}), defined_at=self.at(path)))
        if self.errors:
            return None
        return App(**_options(app, {"routes": routes}), defined_at=self.at(("app",)))

    # -- consumers and demultiplexers -------------------------------------------------

    def _consumer(self, section: str, spec_cls: type[Any], name: str, doc: Any) -> Any:
        path: Path_ = (section, name)
        special: dict[str, Any] = {"name": name}
        for field in _handler_mappings(spec_cls):
            special[field] = {
                msg_type: self._handler(entry, (*path, field, msg_type))
                for msg_type, entry in getattr(doc, field).items()
            }
        if "sends" in attrs.fields_dict(spec_cls):
            special["sends"] = {
                event: self._payload_ref(payload, (*path, "sends", event))
                for event, payload in doc.sends.items()
            }
        return spec_cls(**_options(doc, special), defined_at=self.at(path))

    def _handler(self, entry: Any, path: Path_) -> Handler:
        if isinstance(entry, str):
            entry, where = _HandlerDoc(payload=entry), path
        else:
            where = (*path, "payload")
        payload = self._payload_ref(entry.payload, where)
        reply = None
        if entry.reply is not None:
            reply = self._payload_ref(entry.reply, (*path, "reply"))
        special = {"payload": payload, "reply": reply}
        return Handler(**_options(entry, special), defined_at=self.at(path))

    def _demux(self, name: str, doc: Any) -> WebsocketDemultiplexer:
        path: Path_ = ("demultiplexers", name)
        streams: dict[str, Any] = {}
        for stream, consumer in doc.consumers.items():
            found = self.consumers.get(consumer)
            if found is None and consumer not in self.consumer_names:
                self.error(
                    (*path, "consumers", stream),
                    f"no consumer named {consumer!r}",
                    did_you_mean(consumer, self.consumer_names)
                    or f"consumers: {', '.join(self.consumer_names) or 'none'}",
                )
                continue
            streams[stream] = found
        special = {"name": name, "consumers": streams}
        return WebsocketDemultiplexer(**_options(doc, special), defined_at=self.at(path))

    # -- enums --------------------------------------------------------------------------

    def _enums(self) -> None:
        for name, doc in self.doc.sections["enums"].items():
            path: Path_ = ("enums", name)
            if name in self.doc.names["payloads"]:
                self.error(path, f"{name!r} names both an enum and a payload", "rename one")
                continue
            try:
                made = enum.Enum(  # type: ignore[misc]
                    name, list(doc.members.items()), module=self._module(), qualname=name
                )
            except Exception as exc:  # e.g. a member name enum refuses
                self.error((*path, "members"), f"cannot build enum {name!r}: {exc}")
                continue
            made.__doc__ = doc.doc or None
            self.enums[name] = located_at(made, self.at(path))

    def _module(self) -> str:
        return f"_chgen_data_{Path(self.lines.file).stem}"

    def _payload_ref(self, name: str, path: Path_) -> Any:
        found = self.payloads.get(name)
        if found is None:
            known = self.doc.names["payloads"]
            if name not in known:
                self.error(
                    path,
                    f"no payload named {name!r}",
                    did_you_mean(name, known) or f"payloads: {', '.join(known) or 'none'}",
                )
            return None  # an unknown name, or a payload whose own errors were reported
        return found

    # -- payloads ---------------------------------------------------------------------

    def _payloads(self) -> None:
        """Parse every field type, then build the classes, dependencies first."""
        parsed: dict[str, dict[str, tuple[_TypeNode, Any]]] = {}
        deps: dict[str, set[str]] = {}
        payload_names = set(self.doc.names["payloads"])
        known = payload_names | set(self.doc.names["enums"])
        for name, payload in self.doc.payloads.items():
            fields: dict[str, tuple[_TypeNode, Any]] = {}
            deps[name] = set()
            for field_name, entry in payload.fields.items():
                path: Path_ = ("payloads", name, "fields", field_name)
                problems: list[_Problem] = []
                field = _structure_entry(entry, _FieldEntry, path, problems)
                self.errors.extend(self.lines.error(p) for p in problems)
                if field is None:
                    continue
                type_path = path if isinstance(field, str) else (*path, "type")
                if isinstance(field, str):
                    field = _Field(type=field)
                node = self._field_type(field, type_path, known)
                if node is not None and self._field_name(field_name, path):
                    fields[field_name] = (node, field)
                    deps[name].update(n for n in _names_in(node) if n in payload_names)
            parsed[name] = fields
        for name in _dependency_order(deps, self._cycle):
            names = {n for f in parsed[name].values() for n in _names_in(f[0])}
            if all(n in TYPE_NAMES or n in self.payloads or n in self.enums for n in names):
                self._make_payload(name, parsed[name])

    def _cycle(self, name: str, through: str) -> None:
        via = f" (through {through!r})" if through != name else ""
        self.error(
            ("payloads", name),
            f"payload {name!r} refers to itself{via}",
            "recursive payloads are not supported",
        )

    def _field_name(self, name: str, path: Path_) -> bool:
        if not name.isidentifier():
            self.error(path, f"field name {name!r} is not an identifier", "rename the field")
            return False
        if name == "self" or keyword.iskeyword(name):
            self.error(path, f"field name {name!r} is reserved in Python", "rename the field")
            return False
        return True

    def _field_type(self, field: _Field, path: Path_, known: set[str]) -> _TypeNode | None:
        try:
            node = parse_type(field.type)
        except _TypeSyntax as exc:
            self.error(path, f"invalid type {field.type!r}: {exc.message}", exc.hint)
            return None
        ok = True
        for name in _names_in(node):
            if name not in TYPE_NAMES and name not in known:
                choices = [*TYPE_NAMES, *_GENERICS, _LITERAL, *sorted(known)]
                within = f" in {field.type!r}" if field.type.strip() != name else ""
                self.error(
                    path,
                    f"unknown type {name!r}{within}",
                    did_you_mean(name, choices)
                    or f"use {', '.join(TYPE_NAMES)}, list[T], dict[str, T], Literal[...], "
                    "a payload or an enum",
                )
                ok = False
        return node if ok else None

    def _make_payload(self, name: str, fields: dict[str, tuple[_TypeNode, _Field]]) -> None:
        path: Path_ = ("payloads", name)
        annotations: dict[str, Any] = {}
        namespace: dict[str, Any] = {}
        locations: dict[str, Location] = {}
        for field_name, (node, field) in fields.items():
            where: Path_ = (*path, "fields", field_name)
            locations[field_name] = self.at(where)
            try:
                annotations[field_name] = _constrained(self._annotation(node), field)
            except _TypeSyntax as exc:  # only `items` on a type that is not a list
                self.error((*where, "items"), exc.message, exc.hint)
                continue
            if field.default_none:
                namespace[field_name] = None
            elif field.default is not _NO_DEFAULT:
                try:
                    namespace[field_name] = self._default(field.default, node)
                except _TypeSyntax as exc:
                    self.error((*where, "default"), exc.message, exc.hint)
        doc = self.doc.payloads[name].doc
        namespace.update(
            __annotations__=annotations,
            __module__=self._module(),
            __qualname__=name,
            __doc__=doc or None,
        )
        try:
            cls = type(name, (), namespace)
            self.payloads[name] = payload_at(cls, self.at(path), locations)
        except Exception as exc:  # attrs refuses the class, e.g. a clashing field name
            self.error(path, f"cannot build payload {name!r}: {exc}")

    def _default(self, value: Any, node: _TypeNode) -> Any:
        """The attrs default for a wire value: fresh empty containers, enum members."""
        if value == [] and type(value) is list:
            return attrs.Factory(list)
        if value == {} and type(value) is dict:
            return attrs.Factory(dict)
        members = node.members if isinstance(node, _Union) else (node,)
        enums = [
            self.enums[m.name] for m in members if isinstance(m, _Name) and m.name in self.enums
        ]
        if len(enums) == 1 and value is not None:
            try:
                return enums[0](value)
            except ValueError:
                values = ", ".join(repr(m.value) for m in enums[0])
                raise _TypeSyntax(
                    f"default {value!r} is not a value of {enums[0].__name__}",
                    f"write one of its values: {values}",
                ) from None
        return value

    def _annotation(self, node: _TypeNode) -> Any:
        if isinstance(node, _Name):
            if node.name in TYPE_NAMES:
                found = TYPE_NAMES[node.name]
                return type(None) if found is None else found
            return self.enums.get(node.name) or self.payloads[node.name]
        if isinstance(node, _Lit):
            return Literal.__getitem__(node.values)
        if isinstance(node, _Generic):
            args = tuple(self._annotation(a) for a in node.args)
            return list[args[0]] if node.name == "list" else dict[args[0], args[1]]  # type: ignore[valid-type]
        members = tuple(self._annotation(m) for m in node.members)
        return Union.__getitem__(members)


def _dependency_order(deps: Mapping[str, set[str]], cycle: Callable[[str, str], None]) -> list[str]:
    ordered: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle(name, chain[-1])
            return
        state[name] = 1
        for dep in sorted(deps[name]):
            if dep in deps:  # not: a payload that failed to structure, already reported
                visit(dep, [*chain, name])
        state[name] = 2
        ordered.append(name)

    for name in deps:
        visit(name, [name])
    return ordered


def _constraint_metadata(source: Any) -> list[Any]:
    factories: dict[str, Callable[[Any], Any]] = {
        "min_len": at.MinLen,
        "max_len": at.MaxLen,
        "ge": at.Ge,
        "gt": at.Gt,
        "le": at.Le,
        "lt": at.Lt,
        "pattern": Pattern,
    }
    return [
        factories[k](getattr(source, k)) for k in _CONSTRAINTS if getattr(source, k) is not None
    ]


def _constrained(tp: Any, source: Any) -> Any:
    """``tp`` annotated with the constraints of ``source`` (a _Field or _Items)."""
    if source.items is not None:
        tp = _constrain_items(tp, source.items)
    metadata = _constraint_metadata(source)
    if not metadata:
        return tp
    members = get_args(tp) if get_origin(tp) in (Union, type(int | str)) else ()
    if type(None) in members and len(members) == 2:
        # On `T | None` the constraints are T's: Annotated[T, ...] | None, as one writes it.
        (inner,) = [m for m in members if m is not type(None)]
        return Union[Annotated.__class_getitem__((inner, *metadata)), None]  # type: ignore[attr-defined]  # noqa: UP007
    return Annotated.__class_getitem__((tp, *metadata))  # type: ignore[attr-defined]


def _constrain_items(tp: Any, items: _Items) -> Any:
    """``tp`` with the items of its list, or the values of its dict, constrained."""
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        return list[_constrained(item, items)]  # type: ignore[misc]
    if get_origin(tp) is dict:
        key, value = get_args(tp)
        return dict[key, _constrained(value, items)]  # type: ignore[misc,valid-type]
    if get_origin(tp) in (Union, type(int | str)):
        members = get_args(tp)
        containers = [m for m in members if get_origin(m) in (list, dict)]
        if len(containers) == 1:
            rebuilt = tuple(
                _constrain_items(m, items) if m is containers[0] else m for m in members
            )
            return Union.__getitem__(rebuilt)
    raise _TypeSyntax(
        "items constrains the items of a list or the values of a dict, but the field is neither",
        "remove items, or make the type list[T] or dict[str, T]",
    )


def _options(doc: Any, special: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for a spec class: the document's own values, with ``special``."""
    values = {f.name: getattr(doc, f.name) for f in attrs.fields(type(doc))}
    values.update(special)
    return values
