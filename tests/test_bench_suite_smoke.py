"""The benchmark suite runs end to end with tiny counts and prints its tables.

Nothing here asserts a timing: the machine is shared and noisy, and the numbers belong in
docs/benchmarks.md, measured by hand with the full suite. This only proves that
``bench/run.py --quick`` starts every server whose dependencies are installed, drives it
with the load client, and prints the tables.

The benchmark's own dependencies (bench/requirements.txt: Django, Channels,
channelsmultiplexer, channels_redis, chanx, psutil) are not part of the test setup, so
when they are missing this test skips, even under CI: it is not a missing CI
prerequisite but an optional tool. Servers whose packages are missing are skipped by the
suite itself and listed as skipped; redis-server rows need redis-server on PATH.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_quick_suite_prints_its_tables() -> None:
    if importlib.util.find_spec("psutil") is None:
        pytest.skip(
            "benchmark dependencies are not installed (pip install -r bench/requirements.txt)"
        )
    result = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--quick",
            "--no-client-size",
            "--no-codegen",
            "--budget",
            "40",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    out = result.stdout
    for title in (
        "Request/reply",
        "Pipelined (",
        "Group fan-out",
        "Pipelined group burst",
        "Connection setup",
        "Targets",
    ):
        assert title in out, out
    # The ceiling, the bare app and both chgen apps need nothing beyond the test setup.
    for label in ("websockets (raw, ceiling)", "bare ASGI", "chgen plain", "chgen multiplexed"):
        assert label in out, out
    assert "FAILED" not in out, out
