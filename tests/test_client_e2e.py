"""End to end: the generated TypeScript/JavaScript chat client against real uvicorn servers.

* ``test_node_client``: tests/client/node_e2e.test.mjs (node:test, ``ws`` as the WebSocket)
  twice, once on the shipped generated/chat/client.js and once on client.ts compiled by tsc:
  both must behave the same against the chat server.
* ``test_reconnect_across_server_crash_and_restart``: a Node client (tests/client/
  e2e_reconnect.mjs, again on both modules) while this test crashes, restarts and stops
  the server on one port.
* ``test_clients_leaving_mid_broadcast_log_no_server_error``: clients close while their
  room's posts are on their way (tests/client/e2e_churn.mjs); the server must not log errors.
* ``test_browser_page``: the example page (handlers.page) in headless Chromium,
  tests/client/browser_e2e.mjs with playwright-core.
* ``test_connection_options``: subprotocols, headers and a token per connection attempt
  (tests/client/auth_e2e.test.mjs, on both modules) against the chat app behind a gate
  that checks every handshake and refuses it otherwise.
* ``test_recovery``: a client whose TCP connection is cut gets the events it missed on
  reconnect, through its typed handlers, and ``onRecovery`` (tests/client/
  recovery_e2e.test.mjs, on both modules) against tests/fixtures/recovery_app.py.
* ``test_browser_recovery``: the same in headless Chromium, a page using the shipped
  client.js (tests/client/browser_recovery.mjs), its connection cut at a TCP proxy; and a
  page away longer than the history keeps events is told ``too_old``.
* ``test_gap_reports_and_rate_limits``: gap reports through ``onGap`` and ``rate_limited``
  with ``retryAfter`` (tests/client/faults_e2e.test.mjs, on both modules) against the chat
  app on a layer that loses events (tests/fixtures/faulty_layer_app.py).

Node, Chromium and node_modules (ws, playwright-core, typescript) are prerequisites: under
CI=true a missing one fails the test, elsewhere it skips it. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs

import pytest
from e2e.server import (
    REPO_ROOT,
    FixedPortServer,
    SubprocessServer,
    ThreadServer,
    free_port,
)

from prereq import require_executable
from tsc import tsc

CLIENT_TESTS = REPO_ROOT / "tests" / "client"
HOST = "127.0.0.1"
NODE_HINT = "Node.js 20 runs the generated client's end-to-end tests"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require_node_module(name: str) -> None:
    """Like prereq.require_executable: fail under CI, skip elsewhere."""
    if (REPO_ROOT / "node_modules" / name / "package.json").is_file():
        return
    message = f"node_modules/{name} is missing (run npm ci)"
    if _in_ci():
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


def _node(*modules: str) -> str:
    node = require_executable("node", NODE_HINT)
    for name in ("ws", *modules):
        _require_node_module(name)
    return node


def _text(output: str | bytes | None) -> str:
    # TimeoutExpired carries bytes even when the run was text=True.
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _run_node(
    args: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a Node script from the repository root; fail the test if it outlives ``timeout``."""
    try:
        return subprocess.run(
            args,
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(
            f"{' '.join(args)} ran longer than {timeout} s:\n{_text(e.stdout)}{_text(e.stderr)}"
        )


def _output(completed: subprocess.CompletedProcess[str]) -> str:
    return f"--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}"


# ---------------------------------------------------------------------------------------
# The Node client, as shipped and as compiled from TypeScript


@pytest.fixture(scope="module", params=["client.js", "client.ts"])
def client_module(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The module the Node tests import: the shipped client.js, or client.ts through tsc."""
    if request.param == "client.js":
        return "generated/chat/client.js"
    out = tmp_path_factory.mktemp("client-ts")
    compiled = tsc(
        "--target",
        "ES2022",
        "--module",
        "ES2022",
        "--moduleResolution",
        "bundler",
        "--skipLibCheck",
        "--outDir",
        str(out),
        "generated/chat/client.ts",
        cwd=REPO_ROOT,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    # An ES module outside the repository's package.json ("type": "module").
    (out / "package.json").write_text('{"type": "module"}\n')
    assert (out / "client.js").is_file(), sorted(p.name for p in out.iterdir())
    return str(out / "client.js")


def test_node_client(chat_server: SubprocessServer, client_module: str) -> None:
    node = _node()
    completed = _run_node(
        [node, "--test", "--test-reporter=spec", "tests/client/node_e2e.test.mjs"],
        {"CHGEN_URL": chat_server.base_url(), "CHGEN_CLIENT": client_module},
        timeout=45,
    )
    assert completed.returncode == 0, f"node_e2e.test.mjs on {client_module}:\n" + _output(
        completed
    )


# ---------------------------------------------------------------------------------------
# Reconnecting across a server crash and restart


class NodeConversation:
    """A Node script speaking JSON lines on stdout and taking words on stdin."""

    def __init__(self, args: list[str], env: dict[str, str], deadline: float) -> None:
        self.deadline = deadline
        self.lines: list[str] = []
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def transcript(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        stderr = self._stderr.read().decode("utf-8", "replace")
        self._stderr.seek(0, os.SEEK_END)
        return "--- node stdout\n" + "\n".join(self.lines) + "\n--- node stderr\n" + stderr

    def expect(self, step: str) -> dict[str, Any]:
        """The next line, which must be the JSON report of ``step``."""
        remaining = self.deadline - time.monotonic()
        try:
            line = self._queue.get(timeout=max(remaining, 0.01))
        except queue.Empty:
            raise AssertionError(f"no step {step!r} before the deadline") from None
        if line is None:
            self._proc.wait(5)
            raise AssertionError(f"node exited ({self._proc.returncode}) before step {step!r}")
        self.lines.append(line)
        report: dict[str, Any] = json.loads(line)
        assert report.get("step") == step, f"expected step {step!r}, got {line}"
        return report

    def tell(self, word: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(word + "\n")
        self._proc.stdin.flush()

    def wait(self) -> int:
        returncode = self._proc.wait(max(self.deadline - time.monotonic(), 0.01))
        # Let the reader thread drain what was printed last.
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return returncode

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(5)
        self._stderr.close()


@pytest.fixture
def restartable_server() -> Iterator[FixedPortServer]:
    server = FixedPortServer("generated.chat.routing:application", free_port())
    try:
        yield server
    finally:
        server.close()


def test_reconnect_across_server_crash_and_restart(
    restartable_server: FixedPortServer, client_module: str
) -> None:
    """In-flight requests reject with `disconnected`; requests made while the server is down
    wait in the queue and succeed after the client reconnects to the restarted server."""
    node = _node()
    server = restartable_server
    server.start()
    script = str((CLIENT_TESTS / "e2e_reconnect.mjs").relative_to(REPO_ROOT))
    conversation = NodeConversation(
        [node, script],
        {"CHGEN_URL": server.base_url(), "CHGEN_CLIENT": client_module},
        deadline=time.monotonic() + 30,
    )
    failure = None
    try:
        conversation.expect("ready")
        # A crash while requests are in flight.
        server.freeze()
        conversation.tell("frozen")
        conversation.expect("sent")
        server.kill()
        down = conversation.expect("disconnected")
        assert down["codes"] == ["disconnected", "disconnected"]
        assert down["state"] == "reconnecting"
        queued = conversation.expect("queued")
        assert queued["attempts"] >= 2
        # Back on the same port: the queue is flushed after reconnecting.
        server.start()
        conversation.expect("reconnected")
        conversation.expect("after")
        # A graceful stop and another restart.
        server.stop()
        conversation.tell("stopped")
        conversation.expect("queued-again")
        server.start()
        done = conversation.expect("done")
        assert done["states"] == ["open", "reconnecting", "open", "reconnecting", "open", "closed"]
        returncode = conversation.wait()
        assert returncode == 0, f"exit code {returncode}"
    except (AssertionError, subprocess.TimeoutExpired, RuntimeError) as e:
        failure = f"{e}\n{conversation.transcript()}\n--- uvicorn\n{server.output()[-10_000:]}"
    finally:
        conversation.close()
    if failure is not None:
        pytest.fail(failure, pytrace=False)


# ---------------------------------------------------------------------------------------
# Clients leaving a busy room


def test_clients_leaving_mid_broadcast_log_no_server_error() -> None:
    """A client closing while group events are on their way to it is ordinary: the server
    must not log it as an error. (It does: "error handling layer message of type
    'chgen.event'" and a ClientDisconnected traceback from runtime/connection.py, for every
    event still queued for the closing socket.)

    The race needs a room event to reach the closing socket's layer channel between the
    server reading the close frame and the connection leaving its groups, so the scenario
    keeps rooms busy and runs up to three times (about a second each) until the log shows it.
    """
    node = _node()
    # A server of its own, so every line of its log comes from this scenario.
    server = SubprocessServer("generated.chat.routing:application").start()
    try:
        for _ in range(3):
            completed = _run_node(
                [node, "tests/client/e2e_churn.mjs"],
                {"CHGEN_URL": server.base_url(), "CHGEN_CLIENT": "generated/chat/client.js"},
                timeout=20,
            )
            assert completed.returncode == 0, _output(completed)
            time.sleep(0.3)  # the last disconnects are still being handled
            log = server.output()
            if "Traceback" in log or "ERROR" in log:
                break
    finally:
        server.close()
    lines = log.splitlines()
    errors = [i for i, line in enumerate(lines) if "Traceback" in line or "ERROR" in line]
    assert not errors, (
        f"the server logged {len(errors)} tracebacks or errors while clients left busy rooms; "
        "the first one:\n" + "\n".join(lines[max(errors[0] - 1, 0) : errors[0] + 30])
    )


# ---------------------------------------------------------------------------------------
# The example page in a browser


def _chromium() -> str:
    return require_executable("chromium", "Debian's chromium package runs the browser test")


@pytest.fixture(scope="module")
def page_server() -> Iterator[SubprocessServer]:
    _node("playwright-core")  # no server to start when the browser test cannot run
    _chromium()
    server = SubprocessServer("handlers.page:application").start()
    try:
        yield server
    finally:
        server.close()


def test_browser_page(page_server: SubprocessServer, tmp_path: Path) -> None:
    node = _node("playwright-core")
    chromium = _chromium()
    screenshot = tmp_path / "page-b.png"
    completed = _run_node(
        [node, "tests/client/browser_e2e.mjs"],
        {
            "CHGEN_HTTP": f"http://{HOST}:{page_server.port}",
            "CHGEN_CHROMIUM": chromium,
            "CHGEN_SCREENSHOT": str(screenshot),
        },
        timeout=60,
    )
    assert completed.returncode == 0, (
        f"{_output(completed)}\n--- uvicorn\n{page_server.output()[-10_000:]}"
    )
    assert screenshot.is_file(), _output(completed)
    print(f"screenshot of page B: {screenshot}")


# ---------------------------------------------------------------------------------------
# Connection options: subprotocols, headers, a token per attempt, refused handshakes

PROTOCOL = "chgen.v1"
TOKEN_PROTOCOL = "token."


class TokenGate:
    """``Router(authenticate=...)`` for the chat app: a handshake must offer the subprotocol
    chgen.v1, send ``X-Team: blue`` and carry a token (query ``token``, subprotocol
    ``token.<token>`` or ``Authorization: Bearer <token>``) that is not "expired" and was
    never used before.
    Raising refuses the handshake: the server answers HTTP 403."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.refused: list[str] = []

    async def __call__(self, scope: dict[str, Any]) -> str:
        token = self.token(scope)
        headers = dict(scope["headers"])
        if headers.get(b"x-team") != b"blue" or PROTOCOL not in scope["subprotocols"]:
            self.refused.append(f"{token}: no header or subprotocol")
            raise PermissionError("X-Team: blue and the chgen.v1 subprotocol are required")
        if token is None or token == "expired" or token in self.used:
            self.refused.append(f"{token}: no fresh token")
            raise PermissionError("a token is required, and each is taken once")
        self.used.add(token)
        return token

    @staticmethod
    def token(scope: dict[str, Any]) -> str | None:
        query = parse_qs(scope["query_string"].decode())
        if "token" in query:
            return query["token"][0]
        for offered in scope["subprotocols"]:
            if offered.startswith(TOKEN_PROTOCOL):
                return str(offered.removeprefix(TOKEN_PROTOCOL))
        bearer = dict(scope["headers"]).get(b"authorization", b"").decode()
        return bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None


@pytest.fixture
def gated_server() -> Iterator[tuple[ThreadServer, TokenGate]]:
    from chgen.runtime import Router, route
    from generated.chat.routing import Lobby, routes

    class GatedLobby(Lobby):
        async def connect(self) -> None:
            await self.connection.accept(PROTOCOL)  # the client offered it: the gate checked

    gate = TokenGate()
    app = Router([route(routes[0].pattern.pattern, GatedLobby)], authenticate=gate)
    server = ThreadServer(app).start()
    try:
        yield server, gate
    finally:
        server.stop()


def test_connection_options(
    gated_server: tuple[ThreadServer, TokenGate], client_module: str
) -> None:
    node = _node()
    server, gate = gated_server
    completed = _run_node(
        [node, "--test", "--test-reporter=spec", "tests/client/auth_e2e.test.mjs"],
        {"CHGEN_URL": server.base_url(), "CHGEN_CLIENT": client_module},
        timeout=60,
    )
    assert completed.returncode == 0, f"auth_e2e.test.mjs on {client_module}:\n" + _output(
        completed
    )
    # The server saw what the client says it sent. The reconnect got in, so with a token
    # that was new (attempts while the server was gone asked for more).
    query = sorted(token for token in gate.used if token.startswith("query-"))
    assert query[0] == "query-1" and len(query) >= 2, query
    assert {"protocol-1", "header-1", "once"} <= gate.used, sorted(gate.used)
    assert gate.refused == [
        "expired: no fresh token",
        "no header-1: no header or subprotocol",
        "no subprotocol-1: no header or subprotocol",
        "once: no fresh token",
    ]


# ---------------------------------------------------------------------------------------
# What the client tells its user of lost group events and of its rate limit


def test_gap_reports_and_rate_limits(
    faulty_layer_server: SubprocessServer, client_module: str
) -> None:
    node = _node()
    completed = _run_node(
        [node, "--test", "--test-reporter=spec", "tests/client/faults_e2e.test.mjs"],
        {"CHGEN_URL": faulty_layer_server.base_url(), "CHGEN_CLIENT": client_module},
        timeout=45,
    )
    assert completed.returncode == 0, f"faults_e2e.test.mjs on {client_module}:\n" + _output(
        completed
    )


# ---------------------------------------------------------------------------------------
# Recovery of the events missed while the connection was cut


@pytest.fixture(scope="module")
def recovery_server() -> Iterator[SubprocessServer]:
    paths = [
        str(REPO_ROOT / "tests" / "fixtures"),
        str(REPO_ROOT),
        os.environ.get("PYTHONPATH", ""),
    ]
    server = SubprocessServer(
        "recovery_app:application", env={"PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    ).start()
    try:
        yield server
    finally:
        server.close()


def test_recovery(recovery_server: SubprocessServer, client_module: str) -> None:
    node = _node()
    completed = _run_node(
        [node, "--test", "--test-reporter=spec", "tests/client/recovery_e2e.test.mjs"],
        {"CHGEN_URL": recovery_server.base_url(), "CHGEN_CLIENT": client_module},
        timeout=60,
    )
    assert completed.returncode == 0, f"recovery_e2e.test.mjs on {client_module}:\n" + _output(
        completed
    )


@pytest.fixture(scope="module")
def recovery_page_server() -> Iterator[SubprocessServer]:
    _node("playwright-core")  # no server to start when the browser test cannot run
    _chromium()
    paths = [
        str(REPO_ROOT / "tests" / "fixtures"),
        str(REPO_ROOT),
        os.environ.get("PYTHONPATH", ""),
    ]
    server = SubprocessServer(
        "recovery_page_app:application",
        env={"PYTHONPATH": os.pathsep.join(p for p in paths if p)},
    ).start()
    try:
        yield server
    finally:
        server.close()


def test_browser_recovery(recovery_page_server: SubprocessServer) -> None:
    node = _node("playwright-core")
    completed = _run_node(
        [node, "tests/client/browser_recovery.mjs"],
        {
            "CHGEN_URL": recovery_page_server.base_url(),
            "CHGEN_CLIENT": "generated/chat/client.js",
            "CHGEN_CHROMIUM": _chromium(),
        },
        timeout=45,
    )
    assert completed.returncode == 0, (
        f"{_output(completed)}\n--- uvicorn\n{recovery_page_server.output()[-10_000:]}"
    )
