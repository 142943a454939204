"""``chgen init``: a new project that runs after ``chgen build`` and the printed command,
and that never overwrites a file."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from e2e.server import free_port
from served import Served, chat

from chgen.cli import main

FILES = [
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "specs/chat.py",
    "src/myapp/__init__.py",
    "src/myapp/handlers.py",
]


def _chgen(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, list(args))


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_init_then_build_then_the_printed_command_serves_a_working_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _chgen(tmp_path, monkeypatch, "init", "myapp")
    assert result.exit_code == 0, result.output
    project = tmp_path / "myapp"
    assert _files(project) == FILES
    lines = result.output.splitlines()
    serve = (
        "uvicorn myapp.generated.chat.routing:application --app-dir src"
        " --http chgen.runtime.handshake:AutoHTTPProtocol"
    )
    assert lines[1:5] == ["Next:", "  cd myapp", "  chgen build", f"  {serve}"], result.output
    assert serve in (project / "README.md").read_text()

    config = tomllib.loads((project / "pyproject.toml").read_text())
    assert config["project"]["dependencies"] == ["chgen[serve]"]
    assert config["tool"]["chgen"] == {
        "spec-dir": "specs",
        "out-dir": "src/myapp/generated",
        "handler-root": "src",
    }

    built = _chgen(project, monkeypatch, "build")
    assert built.exit_code == 0, built.output
    # The handlers are what `chgen scaffold` would write, with their bodies filled in.
    scaffolded = _chgen(project, monkeypatch, "scaffold")
    assert scaffolded.output == "chgen: src/myapp/handlers.py is up to date\n"

    port = free_port()
    command = [sys.executable, "-m", *serve.split(), "--port", str(port)]
    with Served(command, project, port):
        posted, reply = chat(port, "hi")
    assert posted == {"type": "posted", "data": {"id": 1, "text": "hi"}}
    assert reply == {"type": "post", "id": 1, "data": {"id": 1}}


def test_init_here_writes_into_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "chat-room"
    project.mkdir()
    (project / "LICENSE").write_text("mine\n")
    result = _chgen(project, monkeypatch, "init")
    assert result.exit_code == 0, result.output
    assert "cd " not in result.output
    assert (project / "src" / "chat_room" / "handlers.py").is_file()
    assert 'name = "chat-room"' in (project / "pyproject.toml").read_text()
    assert (project / "LICENSE").read_text() == "mine\n"


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "myapp"
    (project / "specs").mkdir(parents=True)
    (project / "specs" / "chat.py").write_text("# mine\n")
    result = _chgen(tmp_path, monkeypatch, "init", "myapp")
    assert result.exit_code == 1
    assert "already has specs/chat.py" in result.output
    assert "nothing was written" in result.output
    assert _files(project) == ["specs/chat.py"]
    assert (project / "specs" / "chat.py").read_text() == "# mine\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "2fast"], "'2fast' is not a Python package name; name it with --name"),
        (["init", "x", "--name", "for"], "'for' is not a Python package name"),
        (["init", "x", "--name", "chgen"], "would shadow the module of the same name"),
        (["init", "json"], "would shadow the module of the same name"),
    ],
)
def test_a_name_that_cannot_be_a_package_is_a_usage_error(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _chgen(tmp_path, monkeypatch, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_name_option_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _chgen(tmp_path, monkeypatch, "init", "2fast", "--name", "fast")
    assert result.exit_code == 0, result.output
    assert "uvicorn fast.generated.chat.routing:application --app-dir src" in result.output
    assert (tmp_path / "2fast" / "src" / "fast" / "handlers.py").is_file()
