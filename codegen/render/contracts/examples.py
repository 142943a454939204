"""Example values for payloads and route parameters, made from their types.

Every example is a value the server accepts: within its field's bounds, lengths and
pattern (a string for a pattern is built from the regex itself). The test suite sends
the example app's example frames to a running server, and checks every fixture's
examples with the runtime's decoder.
"""

from __future__ import annotations

import re
import warnings
from decimal import Decimal
from typing import Any, Final

from ...ir import (
    AppIR,
    Constraints,
    DictOf,
    EnumRef,
    FieldIR,
    ListOf,
    LiteralOf,
    Nullable,
    Prim,
    Ref,
    TypeIR,
    UnionOf,
)
from .schema import field_schema

with warnings.catch_warnings():
    # The regex parser is only public under its old, deprecated names; it is stable.
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sc
    import sre_parse

__all__ = ["Examples", "pattern_example"]

_FIXED: Final[dict[str, Any]] = {
    "bool": True,
    "none": None,
    "datetime": "2024-05-17T09:30:00Z",
    "date": "2024-05-17",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
}
_WORD: Final = "example"
_MAX_REPEAT: Final = 4  # repetitions tried beyond a quantifier's minimum


class Examples:
    """Examples for the payloads of one app."""

    def __init__(self, app: AppIR) -> None:
        self.payloads = {p.name: p for p in app.payloads}
        self.enums = {e.name: e for e in app.enums}

    def payload(self, name: str) -> dict[str, Any]:
        """Every field of payload ``name``: its default if it has one, else an example."""
        payload = self.payloads[name]
        return {f.name: self.field(f) for f in payload.fields}

    def field(self, field: FieldIR) -> Any:
        if field.default is not None:
            return field_schema(field, self.enums, lambda n: n)["default"]
        return self.value(field.type, field.name)

    def value(self, tp: TypeIR, name: str = "") -> Any:
        if isinstance(tp, Prim):
            return _prim(tp, name)
        if isinstance(tp, Nullable):
            return self.value(tp.inner, name)
        if isinstance(tp, ListOf):
            return [self.value(tp.item, name) for _ in range(_count(tp.constraints))]
        if isinstance(tp, DictOf):
            keys = [f"key{i + 1}" for i in range(_count(tp.constraints))]
            return {key: self.value(tp.value, name) for key in keys}
        if isinstance(tp, Ref):
            return self.payload(tp.name)
        if isinstance(tp, EnumRef):
            return self.enums[tp.name].members[0][1]
        if isinstance(tp, UnionOf):
            return self.payload(tp.members[0])
        if isinstance(tp, LiteralOf):
            return tp.values[0]
        raise TypeError(f"no example for {tp!r}")


def _count(c: Constraints) -> int:
    """One item, or as many as the bounds ask for."""
    wanted = max(1, c.min_len or 0)
    return wanted if c.max_len is None else min(wanted, c.max_len)


def _prim(tp: Prim, name: str) -> Any:
    c = tp.constraints
    if tp.name in _FIXED:
        return _FIXED[tp.name]
    if tp.name == "str":
        return _string(c, name)
    if tp.name == "int":
        return _within(c, 1, integral=True)
    if tp.name == "float":
        return float(_within(c, 1.5, integral=False))
    if tp.name == "decimal":
        value = _within(c, Decimal("12.50"), integral=False)
        return format(value if isinstance(value, Decimal) else Decimal(str(value)), "f")
    if tp.name == "bigint":
        return str(_within(c, 9007199254740993, integral=True))
    raise TypeError(f"no example for {tp!r}")


def _within(c: Constraints, preferred: Any, integral: bool) -> Any:
    """``preferred`` if the bounds allow it, else a value just inside them."""
    low = c.ge if c.ge is not None else c.gt
    high = c.le if c.le is not None else c.lt
    step = 1 if integral else Decimal("0.5")

    def ok(v: Any) -> bool:
        return (
            (c.ge is None or v >= c.ge)
            and (c.gt is None or v > c.gt)
            and (c.le is None or v <= c.le)
            and (c.lt is None or v < c.lt)
        )

    if ok(preferred):
        return preferred
    if low is not None and high is not None:
        middle = (Decimal(str(low)) + Decimal(str(high))) / 2
        return int(middle) if integral and ok(int(middle)) else middle
    if low is not None:
        return (int(low) if integral else Decimal(str(low))) + step
    assert high is not None
    return (int(high) if integral else Decimal(str(high))) - step


def _string(c: Constraints, name: str) -> str:
    low, high = c.min_len or 0, c.max_len
    if c.pattern is not None:
        found = pattern_example(c.pattern, low, high)
        if found is not None:
            return found
    text = name if name.isidentifier() and len(name) >= 3 else _WORD
    while len(text) < low:
        text += text
    return text[: high if high is not None and high < len(text) else max(low, len(text))]


def pattern_example(pattern: str, min_len: int = 0, max_len: int | None = None) -> str | None:
    """A string that ``pattern`` finds a match in, within the lengths, or None when none
    of the strings tried (each quantifier from its minimum up) qualifies."""
    try:
        parsed = sre_parse.parse(pattern)
        compiled = re.compile(pattern)
    except (re.error, TypeError):
        return None
    for extra in range(_MAX_REPEAT + 1):
        try:
            candidate = _expand(list(parsed.data), extra, {})
        except _Unsupported:
            return None
        if (
            min_len <= len(candidate)
            and (max_len is None or len(candidate) <= max_len)
            and compiled.search(candidate)
        ):
            return candidate
    return None


class _Unsupported(Exception):
    pass


def _expand(items: list[Any], extra: int, groups: dict[int, str]) -> str:
    out = []
    for op, arg in items:
        out.append(_one(op, arg, extra, groups))
    return "".join(out)


def _one(op: Any, arg: Any, extra: int, groups: dict[int, str]) -> str:
    if op is sc.LITERAL:
        return chr(arg)
    if op is sc.NOT_LITERAL:
        return "a" if chr(arg) != "a" else "b"
    if op is sc.ANY:
        return "a"
    if op is sc.IN:
        return _in(arg)
    if op in (sc.MAX_REPEAT, sc.MIN_REPEAT, getattr(sc, "POSSESSIVE_REPEAT", None)):
        low, high, body = arg
        times = low + extra if high is sc.MAXREPEAT or low + extra <= high else high
        return "".join(_expand(list(body.data), extra, groups) for _ in range(times))
    if op is sc.SUBPATTERN:
        group, _, _, body = arg
        text = _expand(list(body.data), extra, groups)
        if group is not None:
            groups[group] = text
        return text
    if op is sc.BRANCH:
        return _expand(list(arg[1][0].data), extra, groups)
    if op is sc.AT:
        return ""
    if op is sc.GROUPREF:
        return groups.get(arg, "")
    if op is getattr(sc, "ATOMIC_GROUP", None):
        return _expand(list(arg.data), extra, groups)
    raise _Unsupported(op)


_CATEGORY: Final = {
    sc.CATEGORY_DIGIT: "0",
    sc.CATEGORY_NOT_DIGIT: "a",
    sc.CATEGORY_SPACE: " ",
    sc.CATEGORY_NOT_SPACE: "a",
    sc.CATEGORY_WORD: "a",
    sc.CATEGORY_NOT_WORD: "-",
}


def _in(items: list[Any]) -> str:
    if items and items[0][0] is sc.NEGATE:
        excluded = {chr(a) for op, a in items[1:] if op is sc.LITERAL}
        ranges = [(lo, hi) for op, (lo, hi) in ((o, a) for o, a in items[1:] if o is sc.RANGE)]
        for candidate in "aZ0-_ .":
            if candidate not in excluded and not any(
                lo <= ord(candidate) <= hi for lo, hi in ranges
            ):
                return candidate
        raise _Unsupported(sc.NEGATE)
    for op, arg in items:
        if op is sc.LITERAL:
            return chr(arg)
        if op is sc.RANGE:
            low, high = arg
            return "a" if low <= ord("a") <= high else chr(low)
        if op is sc.CATEGORY:
            return _CATEGORY.get(arg) or "a"
    raise _Unsupported(sc.IN)
