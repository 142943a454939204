"""A throwaway redis-server on a free loopback port, for the scale-out tests.

``RedisServer`` runs ``redis-server`` as a child process bound to 127.0.0.1 with persistence
off (``--save '' --appendonly no``) and its working directory in a temporary folder, so it
never writes into the repository. Every wait is bounded, and ``stop()`` (also run by the
context manager and by ``start()`` when it fails) always ends the process.

Use ``redis_server(install_hint)`` inside a pytest fixture: it finds the executable with
``prereq.require_executable`` (fail under CI, skip elsewhere), then starts the server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from e2e.server import free_port

from prereq import require_executable

__all__ = ["INSTALL_HINT", "RedisServer", "redis_server"]

HOST = "127.0.0.1"
START_TIMEOUT = 10.0  # seconds redis-server may take to answer PING
STOP_TIMEOUT = 5.0  # seconds it may take to exit after SIGTERM (then SIGKILL)
INSTALL_HINT = "apt-get install redis-server"


def _ping(port: int) -> bool:
    """True once the server answers PING with +PONG (not just accepts the connection)."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``redis-server`` on a free loopback port, without persistence."""

    def __init__(self, executable: str = "redis-server") -> None:
        self.executable = executable
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="chgen-redis-")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def output(self) -> str:
        """Everything redis-server printed so far."""
        if self._log.closed:
            return ""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        self._log.seek(0, os.SEEK_END)
        return text

    def kill(self) -> None:
        """``kill -9`` the server, as a crash would: no shutdown, nothing saved."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(STOP_TIMEOUT)

    def restart(self) -> RedisServer:
        """Start the server again, empty, on the port it had; waits until it answers."""
        assert self._proc is None, "kill() it first"
        self._spawn()
        if not self._wait_ready():
            raise RuntimeError(f"redis-server did not come back on {self.port}:\n{self.output()}")
        return self

    def start(self) -> RedisServer:
        try:
            # Another process may take the port between probing and binding: retry then.
            for _ in range(3):
                self.port = free_port()
                self._spawn()
                if self._wait_ready():
                    return self
                if "address already in use" not in self.output().lower():
                    break
                self._terminate()
            raise RuntimeError(
                f"redis-server did not answer PING within {START_TIMEOUT}s:\n{self.output()}"
            )
        except BaseException:
            self.stop()
            raise

    def _spawn(self) -> None:
        self._proc = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir.name,
                "--logfile",
                "",
                "--daemonize",
                "no",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            if _ping(self.port):
                return True
            time.sleep(0.02)
        return False

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """End the server and remove its files; safe to call more than once."""
        self._terminate()
        self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def redis_server(install_hint: str = INSTALL_HINT) -> Iterator[RedisServer]:
    """A running server for the ``with`` block; fails under CI or skips if not installed."""
    executable = require_executable("redis-server", install_hint)
    with RedisServer(executable) as server:
        yield server
