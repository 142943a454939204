"""The number model: an ``int`` is a JavaScript-safe integer at both ends, a larger one is
declared as ``BigInt`` (or ``Int64``) and travels as a decimal string; a spec that would
let a JavaScript client round a number is refused where it says so.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chgen.build import generate
from chgen.cli import main
from chgen.runtime import InvalidPayload
from chgen.runtime.codec import decoder, encoder
from chgen.runtime.protocol import ProtocolError
from chgen.writer import write

SPEC = """\
from typing import Annotated, Literal

from annotated_types import Ge, Le
from chgen.spec import App, BigInt, Handler, Int64, JsonWebsocketConsumer, payload, route

@payload
class Tick:
    volume: BigInt
    account: Int64
    shares: Annotated[BigInt, Ge(0)]
    count: int
{extra}
ticks = JsonWebsocketConsumer("Ticks", method_mapping={{"tick": Handler(Tick, reply=Tick)}})
app = App("market", routes=[route("^/$", ticks)], handlers="market_handlers")
"""


def _specs(tmp_path: Path, extra: str = "") -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "market.py").write_text(SPEC.format(extra=extra))
    return specs


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("market")
    files = generate(_specs(root))
    write(files, root / "marketgen")
    sys.path.insert(0, str(root))
    try:
        yield files, importlib.import_module("marketgen.market.payloads")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("marketgen")]:
            del sys.modules[name]


def test_a_bigint_field_is_a_python_int_and_a_typescript_string(market: Any) -> None:
    files, _ = market
    source = files["market/payloads.py"]
    assert "volume: BigInt" in source
    assert "from chgen.runtime import BigInt" in source
    assert "account: Annotated[BigInt, Ge(-9223372036854775808), Le(9223372036854775807)]" in (
        source
    )
    client = files["market/client.ts"]
    assert "readonly volume: string;" in client
    assert "`BigInt(value)` reads it" in client
    assert "within ±(2^53 - 1)" in client  # the plain int's TSDoc


def test_bigints_round_trip_exactly_and_are_validated(market: Any) -> None:
    _, payloads = market
    wire = {"volume": str(2**64), "account": str(-(2**63)), "shares": "0", "count": 2**53 - 1}
    tick = decoder(payloads.Tick)(wire)
    assert tick.volume == 2**64 and type(tick.volume) is int
    assert encoder(payloads.Tick)(tick) == wire
    for field, value, message in [
        ("volume", 2**64, "expected an integer as a decimal string, got an integer"),
        ("volume", "1e3", 'expected an integer as a decimal string, like "9007199254740993"'),
        ("account", str(2**63), "must be <= 9223372036854775807"),
        ("shares", "-1", "must be >= 0"),
        ("count", 2**53, "must be between -9007199254740991 and 9007199254740991"),
        ("count", 2**64, "must be between -9007199254740991 and 9007199254740991"),
    ]:
        with pytest.raises(ProtocolError) as caught:
            decoder(payloads.Tick)({**wire, field: value})
        assert [(d.path, d.message) for d in caught.value.details] == [(f"$.data.{field}", message)]
    with pytest.raises(InvalidPayload, match=r"\$\.data\.account: must be >= -9223372036854775808"):
        encoder(payloads.Tick)(payloads.Tick(volume=1, account=-(2**63) - 1, shares=0, count=0))


def _errors(tmp_path: Path, extra: str) -> str:
    result = CliRunner().invoke(
        main, ["build", str(_specs(tmp_path, extra)), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 1, result.output
    return result.output


@pytest.mark.parametrize(
    ("extra", "expected", "hint"),
    [
        (
            "    big: Annotated[int, Le(2**60)]\n",
            "the bound 1152921504606846976 of an int field is outside ±(2**53 - 1)",
            "declare the field as BigInt",
        ),
        (
            "    kind: Literal[2**53]\n",
            "Literal value 9007199254740992 is outside ±(2**53 - 1)",
            "use a smaller integer",
        ),
        (
            "    half: Annotated[BigInt, Ge(0.5)]\n",
            "a BigInt bound must be an int, got 0.5",
            "",
        ),
    ],
)
def test_a_number_a_javascript_client_would_round_is_refused_where_the_spec_says_it(
    tmp_path: Path, extra: str, expected: str, hint: str
) -> None:
    output = _errors(tmp_path, extra)
    assert "market.py:" in output and expected in output, output
    assert hint in output
