"""Python and the TypeScript side read and write the same JSON forms (one fixture set).

Datetimes, dates, UUIDs, Decimals and BigInts travel as strings; enums as their values.
For each, what a browser produces must be accepted by the runtime, what the runtime sends
must read back in JavaScript as the same value, and the forms outside the canonical ones
are refused, never coerced. The generated client's own checks of the same forms are in
tests/test_fidelity.py.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import attrs
import pytest

from chgen.runtime.codec import decoder, encoder
from chgen.runtime.protocol import ProtocolError
from chgen.runtime.values import BigInt
from prereq import require_executable

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "json_forms.json").read_text())
CASES: list[dict[str, Any]] = FIXTURE["datetimes"]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@attrs.frozen(kw_only=True)
class Stamp:
    when: dt.datetime


def _epoch_ms(value: dt.datetime) -> int:
    return (value - EPOCH) // dt.timedelta(milliseconds=1)


def _node(script: str, data: Any) -> Any:
    node = require_executable("node", "Node.js 20 checks the JavaScript side")
    result = subprocess.run(
        [node, "-e", script],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_python_reads_every_wire_form_as_the_same_instant() -> None:
    decode = decoder(Stamp)
    for case in CASES:
        assert _epoch_ms(decode({"when": case["wire"]}).when) == case["epoch_ms"], case


def test_javascript_reads_every_wire_form_as_the_same_instant() -> None:
    parsed = _node(
        "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>"
        "console.log(JSON.stringify(JSON.parse(s).map(w=>Date.parse(w)))))",
        [case["wire"] for case in CASES],
    )
    assert parsed == [case["epoch_ms"] for case in CASES]


def test_what_python_sends_javascript_reads_back_exactly() -> None:
    decode, encode = decoder(Stamp), encoder(Stamp)
    sent = [encode(decode({"when": case["wire"]}))["when"] for case in CASES]
    parsed = _node(
        "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>"
        "console.log(JSON.stringify(JSON.parse(s).map(w=>Date.parse(w)))))",
        sent,
    )
    assert parsed == [case["epoch_ms"] for case in CASES], sent


def test_a_datetime_without_offset_is_refused_because_javascript_would_read_it_as_local() -> None:
    try:
        decoder(Stamp)({"when": "2024-01-01T00:00:00"})
    except ProtocolError as exc:
        assert exc.code == "invalid"
        assert exc.details[0].path == "$.data.when"
        assert "timezone" in exc.details[0].message
    else:
        raise AssertionError("a naive datetime was accepted")


@attrs.frozen(kw_only=True)
class Values:
    price: decimal.Decimal
    day: dt.date
    ident: uuid.UUID
    big: BigInt


def test_decimals_keep_their_digits_and_read_as_the_same_number_in_javascript() -> None:
    decode, encode = decoder(Values), encoder(Values)
    sent = []
    for case in FIXTURE["decimals"]:
        value = decode({**_VALUES, "price": case["wire"]})
        sent.append(encode(value)["price"])
    assert sent == [case["wire"] for case in FIXTURE["decimals"]], "precision is kept as sent"
    numbers = _node(_MAP.format("Number(w)"), sent)
    assert numbers == [case["number"] for case in FIXTURE["decimals"]]
    # What a browser sends for a money amount is accepted as it is.
    fixed = _node(_MAP.format("Number(w).toFixed(2)"), ["12.5", "0.1"])
    assert [encode(decode({**_VALUES, "price": f}))["price"] for f in fixed] == ["12.50", "0.10"]


def test_a_decimal_is_written_without_an_exponent_and_reads_back_equal() -> None:
    encode = encoder(Values)
    value = decoder(Values)(_VALUES)
    for number, wire in [("1E+2", "100"), ("1E-27", "0." + "0" * 26 + "1"), ("-0E+3", "-0")]:
        written = encode(attrs.evolve(value, price=decimal.Decimal(number)))["price"]
        assert written == wire
        assert decoder(Values)({**_VALUES, "price": written}).price == decimal.Decimal(number)


def test_bigints_travel_as_decimal_strings_and_javascript_reads_them_exactly() -> None:
    decode, encode = decoder(Values), encoder(Values)
    wires = FIXTURE["bigints"]
    assert [encode(decode({**_VALUES, "big": w}))["big"] for w in wires] == wires
    assert _node(_MAP.format("BigInt(w).toString()"), wires) == wires


def test_dates_mean_the_same_day_on_both_sides() -> None:
    decode, encode = decoder(Values), encoder(Values)
    days = FIXTURE["dates"]
    assert [encode(decode({**_VALUES, "day": d}))["day"] for d in days] == days
    read = _node(_MAP.format('new Date(w + "T00:00:00Z").toISOString().slice(0, 10)'), days)
    assert read == days


def test_uuids_from_the_browser_are_accepted_and_come_back_unchanged() -> None:
    decode, encode = decoder(Values), encoder(Values)
    made = _node(_MAP.format("crypto.randomUUID()"), [None] * 5)
    for ident in [*FIXTURE["uuids"], *made]:
        assert encode(decode({**_VALUES, "ident": ident}))["ident"] == ident


def test_an_enum_is_its_values_on_both_sides(tmp_path: Path) -> None:
    from chgen.build import generate

    alltypes = Path(__file__).parent / "fixtures" / "alltypes" / "specs"
    declarations = generate(alltypes)["alltypes/client.d.ts"]
    union = next(line for line in declarations.splitlines() if "export type Color =" in line)
    ts_values = _node(
        _MAP.format("w"),
        json.loads("[" + union.split("=", 1)[1].rstrip(";").replace("|", ",") + "]"),
    )
    spec = _load_alltypes_spec(alltypes)
    assert ts_values == [member.value for member in spec.Color]


def _load_alltypes_spec(specs: Path) -> Any:
    import importlib.util

    loaded = importlib.util.spec_from_file_location("_json_forms_alltypes", specs / "alltypes.py")
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    sys.modules[loaded.name] = module  # @payload reads the class source through it
    try:
        loaded.loader.exec_module(module)
    finally:
        del sys.modules[loaded.name]
    return module


_VALUES = {
    "price": "1",
    "day": "2024-01-01",
    "ident": "123e4567-e89b-12d3-a456-426614174000",
    "big": "1",
}
_FIELDS = {
    "datetime": (Stamp, "when", {}),
    **{
        k: (Values, f, _VALUES)
        for k, f in [("date", "day"), ("uuid", "ident"), ("decimal", "price"), ("bigint", "big")]
    },
}


@pytest.mark.parametrize("kind", sorted(FIXTURE["refused"]))
def test_every_form_outside_the_canonical_ones_is_refused(kind: str) -> None:
    cls, field, base = _FIELDS[kind]
    for wire in FIXTURE["refused"][kind]:
        with pytest.raises(ProtocolError) as info:
            decoder(cls)({**base, field: wire})
        assert [d.path for d in info.value.details] == [f"$.data.{field}"], wire


# A Node script mapping each JSON input through one expression of `w`.
_MAP = (
    "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>"
    "console.log(JSON.stringify(JSON.parse(s).map(w=>{0}))))"
)
