"""Real uvicorn servers for the end-to-end tests, and WebSocket client helpers.

Two ways to serve an ASGI app:

* ``SubprocessServer``: ``python -m uvicorn <module:app>`` in a child process, started from
  the repository root, its output captured to a file so a failing test can show it. This
  is exactly how a user serves a generated app.
* ``ThreadServer``: ``uvicorn.Server`` on its own event loop in a background thread, so a
  test can look at server-side state (the app's channel layer, records kept by handlers).

Every wait here is bounded: receives time out, polls give up after a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import IO, Any, TypeVar

import attrs
import orjson
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

__all__ = [
    "RECV_TIMEOUT",
    "REPO_ROOT",
    "FaultyApp",
    "FixedPortServer",
    "SubprocessServer",
    "ThreadServer",
    "assert_silent",
    "eventually",
    "open_ws",
    "recv_json",
    "recv_many",
    "run",
    "send_json",
]

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]

HOST = "127.0.0.1"
START_TIMEOUT = 10.0  # seconds a server may take to accept connections
RECV_TIMEOUT = 5.0  # seconds any single receive may wait
SCENARIO_TIMEOUT = 20.0  # seconds a whole async scenario may take


def run(coro: Coroutine[Any, Any, T], timeout: float = SCENARIO_TIMEOUT) -> T:
    """Run one async test scenario to completion, failing it if it takes too long."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback ``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


@attrs.frozen
class FaultyApp:
    """The generated and imported fixture app of tests/fixtures/faulty."""

    routing: ModuleType  # faultygen.faulty.routing; .application is the Router
    handlers: ModuleType  # faulty_handlers; .DISCONNECTS records disconnect() calls
    out_dir: Path


def terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, uvicorn's graceful shutdown (after SIGCONT, in case it is frozen); SIGKILL
    after 5 s. A process that has exited already is only reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class SubprocessServer:
    """``python -m uvicorn APP`` on a free port, run from the repository root."""

    def __init__(
        self,
        app: str,
        cwd: Path = REPO_ROOT,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``args``: more uvicorn options; ``env``: more environment variables."""
        self.app = app
        self.cwd = cwd
        self.args = list(args)
        self.env = None if env is None else {**os.environ, **env}
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    def base_url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    def output(self) -> str:
        """Everything the server printed so far (uvicorn logs to stderr)."""
        return read_log(self._log)

    def start(self) -> SubprocessServer:
        # Another process may grab the port between probing and binding: retry then.
        for _ in range(3):
            self.port = free_port()
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    self.app,
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--log-level",
                    "info",
                    *self.args,
                ],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                if accepts(self.port):
                    return self
                time.sleep(0.05)
            else:
                self.stop()
                raise RuntimeError(
                    f"uvicorn did not accept connections within {START_TIMEOUT}s:\n" + self.output()
                )
            if "address already in use" not in self.output().lower():
                break
        output = self.output()
        self.stop()
        raise RuntimeError(f"uvicorn exited before serving {self.app}:\n{output}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            terminate(proc)

    def close(self) -> None:
        self.stop()
        self._log.close()


class ThreadServer:
    """``uvicorn.Server`` serving ``app`` in a background thread on its own event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((HOST, 0))  # bound before start: no race for the port
        self.port: int = self._sock.getsockname()[1]
        # log_config=None: leave the test process's logging alone (pytest captures it).
        config = uvicorn.Config(
            app, host=HOST, port=self.port, log_level="warning", log_config=None, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name="uvicorn-e2e",
        )

    def base_url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    def start(self) -> ThreadServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the in-process uvicorn server stopped while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start within {START_TIMEOUT}s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(10)
        self._sock.close()


class FixedPortServer:
    """uvicorn in a child process on one port, which it keeps across stops and restarts.

    (``SubprocessServer`` picks a new free port at every start.)
    """

    def __init__(self, app: str, port: int) -> None:
        self.app = app
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()

    def base_url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    def output(self) -> str:
        return read_log(self._log)

    def start(self, timeout: float = 10.0) -> None:
        assert self._proc is None, "already running"
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", self.app, "--host", HOST, "--port", str(self.port)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                raise RuntimeError(f"uvicorn exited on port {self.port}:\n{self.output()}")
            if accepts(self.port):
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"uvicorn did not accept on port {self.port} in {timeout}s")

    def freeze(self) -> None:
        """SIGSTOP: the server still holds its sockets but reads and answers nothing."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL, a crash: the kernel drops the server's connections."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait(5)

    def stop(self) -> None:
        """SIGTERM, uvicorn's graceful shutdown; SIGKILL after 5 s."""
        proc, self._proc = self._proc, None
        if proc is not None:
            terminate(proc)

    def close(self) -> None:
        self.kill()
        self._log.close()


def open_ws(url: str, **kwargs: Any) -> Any:
    """``websockets`` connect with bounded handshake and close, for ``async with``."""
    kwargs.setdefault("open_timeout", RECV_TIMEOUT)
    kwargs.setdefault("close_timeout", 2)
    return connect(url, **kwargs)


async def send_json(ws: ClientConnection, frame: Any) -> None:
    await ws.send(orjson.dumps(frame).decode())


async def recv_json(ws: ClientConnection, timeout: float = RECV_TIMEOUT) -> Any:
    """The next frame, decoded; fails the test if none arrives within ``timeout``."""
    try:
        raw = await asyncio.wait_for(ws.recv(), timeout)
    except TimeoutError:
        raise AssertionError(f"no frame arrived within {timeout}s") from None
    assert isinstance(raw, str), f"expected a text frame, got {raw!r}"
    return orjson.loads(raw)


async def recv_many(ws: ClientConnection, count: int) -> list[Any]:
    return [await recv_json(ws) for _ in range(count)]


async def assert_silent(ws: ClientConnection, seconds: float = 0.3) -> None:
    """Fail if any frame arrives within ``seconds``."""
    try:
        raw = await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return
    raise AssertionError(f"expected no frame, got {raw!r}")


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    what: str = "condition",
    timeout: float = RECV_TIMEOUT,
) -> None:
    """Poll ``check`` until it holds; fail, naming ``what``, after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout}s")
        await asyncio.sleep(0.02)


def read_log(log: IO[bytes]) -> str:
    """Everything written so far to ``log``, a process's output file, which keeps
    growing: read from the start, then leave it at the end for the writer."""
    log.flush()
    log.seek(0)
    text = log.read().decode("utf-8", "replace")
    log.seek(0, os.SEEK_END)
    return text
