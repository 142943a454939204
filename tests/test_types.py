"""Every payload type round-trips through generated code with one JSON form, and type-checks.

The alltypes fixture spec uses each supported type and constraint; it is built, served
in-process by its generated Router, and checked with mypy --strict with its handlers.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from chgen.build import generate
from chgen.runtime.testing import WebsocketClient
from chgen.writer import write

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "alltypes"

SAMPLE: dict[str, Any] = {
    "text": "hi",
    "code": "ABC",
    "count": 1,
    "ratio": 0.5,
    "level": 3,
    "grade": 2,
    "pair": [1, 2],
    "flag": True,
    "when": "2024-02-29T23:59:59.123Z",
    "kind": 3,
    "nothing": None,
    "maybe": None,
    "point": {"x": 1.0, "y": 2.0},
    "points": [],
    "maybe_points": [None, {"x": 0.0, "y": 0.0}],
    "day": "2024-02-29",
    "ident": "123e4567-e89b-12d3-a456-426614174000",
    "price": "12.50",
    "color": '"*/',
    "scores": {"a": 1},
    "nested": {"here": [{"x": 1.0, "y": 2.0}]},
    "figure": {"shape": "circle", "radius": 1.5},
    "maybe_figure": None,
    "figures": [{"shape": "square", "side": 2.0}, {"shape": "circle", "radius": 1.0}],
    "tags": ["a"],
    "note": "n",
    "limit": 2.5,
    "enabled": True,
    "parent": 7,
    "tint": "red",
    "extras": {"k": "v"},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("alltypes_project")
    write(generate(FIXTURE / "specs"), root / "alltypesgen")
    shutil.copy(FIXTURE / "alltypes_handlers.py", root / "alltypes_handlers.py")
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m.startswith(("alltypesgen", "alltypes_handlers"))]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def payloads(project: Path) -> ModuleType:
    return importlib.import_module("alltypesgen.alltypes.payloads")


def test_generated_app_and_handlers_pass_mypy_strict(project: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "-p",
            "alltypesgen",
            "-m",
            "alltypes_handlers",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_type_round_trips_with_one_json_form(payloads: ModuleType) -> None:
    from chgen.runtime.codec import decoder, encoder

    value = decoder(payloads.Sample)(SAMPLE)
    assert value.color is payloads.Color.CLOSE_QUOTE
    assert type(value.figure).__name__ == "Circle"
    assert [type(f).__name__ for f in value.figures] == ["Square", "Circle"]
    assert str(value.price) == "12.50"
    assert encoder(payloads.Sample)(value) == SAMPLE


def test_defaults_fill_in_what_the_client_leaves_out(payloads: ModuleType) -> None:
    from chgen.runtime.codec import decoder

    optional = {"tags", "note", "limit", "enabled", "parent", "tint", "extras"}
    value = decoder(payloads.Sample)({k: v for k, v in SAMPLE.items() if k not in optional})
    assert value.tint is payloads.Color.GREEN
    assert value.extras == {} and value.tags == []
    assert value.note == 'it\'s "quoted"'


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"color": "blue"}, "$.data.color", 'expected one of "red", "green", "\\"*/"'),
        ({"grade": True}, "$.data.grade", "expected one of 1, 2"),
        ({"day": "2024-2-29"}, "$.data.day", "expected a date string YYYY-MM-DD"),
        ({"ident": "nope"}, "$.data.ident", "expected a lowercase UUID string"),
        ({"price": 12.5}, "$.data.price", "expected a decimal number as a string"),
        ({"price": "-1"}, "$.data.price", "must be >= 0"),
        ({"scores": {"a": "1"}}, "$.data.scores.a", "expected an integer"),
        ({"scores": {"a": 1, "b": 2, "c": 3, "d": 4}}, "$.data.scores", "at most 3 items"),
        ({"nested": {"x y": [{"x": 1}]}}, '$.data.nested["x y"][0].y', "required field missing"),
        ({"figure": {"shape": "hexagon"}}, "$.data.figure.shape", 'expected one of "circle"'),
        ({"figure": {"radius": 1}}, "$.data.figure.shape", "required field missing"),
        ({"figure": {"shape": "circle", "radius": 0}}, "$.data.figure.radius", "must be > 0"),
        ({"figures": [{"shape": "square"}]}, "$.data.figures[0].side", "required field"),
    ],
)
def test_each_type_rejects_bad_values_with_a_path(
    payloads: ModuleType, change: dict[str, Any], path: str, message: str
) -> None:
    from chgen.runtime.codec import decoder
    from chgen.runtime.protocol import ProtocolError

    with pytest.raises(ProtocolError) as caught:
        decoder(payloads.Sample)({**SAMPLE, **change})
    details = [(d.path, d.message) for d in caught.value.details]
    assert any(p == path and message in m for p, m in details), details


async def test_the_generated_app_echoes_every_type_over_a_socket(project: Path) -> None:
    routing = importlib.import_module("alltypesgen.alltypes.routing")
    async with WebsocketClient(routing.application, "/hub/news/") as client:
        echoed = await client.request("echo", SAMPLE, stream="every")
        happened = await client.event("happened", stream="every")
    assert echoed == SAMPLE
    assert happened == SAMPLE
