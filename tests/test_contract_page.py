"""The example app's api.html in headless Chromium (tests/contracts/apipage_e2e.mjs): it
renders offline, its internal links resolve, its search box filters, and every example
frame it shows is answered, not refused, by the example app running under uvicorn."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from e2e.server import REPO_ROOT, SubprocessServer

from prereq import require_executable

PAGE = REPO_ROOT / "generated" / "chat" / "api.html"


def _node_module(name: str) -> None:
    if (REPO_ROOT / "node_modules" / name / "package.json").is_file():
        return
    message = f"node_modules/{name} is missing (run npm ci)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


def test_the_api_page_renders_links_and_its_examples_are_accepted(
    chat_server: SubprocessServer, tmp_path: Path
) -> None:
    node = require_executable("node", "Node.js drives the browser test")
    chromium = require_executable("chromium", "Debian's chromium package runs the browser test")
    for name in ("ws", "playwright-core"):
        _node_module(name)
    screenshot = tmp_path / "api.png"
    done = subprocess.run(
        [node, "tests/contracts/apipage_e2e.mjs"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "CHGEN_PAGE": str(PAGE),
            "CHGEN_WS": chat_server.base_url(),
            "CHGEN_CHROMIUM": chromium,
            "CHGEN_SCREENSHOT": str(screenshot),
        },
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{chat_server.output()[-5000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["frames"] == result["answered"] >= 2, result
    assert screenshot.is_file()
