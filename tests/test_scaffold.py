"""`chgen scaffold`: handler modules are created, then only ever added to.

Each case in tests/fixtures/scaffold/<case>/ is a spec (spec.py), the handler module
before the run (before.py; absent: the module does not exist yet), the module after it
(after.py), lines the command must print (output.txt) and, optionally, the project's
pyproject.toml (its line length is the stubs' line length).
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from chgen.build import generate
from chgen.cli import main
from chgen.writer import write

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).parent / "fixtures" / "scaffold"
ALLTYPES = Path(__file__).parent / "fixtures" / "alltypes" / "specs"


def _project(tmp_path: Path, spec: str, handlers: bytes | None) -> Path:
    """A project with ``specs/spec.py`` and, optionally, ``handlers/app.py``."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "spec.py").write_text(spec)
    if handlers is not None:
        (tmp_path / "handlers").mkdir()
        (tmp_path / "handlers" / "__init__.py").write_text("")
        (tmp_path / "handlers" / "app.py").write_bytes(handlers)
    return tmp_path / "handlers" / "app.py"


def _scaffold(project: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(project)
    return CliRunner().invoke(main, ["scaffold", "specs", *args])


def _only_insertions(before: str, after: str) -> bool:
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return all(tag in ("equal", "insert") for tag, *_ in matcher.get_opcodes())


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_scaffold_case(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / case
    before = (folder / "before.py").read_bytes() if (folder / "before.py").exists() else None
    expected = (folder / "after.py").read_bytes()
    module = _project(tmp_path, (folder / "spec.py").read_text(), before)
    if (folder / "pyproject.toml").exists():  # the project's line length
        shutil.copy(folder / "pyproject.toml", tmp_path / "pyproject.toml")

    result = _scaffold(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert module.read_bytes() == expected, module.read_text()
    for line in (folder / "output.txt").read_text().splitlines():
        assert line in result.output.splitlines(), result.output
    assert (tmp_path / "handlers" / "__init__.py").is_file()
    if before is not None:
        # Existing bytes are never changed, only added to.
        assert _only_insertions(before.decode(), expected.decode())

    again = _scaffold(tmp_path, monkeypatch)
    assert again.exit_code == 0, again.output
    assert module.read_bytes() == expected, "a second run must not change the file"
    assert "chgen: handlers/app.py is up to date" in again.output


SPEC = """
from chgen.spec import App, Handler, JsonWebsocketConsumer, payload


@payload
class Post:
    text: str


@payload
class Ack:
    id: int


chat = JsonWebsocketConsumer(
    "Chat", method_mapping={"post": Handler(Post, reply=Ack), "edit": Handler(Post)}
)
app = App("app", routes=[chat.as_route(r"^/ws/$")], handlers="handlers.app")
"""


def test_a_module_that_does_not_parse_is_reported_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = b'"""Half written."""\n\nclass Chat(ChatBase):\n    async def post(self, data) ->\n'
    module = _project(tmp_path, SPEC, broken)
    result = _scaffold(tmp_path, monkeypatch)
    assert result.exit_code == 1
    assert "handlers/app.py:4:" in result.output
    assert "cannot parse the handler module, so it was left untouched" in result.output
    assert "Traceback" not in result.output
    assert module.read_bytes() == broken


def test_tabs_and_crlf_line_endings_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (
        b"from generated.app.consumers import ChatBase\r\n"
        b"from generated.app.payloads import Ack, Post\r\n"
        b"\r\n"
        b"\r\n"
        b"class Chat(ChatBase):\r\n"
        b"\tasync def post(self, data: Post) -> Ack:\r\n"
        b"\t\treturn Ack(id=1)\r\n"
    )
    module = _project(tmp_path, SPEC, before)
    assert _scaffold(tmp_path, monkeypatch).exit_code == 0
    assert module.read_bytes() == before + (
        b"\r\n\tasync def edit(self, data: Post) -> None:\r\n\t\traise NotImplementedError\r\n"
    )


def test_a_one_line_class_gets_an_indented_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (
        b"from generated.app.consumers import ChatBase\n"
        b"from generated.app.payloads import Ack, Post\n\n\n"
        b"class Chat(ChatBase): pass  # nothing yet\n"
    )
    module = _project(tmp_path, SPEC, before)
    assert _scaffold(tmp_path, monkeypatch).exit_code == 0
    assert module.read_text().endswith(
        "class Chat(ChatBase):\n"
        "    pass  # nothing yet\n\n"
        "    async def edit(self, data: Post) -> None:\n"
        "        raise NotImplementedError\n\n"
        "    async def post(self, data: Post) -> Ack:\n"
        "        raise NotImplementedError\n"
    )


def test_a_consumer_bound_some_other_way_is_reported_not_redefined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = b'"""Re-exports the handlers."""\n\nfrom handlers.impl import Chat\n'
    module = _project(tmp_path, SPEC, before)
    result = _scaffold(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert module.read_bytes() == before
    assert (
        "warning: handlers/app.py:3: Chat is bound from handlers.impl but not by a class "
        "statement in this module" in result.output
    )


def test_the_generated_package_follows_the_out_option_and_the_file_mode_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _project(tmp_path, SPEC, None)
    result = _scaffold(tmp_path, monkeypatch, "-o", "build/gen")
    assert result.exit_code == 0, result.output
    assert "from build.gen.app.consumers import ChatBase" in module.read_text()
    module.chmod(0o640)
    (tmp_path / "specs" / "spec.py").write_text(SPEC.replace('"edit"', '"change"'))
    assert _scaffold(tmp_path, monkeypatch, "-o", "build/gen").exit_code == 0
    assert "async def change(self, data: Post) -> None:" in module.read_text()
    assert module.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--app", "chta"], 2, "no app named 'chta'"),
        (["-o", "/elsewhere"], 2, "is not inside the project root"),
    ],
)
def test_usage_errors(
    args: list[str], code: int, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _project(tmp_path, SPEC, None)
    result = _scaffold(tmp_path, monkeypatch, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert not module.exists()


def test_spec_errors_are_located_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _project(tmp_path, SPEC.replace('"edit"', '"class"'), None)
    result = _scaffold(tmp_path, monkeypatch)
    assert result.exit_code == 1
    assert 'spec.py:16: $.method_mapping["class"]: message type name is reserved' in (result.output)
    assert not module.exists()


def test_scaffolded_handlers_pass_mypy_strict_with_the_generated_package(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    specs = tmp_path / "specs"
    shutil.copytree(ALLTYPES, specs)
    shutil.copy(ROOT / "specs" / "chat.py", specs / "chat.py")
    write(generate(specs), tmp_path / "generated")
    scaffold = subprocess.run(
        [sys.executable, "-m", "chgen", "scaffold", str(specs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert scaffold.returncode == 0, scaffold.stdout + scaffold.stderr
    assert (tmp_path / "alltypes_handlers.py").is_file()
    assert (tmp_path / "handlers" / "chat.py").is_file()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "-p",
            "generated",
            "-p",
            "handlers",
            "-m",
            "alltypes_handlers",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
