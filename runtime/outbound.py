"""Outgoing payloads: checked against their schema, then written in their wire form.

A handler's reply and every event go through ``encoder(Payload)``. What it writes is what
the server's own decoder accepts (tests/test_outbound.py holds the two to it), so the
socket never carries a malformed frame. A value that does not fit its field raises
``InvalidPayload`` where it is encoded, naming each wrong field by its ``$.data`` path.

Two functions serve each type, as for incoming payloads (``lean``): a compiled one for the
usual, valid payload, which checks and writes every field in one pass and raises at the
first problem; and ``explain``, run only after a refusal, which walks the same checks
and locates every problem.
"""

from __future__ import annotations

import decimal
import enum
import functools
import keyword
import linecache
import types
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Final, Literal, NoReturn, Union, get_args, get_origin

import attrs

from .constraints import constraint_checks
from .protocol import Detail
from .values import (
    DUMPERS,
    MAX_SAFE_INTEGER,
    SURROGATE,
    BigIntText,
    Mismatch,
    dump_bigint,
    dump_str,
)

__all__ = ["Encoder", "InvalidPayload", "encoder"]

Encoder = Callable[[Any], Any]
Dump = Callable[[Any], Any]


class InvalidPayload(ValueError):
    """An outgoing payload does not fit its schema; nothing was sent. ``details`` locate
    each problem (``$.data.text``) as an error reply would: fix the value at the call
    site (a handler's ``return``, ``send_<event>``, ``group_send_<event>``)."""

    def __init__(self, name: str, details: tuple[Detail, ...]) -> None:
        listed = "; ".join(f"{d.path}: {d.message}" for d in details)
        super().__init__(f"invalid {name} payload: {listed}")
        self.details = details


def encoder(tp: Any) -> Encoder:
    """A function turning a value of ``tp`` (usually a payload class) into JSON-ready
    data; it raises ``InvalidPayload`` for a value that does not fit. Made once per type."""
    made = _ENCODERS.get(tp)
    if made is None:
        made = _ENCODERS[tp] = _encoder(tp)
    return made


_ENCODERS: Final[dict[Any, Encoder]] = {}


def _encoder(tp: Any) -> Encoder:
    node = _node(tp)
    name = getattr(tp, "__name__", None) or repr(tp)

    def fail(value: Any) -> NoReturn:
        details = tuple(node.explain(value, "$.data"))
        if not details:  # the checks disagree: a bug, but never send what failed
            details = (Detail("$.data", "invalid value"),)
        raise InvalidPayload(name, details) from None

    if node.guarded is not None:  # a payload class: its own function, without a wrapper
        return node.guarded(fail)

    def encode(value: Any) -> Any:
        try:
            return node.dump(value)
        except Exception:
            fail(value)

    return encode


@attrs.frozen
class _Node:
    """How one type is written: ``dump`` (fast, raises) and ``explain`` (locates).
    ``guarded(fail)``, for a payload class, is ``dump`` calling ``fail`` on a refusal."""

    dump: Dump
    explain: Callable[[Any, str], Iterable[Detail]]
    guarded: Callable[[Callable[[Any], NoReturn]], Dump] | None = None


def _leaf(dump: Dump) -> _Node:
    def explain(value: Any, path: str) -> Iterable[Detail]:
        try:
            dump(value)
        except Exception as exc:
            yield Detail(path, _describe(exc))

    return _Node(dump, explain)


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, Mismatch) else "invalid value"


@functools.cache
def _node(tp: Any) -> _Node:
    if tp is None:  # an annotation `None` that nothing resolved to NoneType
        tp = type(None)
    if tp in DUMPERS:
        return _leaf(DUMPERS[tp])
    origin = get_origin(tp)
    if origin is Annotated:
        return _annotated(tp)
    if origin is Literal:
        return _literal(get_args(tp))
    if origin is list:
        return _list(_node(get_args(tp)[0]))
    if origin is dict:
        return _dict(_node(get_args(tp)[1]))
    if origin in (Union, types.UnionType):
        return _union(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(tp)
    if isinstance(tp, type) and attrs.has(tp):
        return _payload(tp)
    raise TypeError(f"no wire form for {tp!r}")


def _annotated(tp: Any) -> _Node:
    base, *metadata = get_args(tp)
    bigint = any(isinstance(m, BigIntText) for m in metadata)
    inner = _leaf(dump_bigint) if bigint and base is int else _node(base)
    checks = constraint_checks(metadata)
    if not checks:
        return inner
    # Constraints apply to the Python value of a BigInt or Decimal (their wire form is a
    # string) and to the written value otherwise (a float field's int, as a float).
    on_value = bigint or base is decimal.Decimal

    def dump(value: Any) -> Any:
        written = inner.dump(value)
        if written is not None:  # Annotated[T | None, ...] constrains T, not None
            subject = value if on_value else written
            for check in checks:
                check(subject)
        return written

    def explain(value: Any, path: str) -> Iterable[Detail]:
        problems = list(inner.explain(value, path))
        if problems:
            yield from problems
            return
        yield from _leaf(dump).explain(value, path)

    return _Node(dump, explain)


def _literal(values: tuple[Any, ...]) -> _Node:
    table = {(type(v), v) for v in values}
    choices = ", ".join(_json(v) for v in values)

    def dump(value: Any) -> Any:
        try:
            known = (type(value), value) in table
        except TypeError:  # unhashable
            known = False
        if not known:
            raise Mismatch(f"expected one of {choices}")
        return value

    return _leaf(dump)


def _json(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _enum(cls: type[enum.Enum]) -> _Node:
    choices = ", ".join(m.name for m in cls)

    def dump(value: Any) -> Any:
        if type(value) is not cls:
            raise Mismatch(f"expected a {cls.__name__} member ({choices}), got {_kind(value)}")
        return value.value

    return _leaf(dump)


def _kind(value: Any) -> str:
    return type(value).__name__


def _list(item: _Node) -> _Node:
    dump_item = item.dump

    def dump(value: Any) -> list[Any]:
        if type(value) is not list:
            raise Mismatch(f"expected a list, got {_kind(value)}")
        return [dump_item(x) for x in value]

    def explain(value: Any, path: str) -> Iterable[Detail]:
        if type(value) is not list:
            yield Detail(path, f"expected a list, got {_kind(value)}")
            return
        for i, x in enumerate(value):
            yield from item.explain(x, f"{path}[{i}]")

    return _Node(dump, explain)


def _dict(item: _Node) -> _Node:
    dump_item = item.dump

    def dump(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise Mismatch(f"expected a dict, got {_kind(value)}")
        return {dump_str(k): dump_item(x) for k, x in value.items()}

    def explain(value: Any, path: str) -> Iterable[Detail]:
        if type(value) is not dict:
            yield Detail(path, f"expected a dict, got {_kind(value)}")
            return
        for k, x in value.items():
            where = f"{path}{index(k)}" if type(k) is str else f"{path}[{k!r}]"
            key_problems = list(_leaf(dump_str).explain(k, where))
            yield from key_problems
            if not key_problems:
                yield from item.explain(x, where)

    return _Node(dump, explain)


def index(key: Any) -> str:
    """The path step to ``key``: ``[3]``, ``.name`` for an ASCII identifier (the JavaScript
    client writes the same), else ``["quoted \\" key"]``."""
    if isinstance(key, int):
        return f"[{key}]"
    if isinstance(key, str) and key.isascii() and key.isidentifier():
        return f".{key}"
    escaped = str(key).replace("\\", "\\\\").replace('"', '\\"')
    return f'["{escaped}"]'


def _union(tp: Any) -> _Node:
    members = [a for a in get_args(tp) if a is not type(None)]
    nullable = len(members) < len(get_args(tp))
    if len(members) == 1:
        return _optional(_node(members[0]))
    by_type = {m: _node(m) for m in members}
    names = ", ".join(m.__name__ for m in members)

    def choose(value: Any) -> _Node:
        found = by_type.get(type(value))
        if found is None:
            expected = f"one of {names}" + (" or None" if nullable else "")
            raise Mismatch(f"expected {expected}, got {_kind(value)}")
        return found

    def dump(value: Any) -> Any:
        if value is None and nullable:
            return None
        return choose(value).dump(value)

    def explain(value: Any, path: str) -> Iterable[Detail]:
        if value is None and nullable:
            return
        try:
            node = choose(value)
        except Mismatch as exc:
            yield Detail(path, str(exc))
            return
        yield from node.explain(value, path)

    return _Node(dump, explain)


def _optional(inner: _Node) -> _Node:
    dump_inner = inner.dump

    def dump(value: Any) -> Any:
        return None if value is None else dump_inner(value)

    def explain(value: Any, path: str) -> Iterable[Detail]:
        if value is not None:
            yield from inner.explain(value, path)

    return _Node(dump, explain)


# -- payload classes ---------------------------------------------------------------------

# Inline tests of the JSON scalars: a Python expression true when ``v`` is wrong. They
# refuse exactly what values.DUMPERS refuses (tests/test_outbound.py compares them).
_INLINE: Final[dict[Any, str]] = {
    str: "type({v}) is not str or not {v}.isascii() and _surrogate({v}) is not None",
    int: f"type({{v}}) is not int or {{v}} > {MAX_SAFE_INTEGER} or {{v}} < -{MAX_SAFE_INTEGER}",
    bool: "type({v}) is not bool",
    type(None): "{v} is not None",
}


def _payload(cls: type[Any]) -> _Node:
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    nodes = {f.name: _node(f.type) for f in fields}
    compiled = _compiled(cls, fields, nodes)
    dump = compiled or _generic(cls, fields, nodes)
    guarded = None
    if compiled is not None:

        def guarded(fail: Callable[[Any], NoReturn]) -> Dump:
            return _compiled(cls, fields, nodes, fail) or dump

    def explain(value: Any, path: str) -> Iterable[Detail]:
        if type(value) is not cls:
            yield Detail(path, f"expected a {cls.__name__}, got {_kind(value)}")
            return
        for field in fields:
            name = field.name
            yield from nodes[name].explain(getattr(value, name), path + index(name))

    return _Node(dump, explain, guarded)


def _generic(cls: type[Any], fields: Any, nodes: dict[str, _Node]) -> Dump:
    pairs = [(f.name, nodes[f.name].dump) for f in fields]

    def dump(value: Any) -> dict[str, Any]:
        if type(value) is not cls:
            raise Mismatch(f"expected a {cls.__name__}")
        return {name: write(getattr(value, name)) for name, write in pairs}

    return dump


def _compiled(
    cls: type[Any], fields: Any, nodes: dict[str, _Node], fail: Callable[[Any], Any] | None = None
) -> Dump | None:
    """One function writing a ``cls`` instance, with JSON scalars checked inline; with
    ``fail``, one that calls ``fail(o)`` instead of raising (no wrapper around it: a
    try statement costs nothing until something raises)."""
    if any(not f.name.isidentifier() or keyword.iskeyword(f.name) for f in fields):
        return None
    names: dict[str, Any] = {"_cls": cls, "_surrogate": SURROGATE.search, "_Refused": Mismatch}
    body = ["if type(o) is not _cls:", "    raise _Refused"]
    for i, field in enumerate(fields):
        var = f"v{i}"
        body.append(f"{var} = o.{field.name}")
        body.extend(_field_lines(var, field.type, nodes[field.name], f"f{i}", names))
    items = ", ".join(f"{f.name!r}: v{i}" for i, f in enumerate(fields))
    body.append(f"return {{{items}}}")
    if fail is not None:
        names["_fail"] = fail
        body = ["try:", *(f"    {line}" for line in body), "except Exception:", "    _fail(o)"]
    name = f"dump_{cls.__name__}"
    source = f"def {name}(o):\n" + "".join(f"    {line}\n" for line in body)
    kind = "dump" if fail is None else "encode"
    filename = f"<chgen {kind} {cls.__module__}.{cls.__qualname__}>"
    # Kept in linecache so tracebacks and profilers can show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), names)  # the source names fields only
    function: Dump = names[name]
    return function


def _field_lines(var: str, tp: Any, node: _Node, slot: str, names: dict[str, Any]) -> list[str]:
    base: Any = tp
    metadata: tuple[Any, ...] = ()
    if get_origin(tp) is Annotated:
        base, *rest = get_args(tp)
        metadata = tuple(rest)
    inline = _INLINE.get(type(None) if base is None else base)
    if inline is None or any(isinstance(m, BigIntText) for m in metadata):
        names[f"dump_{slot}"] = node.dump
        return [f"{var} = dump_{slot}({var})"]
    lines = [f"if {inline.format(v=var)}:", "    raise _Refused"]
    for k, check in enumerate(constraint_checks(metadata)):
        names[f"check_{slot}_{k}"] = check
        lines.append(f"check_{slot}_{k}({var})")
    return lines
