"""``chgen dev`` in a real subprocess on a new project: it builds and serves, rebuilds and
reloads when the spec changes, and stops on Ctrl-C with exit 0.

Every wait is bounded; nothing asserts on how long anything took.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from e2e.server import accepts, free_port
from served import Served, answered, chat

from chgen.cli import main

STEP_TIMEOUT = 90.0  # a rebuild and a reload, on a slow shared machine
RETOUCH_EVERY = 3.0  # rewrite an edit if no rebuild noticed it (the watcher may be starting)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "myapp"])
    assert result.exit_code == 0, result.output
    return tmp_path / "myapp"


def _dev(project: Path, port: int) -> Served:
    return Served([sys.executable, "-m", "chgen", "dev", "--port", str(port)], project, port)


def test_dev_serves_rebuilds_on_a_spec_change_and_stops_on_ctrl_c(project: Path) -> None:
    port = free_port()
    with _dev(project, port) as dev:
        assert (
            f"chgen: serving myapp.generated.chat.routing:application at http://127.0.0.1:{port}/"
            in dev.output()
        )
        posted, reply = chat(port, "hello there")
        assert reply == {"type": "post", "id": 1, "data": {"id": 1}}, posted

        # A tighter limit in the spec: rebuilt, reloaded, enforced.
        spec = project / "specs" / "chat.py"
        error = _rejected(dev, spec, spec.read_text().replace("MaxLen(2000)", "MaxLen(5)"))
        assert error["error"]["code"] == "invalid", error
        assert "changed: specs/chat.py; rebuilding" in dev.output()

        code = dev.interrupt()
        assert code == 0, dev.output()
        assert dev.output().rstrip().endswith("chgen: stopped"), dev.output()
    assert not accepts(port), "the server stopped with chgen dev"


def _rejected(dev: Served, spec: Path, edited: str) -> dict[str, Any]:
    """Write ``edited`` to ``spec`` (again now and then, in case the watcher was starting)
    until the app rejects a post longer than the new limit; that error frame."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        spec.write_text(edited)
        retouch = time.monotonic() + RETOUCH_EVERY
        while time.monotonic() < min(retouch, deadline):
            frames = answered(dev.port, "hello there")
            if frames is not None and frames[0]["type"] == "error":
                return dict(frames[0])
            time.sleep(0.2)
    pytest.fail(f"the new limit was not enforced within {STEP_TIMEOUT} s:\n{dev.output()}")


def test_dev_exits_1_when_the_server_cannot_start(project: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "chgen", "dev", "--port", str(port)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "the server stopped by itself" in output


def test_dev_without_uvicorn_says_what_to_install(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    result = CliRunner().invoke(main, ["dev"])
    assert result.exit_code == 1, result.output
    assert "uvicorn is not installed" in result.output
    assert "pip install 'chgen[serve]'" in result.output
    assert not (project / "src" / "myapp" / "generated").exists(), "nothing was built"


def test_dev_with_several_apps_asks_which(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = project / "specs" / "chat.py"
    (project / "specs" / "other.py").write_text(
        spec.read_text().replace('App(\n    "chat"', 'App(\n    "other"')
    )
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["dev", "--port", str(free_port())])
    assert result.exit_code == 2, result.output
    assert "the specs define 2 apps (chat, other); choose one with --app" in result.output
