"""The client's own checks of payloads: the spec's types and constraints as JavaScript.

Each payload and enum becomes a constant built from the functions of
templates/client/checks.ts (``$obj``, ``$scalar($str, $len(1, 2000))``...), which check
what the server's decoder checks, in the same order and with the same messages. A client
holds only the functions its constants use, so an app without datetimes carries no
datetime check, and a strict TypeScript project (``noUnusedLocals``) finds nothing unused.
The same constants serve client.ts and client.js: they are plain calls, typed by the
functions they call.
"""

from __future__ import annotations

import decimal
import re

import attrs

from chgen.runtime.codec import choices
from chgen.runtime.patterns import portable

from .. import naming
from ..ir import (
    AppIR,
    Constraints,
    ConsumerIR,
    DictOf,
    EnumRef,
    ListOf,
    LiteralOf,
    Nullable,
    PayloadIR,
    Prim,
    Ref,
    TypeIR,
    UnionOf,
)

__all__ = ["ClientChecks", "check_name", "kit_blocks"]

_BASES = {
    "str": "$str",
    "int": "$int",
    "float": "$num",
    "bool": "$bool",
    "none": "$null",
    "datetime": "$datetime",
    "date": "$date",
    "uuid": "$uuid",
    "decimal": "$decimal",
    "bigint": "$bigint",
}
# How a bound is compared: numbers as numbers, Decimals and BigInts exactly, as strings.
_COMPARE = {"decimal": "$dcmp", "bigint": "$bcmp"}
_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
_WIDTH = 80  # a payload's fields on one line up to about this width, else one per line


def check_name(name: str) -> str:
    """The constant checking payload or enum ``name`` (payload names never start with $)."""
    return f"${name}"


class ClientChecks:
    """The check constants of one app, and the check arguments of its stream classes."""

    def __init__(self, app: AppIR) -> None:
        self.app = app
        self._payloads = {p.name: p for p in app.payloads}

    def constants(self) -> str:
        """``const $Name = ...;`` for every enum, then every payload, dependencies first."""
        lines = ["// The spec's payloads, checked as the server checks them."]
        for e in self.app.enums:
            values = [v for _, v in e.members]
            lines.append(f"const {check_name(e.name)} = {self._oneof(values)};")
        for p in self.app.payloads:
            lines.append(f"const {check_name(p.name)} = {self._payload(p)};")
        return "\n".join(lines) + "\n"

    def stream_arguments(self, consumer: ConsumerIR) -> str:
        """The checks of each message (payload, reply) and of each event, as arguments."""
        messages = []
        for h in consumer.handlers:
            pair = [check_name(h.payload)] + ([check_name(h.reply)] if h.reply else [])
            messages.append(f"[{', '.join(pair)}]")
        events = [check_name(e.payload) for e in consumer.events]
        return f"[{', '.join(messages)}], [{', '.join(events)}]"

    # -- types ---------------------------------------------------------------------------

    def _payload(self, p: PayloadIR) -> str:
        fields = [f"{naming.ts_property(f.name)}: {self.check(f.type)}" for f in p.fields]
        optional = [naming.ts_str(f.name) for f in p.fields if f.default is not None]
        tail = f", [{', '.join(optional)}]" if optional else ""
        one_line = f"{{ {', '.join(fields)} }}" if fields else "{}"
        if len(p.name) + len(one_line) + len(tail) <= _WIDTH:
            return f"$obj({naming.ts_str(p.name)}, {one_line}{tail})"
        listed = "".join(f"  {field},\n" for field in fields)
        return f"$obj({naming.ts_str(p.name)}, {{\n{listed}}}{tail})"

    def check(self, tp: TypeIR) -> str:
        """The JavaScript expression checking a value of ``tp``."""
        if isinstance(tp, Prim):
            rules = _rules(tp.name, tp.constraints)
            return f"$scalar({', '.join([_BASES[tp.name], *rules])})"
        if isinstance(tp, ListOf):
            return f"$list({', '.join([self.check(tp.item), *_rules('list', tp.constraints)])})"
        if isinstance(tp, DictOf):
            return f"$map({', '.join([self.check(tp.value), *_rules('dict', tp.constraints)])})"
        if isinstance(tp, Nullable):
            return f"$nullable({self.check(tp.inner)})"
        if isinstance(tp, Ref | EnumRef):
            return check_name(tp.name)
        if isinstance(tp, LiteralOf):
            return self._oneof(list(tp.values))
        if isinstance(tp, UnionOf):
            return self._tagged(tp)
        raise TypeError(f"no client check for {tp!r}")

    def _oneof(self, values: list[str | int | bool]) -> str:
        listed = ", ".join(_js_value(v) for v in values)
        return f"$scalar($oneof([{listed}], {naming.ts_str(choices(values))}))"

    def _tagged(self, tp: UnionOf) -> str:
        tags = [self._tag_value(self._payloads[m], tp.tag) for m in tp.members]
        pairs = ", ".join(
            f"[{_js_value(t)}, {check_name(m)}]" for t, m in zip(tags, tp.members, strict=True)
        )
        return f"$tagged({naming.ts_str(tp.tag)}, [{pairs}], {naming.ts_str(choices(tags))})"

    @staticmethod
    def _tag_value(payload: PayloadIR, tag: str) -> str | int | bool:
        field = next(f for f in payload.fields if f.name == tag)
        assert isinstance(field.type, LiteralOf) and len(field.type.values) == 1
        return field.type.values[0]


def _rules(kind: str, c: Constraints) -> list[str]:
    """Constraint checks in the order the server runs them: length, bounds, pattern."""
    rules = []
    if c.min_len is not None or c.max_len is not None:
        args = [str(c.min_len or 0)] + ([str(c.max_len)] if c.max_len is not None else [])
        rules.append(f"$len({', '.join(args)})")
    for key, op in _BOUNDS:
        limit = getattr(c, key)
        if limit is not None:
            rules.append(_bound(kind, op, limit))
    if c.pattern is not None:
        source = portable(c.pattern).javascript
        regex = f"new RegExp({naming.ts_str(source)}, {naming.ts_str('u')})"
        rules.append(f"$match({regex}, {naming.ts_str(c.pattern)})")
    return rules


def _bound(kind: str, op: str, limit: int | float) -> str:
    text = naming.ts_str(str(limit))  # as the server writes it: f"must be {op} {limit}"
    compare = _COMPARE.get(kind)
    if compare is None:
        return f"$bound({naming.ts_str(op)}, {_js_number(limit)}, {text})"
    # The exact value of the bound, e.g. 0.1 is 0.1000000000000000055511151231257827...
    exact = str(limit) if type(limit) is int else format(decimal.Decimal(limit), "f")
    return f"$bound({naming.ts_str(op)}, {naming.ts_str(exact)}, {text}, {compare})"


def _js_number(value: int | float) -> str:
    return repr(value)  # shortest round-trip digits, which JavaScript reads as the same double


def _js_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return naming.ts_str(value)


# -- the functions a client holds ------------------------------------------------------------

_DECLARED = re.compile(r"^(?:export )?(?:function|type|const) (\$\w+)", re.M)
_NAMES = re.compile(r"\$\w+")


@attrs.frozen
class KitBlock:
    name: str
    text: str  # without "export "
    uses: frozenset[str]


def kit_blocks(source: str) -> dict[str, KitBlock]:
    """The declarations of checks.ts or checks.js by name, in file order. The file keeps
    one blank line between declarations and none inside one (see its header)."""
    blocks: dict[str, KitBlock] = {}
    for chunk in source.strip("\n").split("\n\n"):
        found = _DECLARED.search(chunk)
        if found is None:
            continue  # the file's header and imports
        text = re.sub(r"^export ", "", chunk, flags=re.M)
        name = found.group(1)
        blocks[name] = KitBlock(name, text, frozenset(_NAMES.findall(text)) - {name})
    return blocks


def kit_for(code: str, blocks: dict[str, KitBlock]) -> str:
    """The declarations ``code`` needs, with theirs, in the kit's order."""
    wanted: set[str] = set()
    todo = [n for n in _NAMES.findall(code) if n in blocks]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(n for n in blocks[name].uses if n in blocks)
    return "\n\n".join(b.text for name, b in blocks.items() if name in wanted) + "\n"
