"""The wheel, installed into a fresh venv outside the repository, runs a new project.

The wheel is built from a copy of the working tree (``pip wheel``) and installed with
the ``[serve]`` extra into a new venv; its dependencies come from the package index
(pip's cache makes a second run quick). Then, with the working directory outside the
repository and only that venv on PATH, as a user would: ``chgen init``, a spec change,
``chgen build``, ``chgen scaffold``, a handler filled in, the printed serve command.
The app answers the Python ``websockets`` client and the generated JavaScript client
under Node, and the generated TypeScript compiles under ``tsc --strict``. The project
holds modules named ``runtime`` and ``codegen`` of its own, imported by its handlers.

It runs in the whole suite (``scripts/test``, CI). Node, npm's ``ws`` and ``tsc`` are
prerequisites (tests/prereq.py); so is the package index: without it the test is
skipped, and under CI it fails. ``-m "not wheel"`` leaves it out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.server import free_port, open_ws, recv_json, run, send_json
from served import Served, chat

from prereq import require_executable
from tsc import STRICT, require_tsc, tsc

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "codegen", "runtime", "templates")
INSTALL_TIMEOUT = 600  # seconds: a cold pip cache downloads every dependency
STEP_TIMEOUT = 120
# pip's words when the package index cannot be reached
OFFLINE = ("NewConnectionError", "Failed to establish a new connection", "Temporary failure")

# The project's own modules, named like chgen's folders: nothing may confuse them.
RUNTIME_PY = '''"""The project's own runtime module; chgen's is chgen.runtime."""

from codegen import EXCLAIM


def shout(text: str) -> str:
    return text.upper() + EXCLAIM
'''
CODEGEN_PY = 'EXCLAIM = "!"\n'

NODE_SCRIPT = """
const { WebSocket } = await import(process.env.WS_MODULE);
const M = await import(process.env.CLIENT_MODULE);

function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const socket = new M.ChatSocket(M.chatUrl(process.env.BASE, { room: "node" }), { WebSocket });
const posted = [];
socket.on.posted((data) => posted.push(data));
try {
  const ack = await within(socket.request.post({ text: "from node" }), 10000, "post");
  const shout = await within(socket.request.shout({ text: "hey" }), 10000, "shout");
  let error = null;
  try {
    await within(socket.request.post({ text: "" }), 10000, "empty post");
  } catch (caught) {
    error = { code: caught.code, details: caught.details };
  }
  console.log(JSON.stringify({ ack, shout, posted, error }));
} finally {
  socket.close();
}
"""


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = STEP_TIMEOUT) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return result.stdout


def _offline(output: str) -> None:
    """Skip (fail under CI) when pip's failure says the index is out of reach."""
    if any(word in output for word in OFFLINE):
        _missing(f"the package index is not reachable, so pip cannot install:\n{output}")


def _missing(message: str) -> None:
    """A prerequisite is missing: a failure under CI, elsewhere a skip saying what."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the repository with the wheel and its [serve] extra; its bin."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(base / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    _offline(built.stdout + built.stderr)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (base / "dist").glob("chgen-*.whl")

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "venv")], check=True)
    python = base / "venv" / "bin" / "python"
    # The test's own pip installs into the new venv: quicker than bootstrapping one there.
    installed = subprocess.run(
        [*pip, "--python", str(python), "install", "--quiet", f"{wheel}[serve]"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    _offline(installed.stdout + installed.stderr)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python.parent


@pytest.fixture(scope="module")
def env(venv: Path) -> dict[str, str]:
    """The environment of a user of that venv: its bin first on PATH, nothing of ours."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {
        **clean,
        "PATH": f"{venv}{os.pathsep}{clean.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv.parent),
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Iterator[Path]:
    """``chgen init``, then a new message type built, scaffolded and filled in."""
    work = tmp_path_factory.mktemp("user")
    assert not work.resolve().is_relative_to(ROOT)
    printed = _run(["chgen", "init", "myapp"], work, env)
    project = work / "myapp"
    for folder in (project, project / "src"):
        (folder / "runtime.py").write_text(RUNTIME_PY)
        (folder / "codegen.py").write_text(CODEGEN_PY)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            '# client-dir = "frontend/src/api"', 'client-dir = "frontend/src/api"'
        )
    )
    spec = project / "specs" / "chat.py"
    spec.write_text(
        spec.read_text().replace(
            '{"post": Handler(Post, reply=Ack)}',
            '{"post": Handler(Post, reply=Ack), "shout": Handler(Post, reply=Posted)}',
        )
    )
    _run(["chgen", "build"], project, env)
    scaffolded = _run(["chgen", "scaffold"], project, env)
    assert "chgen: updated src/myapp/handlers.py: added Chat.shout" in scaffolded
    handlers = project / "src" / "myapp" / "handlers.py"
    source = handlers.read_text()
    stub = "    async def shout(self, data: Post) -> Posted:\n        raise NotImplementedError\n"
    assert stub in source, source
    filled = stub.replace(
        "raise NotImplementedError", "return Posted(id=0, text=runtime.shout(data.text))"
    )
    handlers.write_text(
        source.replace(stub, filled).replace(
            "import itertools\n", "import itertools\n\nimport runtime\n"
        )
    )
    (serve,) = [
        line.strip() for line in printed.splitlines() if line.strip().startswith("uvicorn ")
    ]
    (project / "serve-command").write_text(serve)
    yield project


@pytest.fixture(scope="module")
def port(project: Path, env: dict[str, str]) -> Iterator[int]:
    """The printed serve command, run with the venv's uvicorn on a free port."""
    serve = (project / "serve-command").read_text().split()
    port = free_port()
    with Served([*serve, "--port", str(port)], project, port, env):
        yield port


def test_the_generator_and_runtime_come_from_the_installed_wheel(
    venv: Path, project: Path, env: dict[str, str]
) -> None:
    where = _run(
        [
            "python",
            "-c",
            "import chgen.runtime, chgen.scaffold, runtime; "
            "print(chgen.runtime.__file__); print(runtime.__file__)",
        ],
        project / "src",
        env,
    ).split()
    assert Path(where[0]).is_relative_to(venv.parent), where
    assert Path(where[1]) == project / "src" / "runtime.py"


def test_the_app_answers_the_python_websockets_client(port: int) -> None:
    posted, reply = chat(port, "hi")
    assert posted == {"type": "posted", "data": {"id": 1, "text": "hi"}}
    assert reply == {"type": "post", "id": 1, "data": {"id": 1}}

    async def shout() -> Any:
        async with open_ws(f"ws://127.0.0.1:{port}/ws/lobby/") as ws:
            await send_json(ws, {"type": "shout", "id": "s", "data": {"text": "hey"}})
            return await recv_json(ws)

    assert run(shout()) == {"type": "shout", "id": "s", "data": {"id": 0, "text": "HEY!"}}
    (error,) = chat(port, "")
    assert error["error"]["code"] == "invalid"


def test_the_generated_js_client_talks_to_it_under_node(
    port: int, project: Path, tmp_path: Path
) -> None:
    node = require_executable("node", "Node.js 20 runs the generated client")
    ws = ROOT / "node_modules" / "ws" / "wrapper.mjs"
    if not ws.is_file():
        _missing("node_modules/ws is not installed (run scripts/setup or npm ci)")
    client = project / "frontend" / "src" / "api" / "chat" / "client.js"
    assert not (project / "src" / "myapp" / "generated" / "chat" / "client.js").exists()
    script = tmp_path / "talk.mjs"
    script.write_text(NODE_SCRIPT)
    result = subprocess.run(
        [node, str(script)],
        env={
            **os.environ,
            "WS_MODULE": ws.as_uri(),
            "CLIENT_MODULE": client.as_uri(),
            "BASE": f"ws://127.0.0.1:{port}",
        },
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout)
    assert seen["shout"] == {"id": 0, "text": "HEY!"}
    assert seen["posted"][0]["text"] == "from node"
    assert seen["ack"]["id"] == seen["posted"][0]["id"]
    assert seen["error"]["code"] == "invalid"
    assert seen["error"]["details"][0]["path"] == "$.data.text"


def test_the_generated_ts_client_compiles_under_tsc_strict(project: Path) -> None:
    require_tsc()
    client = project / "frontend" / "src" / "api" / "chat" / "client.ts"
    result = tsc(*STRICT, str(client), cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
