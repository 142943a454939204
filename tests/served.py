"""A new project's app served by a real command in a subprocess, and a chat with it.

``Served`` runs a command (``uvicorn …`` or ``chgen dev …``) that serves on a loopback
port, waits until the port accepts connections, and stops the command as Ctrl-C does.
``chat`` posts to the example app that ``chgen init`` writes and returns what came back.
Every wait is bounded; a failure shows what the command printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from e2e.server import accepts, open_ws, read_log, recv_json, run, send_json
from websockets.exceptions import WebSocketException

START_TIMEOUT = 60.0  # seconds: a first start may import a fresh venv's packages cold
STOP_TIMEOUT = 30.0


class Served:
    """``command`` in ``cwd``, serving on ``port``; a context manager."""

    def __init__(
        self, command: Sequence[str], cwd: Path, port: int, env: dict[str, str] | None = None
    ) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.port = port
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Served:
        self.proc = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.wait_for(lambda: accepts(self.port), f"port {self.port} accepting connections")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.interrupt()
        finally:
            self._log.close()

    def output(self) -> str:
        return read_log(self._log)

    def wait_for(
        self, check: Callable[[], bool], what: str, timeout: float = START_TIMEOUT
    ) -> None:
        """Poll ``check`` until it holds; fail with the output if the command exits or
        ``timeout`` seconds pass first."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.proc.poll() is not None:
                pytest.fail(
                    f"{self.command[0]} exited ({self.proc.returncode}) before {what}:\n"
                    f"{self.output()}"
                )
            time.sleep(0.1)
        pytest.fail(f"no {what} within {timeout} s:\n{self.output()}")

    def interrupt(self) -> int:
        """Ctrl-C; the exit status. A command still running after STOP_TIMEOUT is killed
        and fails the test."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            pytest.fail(f"{self.command} ignored Ctrl-C for {STOP_TIMEOUT} s:\n{self.output()}")


def chat(port: int, text: str, room: str = "lobby") -> list[Any]:
    """Post ``text`` with id 1 to the example app on ``port``; the frames that answer it
    (the ``posted`` event and the reply, or one error)."""

    async def scenario() -> list[Any]:
        async with open_ws(f"ws://127.0.0.1:{port}/ws/{room}/") as ws:
            await send_json(ws, {"type": "post", "id": 1, "data": {"text": text}})
            first = await recv_json(ws)
            if first.get("type") == "error":
                return [first]
            return [first, await recv_json(ws)]

    return run(scenario())


def answered(port: int, text: str) -> list[Any] | None:
    """``chat(port, text)``, or None while the app cannot answer (it is restarting)."""
    try:
        return chat(port, text)
    except (OSError, TimeoutError, WebSocketException):
        return None
    except AssertionError as exc:  # recv_json's "no frame arrived"
        if "no frame arrived" in str(exc):
            return None
        raise
