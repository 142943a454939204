"""Prerequisites outside Python (node, redis-server, chromium).

Under CI (CI=true) a missing prerequisite fails the test: CI must install it. On a
developer's machine the test is skipped, saying what to install.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_executable(name: str, install_hint: str) -> str:
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed ({install_hint})"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)
