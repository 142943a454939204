"""``chgen build`` exit codes: 0 ok, 1 spec errors or stale output, 2 usage, 123 a bug."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from chgen.cli import main
from chgen.render import app as app_renderer

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
BROKEN = ROOT / "tests" / "fixtures" / "broken" / "specs"


def chgen(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_a_good_build_and_a_fresh_check_exit_0(tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    assert chgen("build", str(SPECS), "-o", out).exit_code == 0
    assert chgen("build", str(SPECS), "-o", out).exit_code == 0
    assert chgen("build", str(SPECS), "-o", out, "--check").exit_code == 0


def test_spec_errors_exit_1(tmp_path: Path) -> None:
    result = chgen("build", str(BROKEN), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "error(s) in specs; nothing was written." in result.output


def test_stale_output_under_check_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert chgen("build", str(SPECS), "-o", str(out)).exit_code == 0
    (out / "chat" / "routing.py").unlink()
    result = chgen("build", str(SPECS), "-o", str(out), "--check")
    assert result.exit_code == 1
    assert "is stale" in result.output


def test_a_users_file_in_the_way_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "chat").mkdir(parents=True)
    (out / "chat" / "routing.py").write_text("# mine\n")
    assert chgen("build", str(SPECS), "-o", str(out)).exit_code == 1


@pytest.mark.parametrize(
    "args",
    [
        ["build"],
        ["build", "no-such-dir"],
        ["build", "no-such-dir", "--watch"],
        ["build", str(SPECS), "--no-such-option"],
        ["build", str(SPECS), "--check", "--watch"],
        ["build", str(SPECS), "--templates", "no-such-dir"],
        ["build", str(SPECS), "--jobs", "0"],
    ],
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    result = chgen(*args, *(["-o", str(tmp_path / "out")] if len(args) > 1 else []))
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "out").exists()


def test_an_empty_spec_directory_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    assert chgen("build", str(tmp_path / "specs"), "-o", str(tmp_path / "out")).exit_code == 2


def test_an_internal_error_exits_123_and_asks_for_a_bug_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_renderer(*_: Any) -> dict[str, str]:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(app_renderer, "render_app", broken_renderer)
    out = tmp_path / "out"
    result = chgen("build", str(SPECS), "-o", str(out))

    assert result.exit_code == 123
    assert "RuntimeError: renderer exploded" in result.output, "the traceback is shown"
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: chgen failed unexpectedly. This is a bug in chgen")
    assert "please report it" in last
    assert not out.exists(), "nothing is written"


def test_an_internal_error_under_check_also_exits_123(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_renderer(*_: Any) -> dict[str, str]:
        raise KeyError("oops")

    monkeypatch.setattr(app_renderer, "render_app", broken_renderer)
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    result = chgen("build", str(specs), "-o", str(tmp_path / "out"), "--check")
    assert result.exit_code == 123
    assert "please report it" in result.output.strip().splitlines()[-1]
