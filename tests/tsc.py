"""Run the TypeScript compiler from node_modules (installed by scripts/setup via npm ci)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from prereq import require_executable

ROOT = Path(__file__).resolve().parents[1]
TSC = ROOT / "node_modules" / "typescript" / "bin" / "tsc"
STRICT = [
    "--strict",
    "--noEmit",
    "--target",
    "ES2022",
    "--module",
    "ES2022",
    "--moduleResolution",
    "bundler",
    "--lib",
    "ES2022,DOM",
    "--skipLibCheck",
]


def require_tsc() -> list[str]:
    node = require_executable("node", "Node.js 20 runs tsc and the client tests")
    if not TSC.is_file():
        message = "typescript is not installed in node_modules (run scripts/setup or npm ci)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return [node, str(TSC)]


def tsc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [*require_tsc(), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=180)
