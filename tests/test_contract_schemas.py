"""The JSON Schema of every payload accepts exactly what the server accepts.

For every payload of the example app and of the contract fixtures, hypothesis makes data
a client might send (see contract_values): plausible, near every bound and canonical
form, or of the wrong kind. Each value is written as JSON and read back as the server
reads a frame (orjson); then the runtime's decoder and a JSON Schema validator from the
package index (``jsonschema``, Draft 2020-12) each accept or refuse it. They must agree
on every value.

One reading is the server's, not JSON Schema's: a JSON number written with a fraction
or an exponent (``1.0``, ``1e2``) is a float to the server, never an integer, while JSON
Schema's data model counts ``1.0`` as an integer. The validator here reads "integer" as
the server does; docs/contracts.md says so.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from contract_values import Values
from hypothesis import HealthCheck, given, seed, settings
from jsonschema import Draft202012Validator, validators

from chgen.ir import AppIR
from chgen.loader import load_specs
from chgen.render.contracts.schema import standalone_schema
from chgen.resolve import resolve
from chgen.runtime.codec import decoder
from chgen.runtime.protocol import ProtocolError

ROOT = Path(__file__).resolve().parent
SPEC_DIRS = {
    "chat": ROOT.parent / "specs",
    "trading": ROOT.parent / "specs",
    "contract": ROOT / "fixtures" / "contracts" / "specs",
    "alltypes": ROOT / "fixtures" / "alltypes" / "specs",
}
EXAMPLES = 150  # per payload; the contract fixture's Everything has every type in it


def _integer(checker: Any, instance: Any) -> bool:
    return type(instance) is int  # as the server reads JSON: 1 is an integer, 1.0 is not


Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _integer),
)


def _load(name: str) -> tuple[AppIR, dict[str, type[Any]]]:
    loaded, _ = load_specs(SPEC_DIRS[name])
    apps = resolve(loaded, SPEC_DIRS[name])
    # The examples share specs/; a fixture's folder holds its one app.
    app = next((a for a in apps if a.name == name), apps[0])
    classes = {
        cls.__name__: cls
        for item in loaded
        if item.app.name == app.name
        for cls in item.module_payloads
    }
    return app, classes


def _cases() -> Iterator[Any]:
    for fixture in SPEC_DIRS:
        app, _ = _load(fixture)
        for payload in app.payloads:
            yield pytest.param(fixture, payload.name, id=f"{fixture}.{payload.name}")


TALLY: Counter[str] = Counter()


@pytest.mark.parametrize("fixture, name", list(_cases()))
def test_the_schema_and_the_decoder_agree_on_every_value(fixture: str, name: str) -> None:
    app, classes = _load(fixture)
    schema = standalone_schema(app, name)
    Validator.check_schema(schema)
    validate = Validator(schema)
    decode = decoder(classes[name])
    seen: Counter[str] = Counter()

    @seed(20240517)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(Values(app).payload(name))
    def agree(sent: Any) -> None:
        value = orjson.loads(json.dumps(sent))  # as the server reads a frame
        try:
            decode(value)
            server = True
        except ProtocolError:
            server = False
        schema_says = validate.is_valid(value)
        seen["accepted" if server else "refused"] += 1
        assert schema_says == server, (
            f"the server {'accepts' if server else 'refuses'} and the schema "
            f"{'accepts' if schema_says else 'refuses'}: {json.dumps(sent)[:2000]}\n"
            + "\n".join(e.message[:300] for e in validate.iter_errors(value))
        )

    agree()
    TALLY.update({f"{k}": v for k, v in seen.items()})
    # Both answers come up, or the test proved little (an empty payload accepts {} only).
    assert seen["refused"] > 0, seen
    if classes[name].__attrs_attrs__:
        assert seen["accepted"] > 0, f"no generated value was accepted: {seen}"
