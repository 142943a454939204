"""The TypeScript client core: templates/client/core.ts, the only hand-written source, and
core.js and core.d.ts, which scripts/build-client-core compiles from it.

* tests/client/core.test.mjs (Node's test runner): behaviour of the committed core.js and of
  core.ts compiled now, strict type checks, ES2020 syntax and the size budget.
* core.js and core.d.ts are fresh: compiling core.ts again gives the committed files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prereq import require_executable

REPO_ROOT = Path(__file__).resolve().parent.parent
SUITE = REPO_ROOT / "tests" / "client" / "core.test.mjs"
BUILD = REPO_ROOT / "scripts" / "build-client-core"


def _require_node_modules() -> str:
    """node, and tsc, esbuild and ws from package.json: like prereq, fail under CI and
    skip elsewhere when they are missing."""
    node = require_executable("node", "Node.js 20 runs the TypeScript client core's tests")
    if (REPO_ROOT / "node_modules" / "typescript").is_dir():
        return node
    message = "node_modules/typescript is missing (run npm ci)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


def _text(output: str | bytes | None) -> str:
    # TimeoutExpired carries bytes even when the run was text=True.
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(
            f"{' '.join(command)} timed out after {timeout} s:\n{_text(e.stdout)}{_text(e.stderr)}"
        )


def test_client_core_node_suite() -> None:
    node = _require_node_modules()
    completed = _run(
        [node, "--test", "--test-reporter=spec", str(SUITE.relative_to(REPO_ROOT))], 120
    )
    assert completed.returncode == 0, (
        f"node --test {SUITE.relative_to(REPO_ROOT)} failed:\n{completed.stdout}{completed.stderr}"
    )


def test_core_js_and_declarations_are_compiled_from_core_ts() -> None:
    _require_node_modules()
    completed = _run([sys.executable, str(BUILD), "--check"], 120)
    assert completed.returncode == 0, (
        "templates/client/core.js and core.d.ts are not what core.ts compiles to; "
        f"run scripts/build-client-core\n{completed.stdout}{completed.stderr}"
    )
