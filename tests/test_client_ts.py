"""The generated TypeScript client type-checks strictly, and its types really constrain."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from chgen.build import generate
from chgen.writer import write
from tsc import ROOT, STRICT, tsc

ALLTYPES = Path(__file__).parent / "fixtures" / "alltypes" / "specs"
USAGE = Path(__file__).parent / "client"


@pytest.fixture(scope="module")
def alltypes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alltypes")
    write(generate(ALLTYPES), out)
    return out / "alltypes"


def test_every_generated_client_compiles_under_strict(alltypes: Path, tmp_path: Path) -> None:
    shutil.copy(USAGE / "usage_alltypes.ts", alltypes / "usage.ts")
    result = tsc(
        *STRICT,
        str(ROOT / "generated" / "chat" / "client.ts"),
        str(alltypes / "client.ts"),
        str(alltypes / "usage.ts"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_declarations_type_the_javascript_module(alltypes: Path, tmp_path: Path) -> None:
    # No client.ts here: "./client.js" resolves to client.d.ts, as for a JS-only user.
    for name in ("client.js", "client.d.ts"):
        shutil.copy(alltypes / name, tmp_path / name)
    shutil.copy(USAGE / "usage_alltypes.ts", tmp_path / "usage.ts")
    result = tsc(*STRICT, "client.d.ts", "usage.ts", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_wrong_payloads_and_incomplete_switches_do_not_compile(alltypes: Path) -> None:
    source = USAGE / "usage_alltypes_errors.ts"
    shutil.copy(source, alltypes / "errors.ts")
    result = tsc(*STRICT, "errors.ts", cwd=alltypes)
    assert result.returncode != 0
    reported = {int(m) for m in re.findall(r"errors\.ts\((\d+),\d+\): error", result.stdout)}
    expected = {
        number
        for number, line in enumerate(source.read_text().splitlines(), start=1)
        if "// error:" in line
    }
    assert reported == expected, result.stdout
