"""Python and the TypeScript side read and write the same JSON forms (one fixture set).

Datetimes travel as ISO 8601 strings. A browser produces them with Date.toISOString()
and reads them with Date.parse; the runtime must accept the first and produce the second.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import attrs

from prereq import require_executable
from runtime.codec import decoder, encoder
from runtime.protocol import ProtocolError

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
