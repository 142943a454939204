"""Rebuilds do only what changed: the build manifest in the output directory.

Observed as a user would: the summary line, which files' contents and modification
times changed, and (through a counting stand-in for the renderer) which apps were
rendered again. Nothing here depends on timing.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import chgen.loader
from chgen.build import generate, plan_build
from chgen.cli import main
from chgen.manifest import MANIFEST_NAME
from chgen.progress import reporter
from chgen.render import app as app_renderer

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with two apps: the example chat app and a copy of it named ``chat2``."""
    specs = tmp_path / "specs"
    specs.mkdir()
    chat = (SPECS / "chat.py").read_text()
    (specs / "chat.py").write_text(chat)
    (specs / "chat2.py").write_text(chat.replace('"chat",', '"chat2",'))
    return tmp_path


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts how often each app's Python package is rendered."""
    counts: Counter[str] = Counter()
    real = app_renderer.render_app

    def counting(app: Any, env: Any) -> dict[str, str]:
        counts[app.name] += 1
        return real(app, env)

    monkeypatch.setattr(app_renderer, "render_app", counting)
    yield counts


def build(project: Path, *args: str) -> Result:
    out = project / "generated"
    result = CliRunner().invoke(main, ["build", str(project / "specs"), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return result


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    """Content and modification time (ns) of every file under ``out``."""
    return {
        p.relative_to(out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(out.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def touched(before: dict[str, tuple[bytes, int]], after: dict[str, tuple[bytes, int]]) -> set[str]:
    return {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}


def test_an_unchanged_rebuild_writes_nothing_reports_0_changed_and_imports_no_spec(
    project: Path, monkeypatch: pytest.MonkeyPatch, rendered: Counter[str]
) -> None:
    first = build(project)
    assert "21 added" in first.output and "(rendered 2 of 2 apps)" in first.output
    before = snapshot(project / "generated")

    def no_import(*_: object) -> None:
        raise AssertionError("an unchanged rebuild imported the specs")

    monkeypatch.setattr(chgen.loader, "load_apps", no_import)
    rendered.clear()
    again = build(project)
    assert "0 added, 0 changed, 0 removed, 21 unchanged" in again.output
    assert "(rendered 0 of 2 apps)" in again.output
    assert not rendered
    assert touched(before, snapshot(project / "generated")) == set()


def test_editing_one_apps_spec_re_renders_and_rewrites_only_that_app(
    project: Path, rendered: Counter[str]
) -> None:
    build(project)
    before = snapshot(project / "generated")
    spec = project / "specs" / "chat2.py"
    spec.write_text(spec.read_text().replace("MinLen(1), MaxLen(2000)", "MinLen(1), MaxLen(99)"))
    rendered.clear()

    result = build(project)

    assert rendered == Counter({"chat2": 1})
    assert "(rendered 1 of 2 apps)" in result.output
    changed = touched(before, snapshot(project / "generated"))
    assert "chat2/payloads.py" in changed
    assert all(rel.startswith("chat2/") or rel == MANIFEST_NAME for rel in changed), changed
    assert "MaxLen(99)" in (project / "generated" / "chat2" / "payloads.py").read_text()


def test_a_hand_edited_or_deleted_generated_file_is_repaired(
    project: Path, rendered: Counter[str]
) -> None:
    build(project)
    out = project / "generated"
    pristine = snapshot(out)
    payloads = out / "chat" / "payloads.py"
    payloads.write_text(payloads.read_text().replace("MaxLen(2000)", "MaxLen(1)"))
    (out / "chat" / "client.ts").unlink()
    rendered.clear()

    result = build(project)

    assert "1 added, 1 changed, 0 removed" in result.output
    assert rendered == Counter({"chat": 1}), "only the app whose output was damaged"
    repaired = snapshot(out)
    assert {rel: content for rel, (content, _) in repaired.items()} == {
        rel: content for rel, (content, _) in pristine.items()
    }


def test_check_compares_with_the_disk_even_when_the_manifest_is_fresh(project: Path) -> None:
    build(project)
    out = project / "generated"
    args = ["build", str(project / "specs"), "-o", str(out), "--check"]
    assert CliRunner().invoke(main, args).exit_code == 0

    routing = out / "chat" / "routing.py"
    routing.write_text(routing.read_text() + "# a hand edit\n")
    (out / "chat" / "stray.py").write_text("# @generated by chgen from old.py. DO NOT EDIT.\n")
    manifest = (out / MANIFEST_NAME).read_bytes()

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "-# a hand edit" in result.output
    assert "a/chat/stray.py" in result.output
    assert (out / MANIFEST_NAME).read_bytes() == manifest, "--check writes nothing"


def test_a_stale_manifest_or_a_missing_one_only_costs_a_full_build(
    project: Path, rendered: Counter[str]
) -> None:
    build(project)
    out = project / "generated"
    expected = snapshot(out)
    (out / MANIFEST_NAME).write_text("{not json")
    rendered.clear()
    result = build(project)
    assert rendered == Counter({"chat": 1, "chat2": 1})
    assert "0 added, 0 changed, 0 removed" in result.output
    (out / MANIFEST_NAME).unlink()
    build(project)
    contents = {rel: data for rel, (data, _) in snapshot(out).items()}
    assert contents == {rel: data for rel, (data, _) in expected.items()}


def test_a_helper_module_the_specs_import_is_an_input_too(
    project: Path, rendered: Counter[str]
) -> None:
    """Both a private helper beside the specs and a project module outside them."""
    specs = project / "specs"
    (specs / "_limits.py").write_text("TEXT = 2000\n")
    (project / "project_limits.py").write_text("SAY = 2000\n")
    chat = specs / "chat.py"
    chat.write_text(
        chat.read_text()
        .replace("from chgen.spec", "from _limits import TEXT\nfrom project_limits import SAY\n\n&")
        .replace("&", "from chgen.spec")
        .replace("MinLen(1), MaxLen(2000)", "MinLen(1), MaxLen(TEXT)")
        .replace("str, MaxLen(2000)", "str, MaxLen(SAY)")
    )
    build(project)
    payloads = project / "generated" / "chat" / "payloads.py"
    assert payloads.read_text().count("MaxLen(2000)") == 2

    (specs / "_limits.py").write_text("TEXT = 300\n")
    build(project)
    assert "MinLen(1), MaxLen(300)" in payloads.read_text()

    (project / "project_limits.py").write_text("SAY = 40\n")
    rendered.clear()
    result = build(project)
    assert rendered == Counter({"chat": 1}), result.output
    assert "Annotated[str, MaxLen(40)]" in payloads.read_text()


def test_rendering_in_parallel_processes_gives_the_same_files(
    project: Path, tmp_path: Path
) -> None:
    parallel = plan_build(project / "specs", tmp_path / "parallel", jobs=2)
    serial = plan_build(project / "specs", tmp_path / "serial", jobs=1)
    assert parallel.files == serial.files == generate(project / "specs")
    assert set(parallel.rendered) == {"", "chat", "chat2"}


def test_the_manifest_is_deterministic_and_machine_independent(project: Path) -> None:
    manifests = []
    for seed in ("1", "4242"):
        out = project / f"out{seed}"
        subprocess.run(
            [sys.executable, "-m", "chgen", "build", str(project / "specs"), "-o", str(out)],
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
        )
        manifests.append((out / MANIFEST_NAME).read_text())
    assert manifests[0] == manifests[1]
    assert str(project) not in manifests[0], "no absolute paths"
    assert '"chat.py"' in manifests[0] and '"chat2/payloads.py"' in manifests[0]


def test_the_manifest_stays_out_of_git_and_out_of_check() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    ignored = subprocess.run(["git", "check-ignore", "-q", f"generated/{MANIFEST_NAME}"], cwd=ROOT)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 0, f"{MANIFEST_NAME} should be in .gitignore"


def test_progress_goes_to_stderr_with_verbose_and_stays_out_of_ci_logs(project: Path) -> None:
    args = ["build", str(project / "specs"), "-o", str(project / "generated")]
    quiet = CliRunner().invoke(main, args)
    assert quiet.exit_code == 0
    assert quiet.stderr == "", "stderr is not a terminal here: no progress by default"

    (project / "generated" / "chat" / "routing.py").unlink()
    verbose = CliRunner().invoke(main, [*args, "--verbose"])
    assert verbose.exit_code == 0
    assert "rendering chat…" in verbose.stderr
    assert "rendering chat2…" not in verbose.stderr, "only what changed is rendered"
    assert "rendering" not in verbose.stdout
    assert verbose.stdout.startswith("chgen: 1 added, 0 changed")


def test_progress_is_on_by_default_when_stderr_is_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, log = Terminal(), io.StringIO()
    shown = reporter(verbose=False, stream=terminal)
    assert shown is not None
    shown("rendering chat…")
    assert terminal.getvalue() == "chgen: rendering chat…\n"
    assert reporter(verbose=False, stream=log) is None
    assert reporter(verbose=True, stream=log) is not None
