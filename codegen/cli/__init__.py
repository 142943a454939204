"""The ``chgen`` command. Exit codes: 0 ok, 1 spec errors or stale output, 2 usage, 123 bug.

Every command takes its paths from its options, else from ``[tool.chgen]`` in the
nearest pyproject.toml (``chgen.config``), else from the defaults beside SPEC_DIR. One
module per command; ``common`` holds what they share.
"""

from __future__ import annotations

from .build import build
from .common import main
from .compat import compat
from .dev import dev
from .init import init
from .scaffold import scaffold
from .schema import schema
from .worker import worker

__all__ = ["main"]

for command in (build, scaffold, init, dev, schema, compat, worker):
    main.add_command(command)
