"""Both ends agree on every value: the server's Python and the generated JavaScript client.

The fixture spec (tests/fixtures/fidelity) holds every field type and constraint. Its
generated client runs in one Node process (tests/client/fidelity.mjs) that reads and writes
JSONL, over a fake socket:

* **Round trip.** Hypothesis draws valid payloads: 5,000 with a fixed seed and 5,000 with
  a fresh one, both printed (``CHGEN_FIDELITY_SEED`` replays a fresh one). The server's
  encoder writes each as an event frame; the client reads it (checking incoming data),
  hands it to a listener that sends it back (checking outgoing data), and the server
  decodes what was sent. Every value must come back as the same wire data: a refusal on
  either side, or any difference, is a mismatch.
* **Catalog.** For every type and constraint, values just inside and just outside its
  limits go through the client's check of outgoing data and the server's decoder (which
  reads the frame the client would send, as JSON.stringify writes it). Both must accept
  or refuse alike, with the same code, paths and messages.

The counts are printed as tables (docs/client.md cites them).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import importlib
import json
import math
import os
import random
import subprocess
import sys
import threading
import types
import typing
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types as at
import attrs
import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from chgen.build import generate
from chgen.runtime.codec import decoder, encoder
from chgen.runtime.constraints import Pattern
from chgen.runtime.patterns import portable
from chgen.runtime.protocol import ProtocolError
from chgen.runtime.values import MAX_DIGITS, MAX_SAFE_INTEGER, BigIntText
from chgen.writer import write
from prereq import require_executable

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "fidelity" / "specs"
HARNESS = ROOT / "tests" / "client" / "fidelity.mjs"
FIXED_SEED = 20240229
VALUES_PER_SEED = 5_000  # two seeds: 10,000 values a run


@pytest.fixture(scope="module")
def payloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[types.ModuleType]:
    root = tmp_path_factory.mktemp("fidelity")
    write(generate(FIXTURE), root / "fidelitygen")
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module("fidelitygen.fidelity.payloads")
        module.CLIENT = root / "fidelitygen" / "fidelity" / "client.js"  # type: ignore[attr-defined]
        yield module
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("fidelitygen")]:
            del sys.modules[name]


class Node:
    """The harness process: ``run(jobs)`` returns one result per job, in order."""

    def __init__(self, client_js: Path) -> None:
        node = require_executable("node", "Node.js 20 runs the generated client")
        self.process = subprocess.Popen(
            [node, str(HARNESS), str(client_js)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def run(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        stdin = self.process.stdin

        def feed() -> None:  # a thread, so that neither side blocks on a full pipe
            for job in jobs:
                stdin.write(json.dumps(job) + "\n")
            stdin.flush()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        results = []
        for _ in jobs:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"the harness stopped: {self.process.stderr.read()}")  # type: ignore[union-attr]
            results.append(json.loads(line))
        writer.join(timeout=60)
        return results

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def node(payloads: types.ModuleType) -> Iterator[Node]:
    harness = Node(payloads.CLIENT)
    yield harness
    harness.close()


def _classes(payloads: types.ModuleType) -> list[type[Any]]:
    names = ["Scalars", "Texts", "Containers", "Choices", "Defaults", "Point"]
    return [getattr(payloads, name) for name in names]


# -- valid values, drawn from the annotations ----------------------------------------------


def _flat(metadata: tuple[Any, ...]) -> list[Any]:
    flat: list[Any] = []
    for item in metadata:
        flat.extend(item if isinstance(item, at.GroupedMetadata) else [item])
    return flat


_ATTRIBUTE = {
    at.MinLen: "min_length",
    at.MaxLen: "max_length",
    at.Ge: "ge",
    at.Gt: "gt",
    at.Le: "le",
    at.Lt: "lt",
}


def _bound(metadata: list[Any], kind: type[Any]) -> Any:
    found = [m for m in metadata if isinstance(m, kind)]
    return getattr(found[0], _ATTRIBUTE[kind]) if found else None


def _zones() -> st.SearchStrategy[dt.tzinfo]:
    offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
        lambda m: dt.timezone(dt.timedelta(minutes=m))
    )
    if zoneinfo.available_timezones():  # historical zones have offsets with seconds
        return st.one_of(st.just(dt.UTC), offsets, st.timezones())
    return st.one_of(st.just(dt.UTC), offsets)


def _decimals(
    max_digits: int = 60, exponents: tuple[int, int] = (-60, 60)
) -> st.SearchStrategy[decimal.Decimal]:
    """Decimals as (sign, digits, exponent): 1E-27 and 1E+2 as well as 12.50."""
    digits = st.lists(st.integers(0, 9), min_size=1, max_size=max_digits).map(tuple)
    return st.builds(
        lambda sign, ds, exp: decimal.Decimal((sign, ds, exp)),
        st.integers(0, 1),
        digits,
        st.integers(*exponents),
    )


def _bounded_decimals(metadata: list[Any]) -> st.SearchStrategy[decimal.Decimal]:
    low = next(
        (_bound(metadata, k) for k in (at.Ge, at.Gt) if _bound(metadata, k) is not None), None
    )
    high = next(
        (_bound(metadata, k) for k in (at.Le, at.Lt) if _bound(metadata, k) is not None), None
    )
    places = [
        st.decimals(
            min_value=None if low is None else decimal.Decimal(low),
            max_value=None if high is None else decimal.Decimal(high),
            places=p,
            allow_nan=False,
            allow_infinity=False,
        )
        for p in (0, 2, 6, 30)
    ]
    return st.one_of(*places).filter(_in_bounds(metadata))


def _text(metadata: list[Any]) -> st.SearchStrategy[str]:
    low, high = _bound(metadata, at.MinLen), _bound(metadata, at.MaxLen)
    patterns = [m.regex for m in metadata if isinstance(m, Pattern)]
    if patterns:
        compiled = portable(patterns[0]).compile()
        found = st.from_regex(compiled)
        return found.filter(lambda s: (low or 0) <= len(s) <= (high or math.inf))
    return st.text(min_size=low or 0, max_size=high if high is not None else 12)


def _number(base: type[Any], metadata: list[Any]) -> st.SearchStrategy[Any]:
    ge, gt = _bound(metadata, at.Ge), _bound(metadata, at.Gt)
    le, lt = _bound(metadata, at.Le), _bound(metadata, at.Lt)
    if base is int:
        low = ge if ge is not None else gt + 1 if gt is not None else -MAX_SAFE_INTEGER
        high = le if le is not None else lt - 1 if lt is not None else MAX_SAFE_INTEGER
        return st.integers(low, high)
    low_f = ge if ge is not None else gt
    high_f = le if le is not None else lt
    return st.floats(
        min_value=low_f,
        max_value=high_f,
        exclude_min=gt is not None,
        exclude_max=lt is not None,
        allow_nan=False,
        allow_infinity=False,
    )


def _in_bounds(metadata: list[Any]) -> Callable[[Any], bool]:
    tests: dict[type[Any], Callable[[Any, Any], bool]] = {
        at.Ge: lambda v, b: v >= b,
        at.Gt: lambda v, b: v > b,
        at.Le: lambda v, b: v <= b,
        at.Lt: lambda v, b: v < b,
    }
    bounds = [(tests[type(m)], _bound([m], type(m))) for m in metadata if type(m) in tests]
    return lambda v: all(test(v, b) for test, b in bounds)


def _big(metadata: list[Any]) -> st.SearchStrategy[int]:
    ge, gt = _bound(metadata, at.Ge), _bound(metadata, at.Gt)
    le, lt = _bound(metadata, at.Le), _bound(metadata, at.Lt)
    low = ge if ge is not None else gt + 1 if gt is not None else None
    high = le if le is not None else lt - 1 if lt is not None else None
    wide = st.integers(low, high)
    huge = st.integers(1, MAX_DIGITS).map(lambda n: 10**n - 1).filter(_in_bounds(metadata))
    return st.one_of(
        wide, huge, st.sampled_from([2**53 + 1, 2**64, -(2**63)]).filter(_in_bounds(metadata))
    )


def strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Valid values of the annotation ``tp``."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *rest = get_args(tp)
        metadata = _flat(tuple(rest))
        if any(isinstance(m, BigIntText) for m in metadata):
            return _big(metadata)
        if base is str:
            return _text(metadata)
        if base in (int, float):
            return _number(base, metadata)
        if base is decimal.Decimal:
            return _bounded_decimals(metadata)
        low, high = _bound(metadata, at.MinLen) or 0, _bound(metadata, at.MaxLen)
        if get_origin(base) is list:
            return st.lists(strategy(get_args(base)[0]), min_size=low, max_size=high or 4)
        keys = st.text(max_size=6)
        values = strategy(get_args(base)[1])
        return st.dictionaries(keys, values, min_size=low, max_size=high or 3)
    scalars: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=12),
        int: st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
        float: st.floats(allow_nan=False, allow_infinity=False),
        bool: st.booleans(),
        type(None): st.none(),
        None: st.none(),
        dt.datetime: st.datetimes(
            min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=_zones()
        ),
        dt.date: st.dates(),
        uuid.UUID: st.uuids(),
        decimal.Decimal: _decimals(),
    }
    if tp in scalars:
        return scalars[tp]
    if origin is list:
        return st.lists(strategy(get_args(tp)[0]), max_size=4)
    if origin is dict:
        return st.dictionaries(st.text(max_size=6), strategy(get_args(tp)[1]), max_size=3)
    if origin is Literal:
        return st.sampled_from(get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy(a) for a in get_args(tp)))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and attrs.has(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        return st.builds(tp, **{f.name: strategy(hints[f.name]) for f in attrs.fields(tp)})
    raise TypeError(f"no strategy for {tp!r}")


def _draw_values(classes: list[type[Any]], count: int, seed_value: int) -> list[Any]:
    values: list[Any] = []
    each = st.one_of(*(strategy(cls) for cls in classes))
    per_example = 10

    @settings(
        max_examples=count // per_example,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @seed(seed_value)
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        # Kept only once the whole example is drawn: a draw that exhausts a filter
        # abandons the example, and its values with it.
        drawn = [data.draw(each) for _ in range(per_example)]
        values.extend(drawn)

    draw()
    return values


# -- the round trip ------------------------------------------------------------------------


def _round_trip(node: Node, values: list[Any]) -> tuple[Counter[str], Counter[str], list[str]]:
    jobs, expected = [], []
    for n, value in enumerate(values):
        cls = type(value)
        wire = encoder(cls)(value)
        name = cls.__name__.lower()
        frame = orjson.dumps({"type": f"got_{name}", "data": wire}).decode()
        jobs.append({"n": n, "frame": frame, "message": f"echo_{name}"})
        expected.append((cls, wire))
    counts: Counter[str] = Counter()
    mismatches: Counter[str] = Counter()
    examples: list[str] = []
    for (cls, wire), result in zip(expected, node.run(jobs), strict=True):
        counts[cls.__name__] += 1
        problem = _compare(cls, wire, result)
        if problem:
            mismatches[cls.__name__] += 1
            if len(examples) < 5:
                examples.append(f"{cls.__name__} {wire!r}: {problem}")
    return counts, mismatches, examples


def _compare(cls: type[Any], wire: Any, result: dict[str, Any]) -> str | None:
    if "sent" not in result:
        return f"the client refused it ({result['stage']}): {result['error']}"
    frame = orjson.loads(result["sent"])
    if frame.get("type") != f"echo_{cls.__name__.lower()}":
        return f"sent as {frame.get('type')!r}"
    try:
        back = encoder(cls)(decoder(cls)(frame["data"]))
    except ProtocolError as exc:
        return f"the server refused what came back: {exc.details}"
    # == on JSON data: strings and Decimals exactly; floats as numbers (-0.0 == 0.0, the
    # one documented change: JavaScript writes -0 as 0).
    return None if back == wire else f"came back as {back!r}"


def test_every_valid_value_survives_the_round_trip_through_the_javascript_client(
    payloads: types.ModuleType, node: Node, capsys: pytest.CaptureFixture[str]
) -> None:
    classes = _classes(payloads)
    # A fresh seed each run; CHGEN_FIDELITY_SEED replays one a failing run printed.
    fresh = int(os.environ.get("CHGEN_FIDELITY_SEED") or random.SystemRandom().randrange(2**32))
    rows = []
    examples: list[str] = []
    for seed_value in (FIXED_SEED, fresh):
        values = _draw_values(classes, VALUES_PER_SEED, seed_value)
        counts, mismatches, found = _round_trip(node, values)
        examples += found
        rows.append((seed_value, counts, mismatches))
    with capsys.disabled():
        print(_round_trip_table(classes, rows))
    total = sum(sum(counts.values()) for _, counts, _ in rows)
    assert total >= 10_000
    replay = f"seeds {FIXED_SEED} and {fresh} (CHGEN_FIDELITY_SEED={fresh} replays the second)"
    assert not examples, replay + "\n" + "\n".join(examples)


def _round_trip_table(classes: list[type[Any]], rows: list[Any]) -> str:
    lines = ["", "Fidelity round trip: Python encode -> JS read, check, send -> Python decode"]
    lines.append(f"{'payload':12} " + " ".join(f"{'seed ' + str(s):>22}" for s, _, _ in rows))
    for cls in classes:
        cells = [f"{c[cls.__name__]:>6} values {m[cls.__name__]:>3} diff" for _, c, m in rows]
        lines.append(f"{cls.__name__:12} " + " ".join(f"{cell:>22}" for cell in cells))
    totals = [f"{sum(c.values()):>6} values {sum(m.values()):>3} diff" for _, c, m in rows]
    lines.append(f"{'total':12} " + " ".join(f"{cell:>22}" for cell in totals))
    return "\n".join(lines)


def test_the_comparison_sees_a_changed_value(payloads: types.ModuleType) -> None:
    point = encoder(payloads.Point)(payloads.Point(x=1.5, y=-0.0))
    same = {"sent": json.dumps({"type": "echo_point", "data": {"x": 1.5, "y": 0}})}
    changed = {"sent": json.dumps({"type": "echo_point", "data": {"x": 1.25, "y": 0}})}
    assert _compare(payloads.Point, point, same) is None
    assert "came back as" in str(_compare(payloads.Point, point, changed))


# -- the catalog ---------------------------------------------------------------------------

FORMS = json.loads((ROOT / "tests" / "fixtures" / "json_forms.json").read_text())
BOUND_01 = format(decimal.Decimal.from_float(0.1), "f")  # the exact value of the double 0.1

# A valid payload of each class, as JSON data; each case changes one field of it.
BASE: dict[str, dict[str, Any]] = {
    "Scalars": {
        "text": "t",
        "short": "s",
        "code": "ab1",
        "line": "x",
        "word": "w",
        "count": 0,
        "bounded": 0,
        "open_int": 5,
        "ratio": 0.5,
        "unit": 0.5,
        "tiny": 1.0,
        "flag": True,
        "nothing": None,
    },
    "Texts": {
        "when": "2024-02-29T23:59:59.123Z",
        "day": "2024-02-29",
        "ident": "123e4567-e89b-12d3-a456-426614174000",
        "price": "12.50",
        "cost": "1",
        "big": "1",
        "wide": "1",
        "positive": "1",
    },
    "Containers": {
        "tags": ["a"],
        "scores": {},
        "nested": {},
        "matrix": [],
        "maybe": None,
        "maybe_points": None,
        "when_list": [],
    },
    "Choices": {
        "color": "red",
        "level": 1,
        "kind": "a",
        "figure": {"shape": "circle", "radius": 1.0},
        "maybe_figure": None,
        "figures": [],
        "maybe_color": None,
    },
    "Defaults": {},
    "Point": {"x": 0, "y": 0},
}

IN, OUT, ANY = True, False, None
KINDS: list[tuple[str, Any]] = [
    ("null", None),
    ("true", True),
    ("1", 1),
    ("1.5", 1.5),
    ('"x"', "x"),
    ("[]", []),
    ("{}", {}),
]

# Values just inside and just outside each field's type and constraints: (value, verdict).
EDGES: dict[str, list[tuple[Any, bool]]] = {
    "Scalars.text": [("", IN), ("\U0001f600", IN), ("\u2028\x00", IN), ("e\u0301", IN)],
    "Scalars.short": [
        ("", OUT),
        ("a", IN),
        ("a" * 12, IN),
        ("a" * 13, OUT),
        ("\U0001f600" * 12, IN),  # 24 UTF-16 units, 12 code points
        ("\U0001f600" * 13, OUT),
        ("e\u0301" * 6, IN),
    ],
    "Scalars.code": [("ab1", IN), ("ab1\n", OUT), ("ab\u0661", OUT), ("AB1", OUT), ("ab12", OUT)],
    "Scalars.line": [("x", IN), ("a\rb", IN), ("a\u2028b", IN), ("a\nb", OUT), ("", OUT)],
    "Scalars.word": [("abc", IN), ("_", IN), ("\u00e9", OUT), (" x", OUT)],
    "Scalars.count": [
        (0, IN),
        (2**53 - 1, IN),
        (-(2**53 - 1), IN),
        (2**53, OUT),
        (-(2**53), OUT),
        (2**53 + 1, OUT),
        (2**63, OUT),
        (2**64, OUT),
        (1e21, OUT),
        (1.0, IN),  # JavaScript writes it as 1
        (-0.0, IN),
    ],
    "Scalars.bounded": [(-6, OUT), (-5, IN), (5, IN), (6, OUT)],
    "Scalars.open_int": [(0, OUT), (1, IN), (9, IN), (10, OUT)],
    "Scalars.ratio": [(-0.0, IN), (1e308, IN), (5e-324, IN), (1, IN), (2**64, IN), (1e21, IN)],
    "Scalars.unit": [(-5e-324, OUT), (0, IN), (0.9999999999999999, IN), (1.0, OUT)],
    "Scalars.tiny": [(0.1, OUT), (0.10000000000000002, IN)],
    "Scalars.flag": [(False, IN), ("true", OUT), (0, OUT)],
    "Scalars.nothing": [(None, IN), (0, OUT), ("", OUT), (False, OUT)],
    "Texts.when": [(w["wire"], IN) for w in FORMS["datetimes"]]
    + [(w, OUT) for w in FORMS["refused"]["datetime"]],
    "Texts.day": [(d, IN) for d in FORMS["dates"]] + [(d, OUT) for d in FORMS["refused"]["date"]],
    "Texts.ident": [(u, IN) for u in FORMS["uuids"]] + [(u, OUT) for u in FORMS["refused"]["uuid"]],
    "Texts.price": [(d["wire"], IN) for d in FORMS["decimals"]]
    + [(d, OUT) for d in FORMS["refused"]["decimal"]]
    + [("1" + "0" * (MAX_DIGITS - 1), IN), ("1" + "0" * MAX_DIGITS, OUT)]
    + [("0." + "0" * (MAX_DIGITS - 2) + "1", IN), ("0." + "0" * (MAX_DIGITS - 1) + "1", OUT)]
    + [(12.5, OUT)],
    "Texts.cost": [
        ("0.1", OUT),
        (BOUND_01, OUT),
        (BOUND_01 + "1", IN),
        ("0.11", IN),
        ("1000", IN),
        ("1000.000", IN),
        ("1000.001", OUT),
        ("-0", OUT),
    ],
    "Texts.big": [(b, IN) for b in FORMS["bigints"]]
    + [(b, OUT) for b in FORMS["refused"]["bigint"]]
    + [("9" * MAX_DIGITS, IN), ("9" * (MAX_DIGITS + 1), OUT), (5, OUT)],
    "Texts.wide": [
        (str(2**63 - 1), IN),
        (str(2**63), OUT),
        (str(-(2**63)), IN),
        (str(-(2**63) - 1), OUT),
    ],
    "Texts.positive": [("0", OUT), ("1", IN)],
    "Containers.tags": [
        ([], OUT),
        (["a"], IN),
        (["a", "b", "c"], IN),
        (["a", "b", "c", "d"], OUT),
        ("abc", OUT),
        (["a", 1], OUT),
        ([1, 2, 3, 4, 5], OUT),
    ],
    "Containers.scores": [
        ({"a": 1, "b": 2}, IN),
        ({"a": 1, "b": 2, "c": 3}, OUT),
        ({"a b": "x"}, OUT),
        ({"\u00e9": "x"}, OUT),
        ({"class": "x"}, OUT),
        ({'"\\': "x"}, OUT),
        ({"__proto__": "x"}, OUT),
        ({"b": "x", "1": "y"}, OUT),
        ({"z": "x", "\U0001f600": "y", "\uff41": "z"}, OUT),
        ({"a": 2**53}, OUT),
    ],
    "Containers.nested": [
        ({"k": [{"x": 1, "y": 2}]}, IN),
        ({"k": [{"x": 1}]}, OUT),
        ({"k": [{"x": 1, "y": 2, "z": 3}]}, OUT),
    ],
    "Containers.matrix": [([[]], IN), ([[1, 2.5]], IN), ([[1, "a"]], OUT), ([1], OUT)],
    "Containers.maybe": [(None, IN), (2**53, OUT), ("1", OUT)],
    "Containers.maybe_points": [([None, {"x": 1, "y": 2}], IN), ([{"x": "1"}], OUT)],
    "Containers.when_list": [(["2024-01-01T00:00:00Z"], IN), (["2024-01-01 00:00:00Z"], OUT)],
    "Choices.color": [("red", IN), ('a "quoted" \\ value', IN), ("blue", OUT), ("Red", OUT)],
    "Choices.level": [(1, IN), (2, IN), (1.0, IN), (True, OUT), ("1", OUT), (3, OUT)],
    "Choices.kind": [("a", IN), (1, IN), (True, IN), (1.0, IN), (False, OUT), (2, OUT), ("1", OUT)],
    "Choices.figure": [
        ({"shape": "square", "side": 0}, IN),
        ({"shape": "hexagon"}, OUT),
        ({"radius": 1}, OUT),
        ({"shape": True, "radius": 1}, OUT),
        ({"shape": "circle", "radius": 0}, OUT),
        ({"shape": "circle", "radius": 1, "x": 1}, OUT),
        ({"shape": "circle"}, OUT),
    ],
    "Choices.maybe_figure": [(None, IN), ({"shape": "square", "side": -1}, OUT)],
    "Choices.figures": [([{"shape": "square"}], OUT), ([{"shape": "circle", "radius": 2}], IN)],
    "Choices.maybe_color": [(None, IN), ("green", IN), ("", OUT)],
    "Defaults.note": [("y", IN), (None, OUT)],
    "Defaults.count": [(5, IN), (2**53, OUT)],
    "Defaults.color": [("green", IN), ("blue", OUT)],
    "Defaults.items": [([1, 2], IN), ([1.5], OUT)],
    "Defaults.big": [("12345678901234567890", IN), (12, OUT)],
    "Defaults.maybe": [(None, IN), (2, IN), (0, OUT)],
    "Point.x": [(-0.0, IN), (1e-7, IN)],
}
ABSENT = object()


def _cases(classes: list[type[Any]]) -> list[tuple[type[Any], str, Any, bool | None]]:
    """(payload class, label, data, verdict): every edge, every wrong kind, and whole
    payloads with keys missing and added."""
    cases: list[tuple[type[Any], str, Any, bool | None]] = []
    for cls in classes:
        base = BASE[cls.__name__]
        for field in attrs.fields(cls):
            key = f"{cls.__name__}.{field.name}"
            edges: list[tuple[Any, bool | None]] = [*EDGES.get(key, [])]
            edges += [(value, ANY) for _, value in KINDS]
            for value, verdict in edges:
                cases.append(
                    (cls, f"{key} = {json.dumps(value)[:40]}", {**base, field.name: value}, verdict)
                )
            if field.name in base:
                missing = {k: v for k, v in base.items() if k != field.name}
                verdict = IN if field.default is not attrs.NOTHING else OUT
                cases.append((cls, f"{key} missing", missing, verdict))
        extra = {**base, "zz": 1, "\u00e9": 2, "\U0001f600": 3, "\uff41": 4}
        cases.append((cls, f"{cls.__name__} with unknown keys", extra, OUT))
    return cases


def _server(cls: type[Any], wire: str) -> dict[str, Any]:
    """What the server answers a frame: its protocol checks, then the payload's decoder."""
    from chgen.runtime.protocol import parse_message

    try:
        decoder(cls)(parse_message(orjson.loads(wire)).data)
    except ProtocolError as exc:
        details = [{"path": d.path, "message": d.message} for d in exc.details]
        return {"ok": False, "code": exc.code, "message": exc.message, "details": details}
    return {"ok": True}


def test_client_and_server_accept_and_refuse_the_same_values_alike(
    payloads: types.ModuleType, node: Node, capsys: pytest.CaptureFixture[str]
) -> None:
    classes = _classes(payloads)
    cases = _cases(classes)
    jobs = [
        {"n": n, "message": f"echo_{cls.__name__.lower()}", "data": json.dumps(data)}
        for n, (cls, _, data, _) in enumerate(cases)
    ]
    tally: dict[str, Counter[str]] = {cls.__name__: Counter() for cls in classes}
    disagreements = []
    for (cls, label, _, verdict), result in zip(cases, node.run(jobs), strict=True):
        server = _server(cls, result["wire"])
        client = {"ok": True} if result["ok"] else {"ok": False, **result["error"]}
        row = tally[cls.__name__]
        row["cases"] += 1
        row["accepted" if server["ok"] else "refused"] += 1
        if client != server:
            row["disagree"] += 1
            disagreements.append(f"{label}\n  client: {client}\n  server: {server}")
        elif verdict is not None and server["ok"] is not verdict:
            row["unexpected"] += 1
            disagreements.append(f"{label}: both {'accept' if server['ok'] else 'refuse'} it")
    with capsys.disabled():
        print(_catalog_table(tally))
    assert not disagreements, "\n".join(disagreements[:20])


def _catalog_table(tally: dict[str, Counter[str]]) -> str:
    columns = ("cases", "accepted", "refused", "disagree", "unexpected")
    lines = ["", "Fidelity catalog: the client's check and the server's decoder, value by value"]
    lines.append(f"{'payload':12}" + "".join(f"{c:>11}" for c in columns))
    for name, row in [*tally.items(), ("total", sum(tally.values(), Counter()))]:
        lines.append(f"{name:12}" + "".join(f"{row[c]:>11}" for c in columns))
    return "\n".join(lines)


def test_the_client_refuses_before_sending_and_reports_what_came_in(
    payloads: types.ModuleType,
) -> None:
    node = require_executable("node", "Node.js 20 runs the generated client")
    suite = ROOT / "tests" / "client" / "checks.test.mjs"
    env = {**os.environ, "CHGEN_CLIENT": str(payloads.CLIENT)}
    env.pop("NODE_ENV", None)
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", str(suite)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
