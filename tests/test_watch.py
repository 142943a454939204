"""``chgen build --watch`` in a real subprocess on a copy of specs/: edit, break, fix, Ctrl-C.

Every wait is bounded; nothing asserts on how long anything took.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
STEP_TIMEOUT = 90.0  # generous: CI machines are slow and shared
RETOUCH_EVERY = 3.0  # rewrite an edit if no rebuild noticed it (the watcher may be starting)


class Watcher:
    """A ``chgen build --watch`` process and the lines it printed (stdout and stderr)."""

    def __init__(self, specs: Path, out: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chgen", "build", str(specs), "-o", str(out), "--watch"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # faulthandler: a hung watcher prints every thread's stack on SIGABRT.
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"},
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def drain(self) -> None:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                self.lines.append(line)

    def wait_for_line(self, predicate: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"chgen --watch exited while waiting for {what}:\n{self.output()}")
            self.lines.append(line)
            if predicate(line):
                return line
        pytest.fail(f"no {what} within {STEP_TIMEOUT} s:\n{self.output()}")

    def edit_until(self, path: Path, text: str, done: Callable[[], bool], what: str) -> None:
        """Write ``text`` to ``path`` and wait until ``done()``, rewriting it now and then."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            path.write_text(text)
            retouch = time.monotonic() + RETOUCH_EVERY
            while time.monotonic() < min(retouch, deadline):
                self.drain()
                if done():
                    return
                if self.proc.poll() is not None:
                    pytest.fail(f"chgen --watch exited while waiting for {what}:\n{self.output()}")
                time.sleep(0.1)
        pytest.fail(f"no {what} within {STEP_TIMEOUT} s:\n{self.output()}")

    def interrupt(self) -> int:
        """Send Ctrl-C; the exit status. A watcher still running after the step's time
        fails the test with its stacks, so a hang says where it hangs."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            self.proc.wait(timeout=30)
            time.sleep(0.5)  # let the reader thread take the last lines
            pytest.fail(f"chgen --watch ignored Ctrl-C for {STEP_TIMEOUT} s:\n{self.output()}")

    def output(self) -> str:
        self.drain()
        return "\n".join(self.lines)


@pytest.fixture
def watcher(tmp_path: Path) -> Iterator[tuple[Watcher, Path, Path]]:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "_limits.py").write_text("TEXT = 2000\n")
    source = (SPECS / "chat.py").read_text()
    source = source.replace("from chgen.spec", "from _limits import TEXT\n\nfrom chgen.spec", 1)
    (specs / "chat.py").write_text(
        source.replace("MinLen(1), MaxLen(2000)", "MinLen(1), MaxLen(TEXT)")
    )
    out = tmp_path / "generated"
    running = Watcher(specs, out)
    try:
        yield running, specs, out
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
        running.proc.wait(timeout=30)


def test_watch_rebuilds_on_edits_survives_a_broken_spec_and_exits_0_on_ctrl_c(
    watcher: tuple[Watcher, Path, Path],
) -> None:
    proc, specs, out = watcher
    payloads = out / "chat" / "payloads.py"
    proc.wait_for_line(lambda line: "watching" in line, "'watching' line")
    assert "MinLen(1), MaxLen(2000)" in payloads.read_text(), proc.output()

    # A valid edit of the spec module is rebuilt.
    chat = specs / "chat.py"
    good = chat.read_text()
    edited = good.replace("str, MaxLen(2000)", "str, MaxLen(1234)")
    proc.edit_until(chat, edited, lambda: "MaxLen(1234)" in payloads.read_text(), "rebuild")
    assert any("changed: " in line and "chat.py" in line for line in proc.lines), proc.output()

    # An edit of a helper module the spec imports is picked up too (no stale import).
    limits = specs / "_limits.py"
    proc.edit_until(limits, "TEXT = 77\n", lambda: "MaxLen(77)" in payloads.read_text(), "rebuild")

    # A broken spec prints a located error; the watcher keeps running, nothing is written.
    before = payloads.read_text()
    broken = edited + "\nx = 1 +\n"
    proc.edit_until(
        chat,
        broken,
        lambda: any("chat.py:" in x and "SyntaxError" in x for x in proc.lines),
        "error",
    )
    assert proc.proc.poll() is None, "a bad spec must not end watch mode"
    assert payloads.read_text() == before

    # Fixing it rebuilds.
    fixed = good.replace("str, MaxLen(2000)", "str, MaxLen(4321)")
    proc.edit_until(chat, fixed, lambda: "MaxLen(4321)" in payloads.read_text(), "rebuild")

    # Ctrl-C ends it with exit status 0.
    assert proc.interrupt() == 0, proc.output()
    assert "stopped watching" in proc.output()
