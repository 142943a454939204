"""The benchmark scripts run and print their tables (tiny, no timings asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tsc import require_tsc

ROOT = Path(__file__).resolve().parents[1]


def test_client_size_report_prints_a_row_per_client() -> None:
    require_tsc()  # the same node_modules provide esbuild
    result = subprocess.run(
        [sys.executable, "bench/client_size.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for label in ("chgen core", "chgen chat client.js", "socket.io-client", "tRPC", "reconnecting"):
        assert label in result.stdout


def test_inproc_measures_request_reply_and_fan_out_for_chgen_and_bare() -> None:
    # chgen and bare need nothing beyond the project's own dependencies.
    for workload in ("rr", "fanout"):
        result = subprocess.run(
            [
                sys.executable,
                "bench/inproc.py",
                "--workload",
                workload,
                "--msgs",
                "30",
                "--members",
                "3",
                "--repeats",
                "1",
                "--only",
                "bare,chgen,chgen-mux",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        rows = [line.split() for line in result.stdout.splitlines()]
        assert [row[0] for row in rows if row and row[0] in ("bare", "chgen", "chgen-mux")] == [
            "bare",
            "chgen",
            "chgen-mux",
        ], result.stdout


def test_python_client_cost_prints_both_cases_for_both_workloads() -> None:
    result = subprocess.run(
        [sys.executable, "bench/pyclient.py", "--requests", "40", "--rounds", "1", "--window", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split()[:2] for line in result.stdout.splitlines()[3:]]
    assert rows == [["rr", "frames"], ["rr", "client"], ["pipe", "frames"], ["pipe", "client"]]


def test_history_bench_prints_its_three_tables_with_both_stores() -> None:
    from redis_server import INSTALL_HINT

    from prereq import require_executable

    require_executable("redis-server", INSTALL_HINT)  # the script starts its own
    result = subprocess.run(
        [
            sys.executable,
            "bench/history.py",
            "--posts",
            "5",
            "--members",
            "3",
            "--clients",
            "5",
            "--events",
            "60",
            "--repeats",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert {"memory", "redis", "recover", "refetch"} <= rows, result.stdout
    assert "redis append" in result.stdout and "memory since" in result.stdout


def test_reconnect_bench_recovers_and_refetches_across_two_processes() -> None:
    from redis_server import INSTALL_HINT

    from prereq import require_executable

    require_executable("redis-server", INSTALL_HINT)  # the script starts its own
    result = subprocess.run(
        [sys.executable, "bench/reconnect.py", "--clients", "20", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split(",")[0] for line in result.stdout.splitlines()]
    # The script fails unless every socket got exactly the 50 missed events, in order.
    assert "recover" in rows and "refetch" in rows, result.stdout
    assert "recover, python parser" in result.stdout, result.stdout
