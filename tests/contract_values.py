"""Hypothesis strategies for payload data as a client might send it: mostly plausible,
often just outside a bound or a canonical form, sometimes of the wrong JSON kind.

Nothing here decides what is valid: the runtime's decoder and the JSON Schema each say
so, and the agreement test compares them. The strategies only make sure that both
sides of every bound and form come up.
"""

from __future__ import annotations

import re
import string
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from chgen.ir import (
    AppIR,
    Constraints,
    DictOf,
    EnumRef,
    ListOf,
    LiteralOf,
    Nullable,
    Prim,
    Ref,
    TypeIR,
    UnionOf,
)
from chgen.render.contracts.examples import pattern_example
from chgen.render.contracts.regex import schema_pattern

SAFE = 2**53 - 1
ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)


class Values:
    """Strategies for the payloads of one app. A payload has at most one "wild" field,
    drawn near and past its bounds and forms; the others are tame, mostly valid, so that
    one flaw at a time decides (and both answers come up)."""

    def __init__(self, app: AppIR) -> None:
        self.payloads = {p.name: p for p in app.payloads}
        self.enums = {e.name: e for e in app.enums}

    def payload(self, name: str, wild: bool = True) -> st.SearchStrategy[Any]:
        return st.deferred(lambda: self._payload(name, wild))

    def _payload(self, name: str, wild: bool) -> st.SearchStrategy[dict[str, Any]]:
        fields = self.payloads[name].fields
        names = [f.name for f in fields]

        @st.composite
        def edited(draw: st.DrawFn) -> dict[str, Any]:
            chosen = draw(st.sampled_from([None, *names])) if wild and names else None
            data = {f.name: draw(self.value(f.type, f.name == chosen)) for f in fields}
            if wild and names and draw(st.integers(0, 9)) == 0:  # a field left out
                data.pop(draw(st.sampled_from(names)))
            if wild and names and draw(st.integers(0, 14)) == 0:  # any JSON in a field
                data[draw(st.sampled_from(names))] = draw(ANY_JSON)
            if wild and draw(st.integers(0, 19)) == 0:  # an unknown key
                data[draw(st.text(string.ascii_lowercase, min_size=1, max_size=6))] = 1
            return data

        return edited()

    def value(self, tp: TypeIR, wild: bool) -> st.SearchStrategy[Any]:
        if isinstance(tp, Prim):
            return (_WILD if wild else _TAME)[tp.name](tp.constraints) | (
                WRONG_KIND if wild else st.nothing()
            )
        if isinstance(tp, Nullable):
            return st.none() | self.value(tp.inner, wild)
        if isinstance(tp, ListOf):
            low, high = _sizes(tp.constraints, wild)
            items = st.lists(self.value(tp.item, False), min_size=low, max_size=high)
            if not wild:
                return items
            return items | st.lists(
                self.value(tp.item, True), min_size=max(low, 1), max_size=max(high, 1)
            )
        if isinstance(tp, DictOf):
            low, high = _sizes(tp.constraints, wild)
            return st.dictionaries(
                st.text(max_size=4), self.value(tp.value, wild), min_size=low, max_size=high
            )
        if isinstance(tp, Ref):
            return self.payload(tp.name, wild)
        if isinstance(tp, UnionOf):
            return st.one_of([self.payload(m, wild) for m in tp.members])
        if isinstance(tp, EnumRef):
            values = [v for _, v in self.enums[tp.name].members]
            return st.sampled_from(values) | (_near_values(values) if wild else st.nothing())
        if isinstance(tp, LiteralOf):
            values = list(tp.values)
            return st.sampled_from(values) | (_near_values(values) if wild else st.nothing())
        raise TypeError(tp)


def _sizes(c: Constraints, wild: bool) -> tuple[int, int]:
    """Item counts: within the bounds when tame, one past each bound when wild."""
    low, high = c.min_len or 0, c.max_len if c.max_len is not None else max(c.min_len or 0, 3)
    return (max(0, low - 1), high + 1) if wild else (low, max(low, min(high, 3)))


def _near_values(values: list[Any]) -> st.SearchStrategy[Any]:
    """Values a client might mistake for these: 1.0 for 1, "1" for 1, 1 for True..."""
    near: list[Any] = []
    for v in values:
        near += [str(v), v.upper() + "x" if isinstance(v, str) else v]
        if isinstance(v, bool):
            near.append(int(v))
        elif isinstance(v, int):
            near += [float(v), v + 1]
    return st.sampled_from(near)


WRONG_KIND = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3)


def _text(c: Constraints) -> st.SearchStrategy[Any]:
    low, high = max(0, (c.min_len or 0) - 1), (c.max_len or 8) + 1
    plain = st.text(min_size=low, max_size=high)
    if c.pattern is None:
        return plain
    matching = st.from_regex(c.pattern, fullmatch=False).filter(lambda s: len(s) <= high + 4)
    return matching | plain | matching.map(lambda s: s + "\n")


def _bounds(c: Constraints) -> list[Any]:
    return [v for v in (c.ge, c.gt, c.le, c.lt) if v is not None]


def _int(c: Constraints) -> st.SearchStrategy[Any]:
    edges = [SAFE, -SAFE, SAFE + 1, -SAFE - 1, 2**63, 2**64, 2**64 + 1, 0]
    for b in _bounds(c):
        edges += [int(b) - 1, int(b), int(b) + 1]
    return st.sampled_from(edges) | st.integers(-1000, 1000) | st.integers() | st.floats(-5, 5)


def _float(c: Constraints) -> st.SearchStrategy[Any]:
    edges: list[Any] = [0, 0.0, -0.0, 1e308, 2**64]
    for b in _bounds(c):
        edges += [b, float(b), b - 1e-9, b + 1e-9, int(b)]
    finite = st.floats(allow_nan=False, allow_infinity=False)
    return st.sampled_from(edges) | finite | st.integers(-10, 10)


def _number_text(c: Constraints, integral: bool) -> st.SearchStrategy[Any]:
    exact = [Decimal(b) for b in _bounds(c)]
    near = st.sampled_from(exact or [Decimal(0)]).flatmap(
        lambda b: st.integers(-3, 3).map(lambda k: b + Decimal(k) / (1 if integral else 7))
    )
    decimals = st.decimals(
        allow_nan=False, allow_infinity=False, places=None if not integral else 0
    )
    canonical = (near | decimals).map(lambda d: format(d, "f"))
    if integral:
        canonical = st.integers().map(str) | canonical.filter(lambda s: "." not in s)
    odd = st.sampled_from(
        [  # forms other decimal readers accept
            "-0",
            "+1",
            " 1",
            "1 ",
            "01",
            "1e3",
            "1E-2",
            ".5",
            "5.",
            "1_000",
            "١٢",
            "NaN",
            "Infinity",
            "0.10",
            "-0.0",
            "",
        ]
    )
    return canonical | odd | st.integers(-5, 5)


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.integers(0, 10**n - 1).map(lambda v: str(v).zfill(n))


@st.composite
def _datetime(draw: st.DrawFn, _: Constraints) -> str:
    year = draw(
        st.sampled_from(["0000", "0001", "1970", "2000", "2024", "2023", "1900", "9999"])
        | _digits(4)
    )
    month = draw(st.sampled_from(["01", "02", "12", "00", "13"]) | _digits(2))
    day = draw(st.sampled_from(["01", "28", "29", "30", "31", "00", "32"]))
    hour = draw(st.sampled_from(["00", "23", "24", "12"]))
    minute = draw(st.sampled_from(["00", "59", "60"]))
    second = draw(st.sampled_from(["00", "59", "60"]))
    fraction = draw(st.sampled_from(["", ".5", ".123", ".123456", ".1234567", ".", ",5"]))
    offset = draw(
        st.sampled_from(
            ["Z", "z", "+00:00", "-05:30", "+23:59", "+24:00", "+05:60", "", "+0530", "+05:30:15"]
        )
    )
    sep = draw(st.sampled_from(["T", "T", "T", " ", "t"]))
    return f"{year}-{month}-{day}{sep}{hour}:{minute}:{second}{fraction}{offset}"


@st.composite
def _date(draw: st.DrawFn, _: Constraints) -> str:
    year = draw(st.sampled_from(["0000", "0001", "2024", "2023", "1900", "2000"]) | _digits(4))
    month = draw(st.sampled_from(["01", "02", "04", "12", "00", "13"]))
    day = draw(st.sampled_from(["01", "28", "29", "30", "31", "00", "32"]))
    end = draw(st.sampled_from(["", "", "", "\n", "T00:00:00Z", " "]))
    return f"{year}-{month}-{day}{end}"


def _uuid(_: Constraints) -> st.SearchStrategy[Any]:
    forms = st.uuids().flatmap(
        lambda u: st.sampled_from(
            [str(u), str(u).upper(), u.hex, str(u) + "\n", "{" + str(u) + "}"]
        )
    )
    return forms


_WILD = {
    "str": _text,
    "int": _int,
    "float": _float,
    "bool": lambda c: st.booleans(),
    "none": lambda c: st.none(),
    "datetime": _datetime,
    "date": _date,
    "uuid": _uuid,
    "decimal": lambda c: _number_text(c, integral=False),
    "bigint": lambda c: _number_text(c, integral=True),
}


# -- tame: values inside every bound and form, mostly -------------------------------------


def _tame_text(c: Constraints) -> st.SearchStrategy[Any]:
    low, high = c.min_len or 0, c.max_len if c.max_len is not None else 8
    if c.pattern is not None:
        # Mostly the example chgen writes for the pattern; sometimes hypothesis' own.
        example = pattern_example(c.pattern, low, high)
        found = re.compile(schema_pattern(c.pattern)).search
        drawn = st.from_regex(c.pattern, fullmatch=False).filter(
            lambda t: low <= len(t) <= high and found(t) is not None
        )
        return st.sampled_from([example] * 3) | drawn if example is not None else drawn
    return st.text(min_size=low, max_size=max(low, high))


def _tame_int(c: Constraints) -> st.SearchStrategy[Any]:
    low = max(
        [-SAFE]
        + [int(v) for v in (c.ge,) if v is not None]
        + [int(v) + 1 for v in (c.gt,) if v is not None]
    )
    high = min(
        [SAFE]
        + [int(v) for v in (c.le,) if v is not None]
        + [int(v) - 1 for v in (c.lt,) if v is not None]
    )
    return st.integers(low, high)


def _tame_float(c: Constraints) -> st.SearchStrategy[Any]:
    return st.floats(
        min_value=c.ge if c.ge is not None else c.gt,
        max_value=c.le if c.le is not None else c.lt,
        exclude_min=c.gt is not None,
        exclude_max=c.lt is not None,
        allow_nan=False,
        allow_infinity=False,
    )


def _in_bounds(c: Constraints, value: Decimal) -> bool:
    return (
        (c.ge is None or value >= Decimal(c.ge))
        and (c.gt is None or value > Decimal(c.gt))
        and (c.le is None or value <= Decimal(c.le))
        and (c.lt is None or value < Decimal(c.lt))
    )


def _tame_decimal(c: Constraints) -> st.SearchStrategy[Any]:
    low = Decimal(c.ge if c.ge is not None else c.gt if c.gt is not None else -(10**6))
    high = Decimal(c.le if c.le is not None else c.lt if c.lt is not None else 10**6)
    values = st.decimals(min_value=low, max_value=high, places=3)
    return values.filter(lambda d: _in_bounds(c, d)).map(lambda d: format(d, "f"))


def _tame_bigint(c: Constraints) -> st.SearchStrategy[Any]:
    values = st.integers(-(10**30), 10**30) | st.integers(-5, 5)
    return values.filter(lambda v: _in_bounds(c, Decimal(v))).map(str)


def _tame_datetime(_: Constraints) -> st.SearchStrategy[Any]:
    offsets = st.sampled_from(["Z", "+00:00", "-05:30", "+14:00", "+23:59"])
    fractions = st.sampled_from(["", ".5", ".123", ".123456"])
    return st.builds(
        lambda d, f, o: (
            f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}{f}{o}"
        ),
        st.datetimes(),
        fractions,
        offsets,
    )


_TAME = {
    "str": _tame_text,
    "int": _tame_int,
    "float": _tame_float,
    "bool": lambda c: st.booleans(),
    "none": lambda c: st.none(),
    "datetime": _tame_datetime,
    "date": lambda c: st.dates().map(lambda d: d.isoformat()),
    "uuid": lambda c: st.uuids().map(str),
    "decimal": _tame_decimal,
    "bigint": _tame_bigint,
}
