"""The TypeScript client core (templates/client/core.ts, core.js, core.d.ts) passes its Node
test suite, tests/client/core.test.mjs: behaviour of both the hand-written core.js and tsc's
output of core.ts, agreement of the three files, and the size budget.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from prereq import require_executable

REPO_ROOT = Path(__file__).resolve().parent.parent
SUITE = REPO_ROOT / "tests" / "client" / "core.test.mjs"


def _require_node_modules() -> None:
    """tsc, esbuild and ws come from package.json; like prereq, fail under CI, skip elsewhere."""
    if (REPO_ROOT / "node_modules" / "typescript").is_dir():
        return
    message = "node_modules/typescript is missing (run npm ci)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


def _text(output: str | bytes | None) -> str:
    # TimeoutExpired carries bytes even when the run was text=True.
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def test_client_core_node_suite() -> None:
    node = require_executable("node", "Node.js 20 runs the TypeScript client core's tests")
    _require_node_modules()
    try:
        completed = subprocess.run(
            [node, "--test", "--test-reporter=spec", str(SUITE.relative_to(REPO_ROOT))],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"node --test timed out after 120 s:\n{_text(e.stdout)}{_text(e.stderr)}")
    assert completed.returncode == 0, (
        f"node --test {SUITE.relative_to(REPO_ROOT)} failed:\n{completed.stdout}{completed.stderr}"
    )
