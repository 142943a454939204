"""Progress lines for long builds ("rendering chat…"), on stderr, only where wanted.

They are shown when stderr is a terminal or with ``--verbose``, and never in a CI log
otherwise. stdout is left to the summary and the ``--check`` diff.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

__all__ = ["reporter"]


def reporter(verbose: bool, stream: TextIO | None = None) -> Callable[[str], None] | None:
    """A function printing one progress line, or None when progress should stay quiet."""
    out = stream if stream is not None else sys.stderr
    if not (verbose or _is_tty(out)):
        return None

    def report(line: str) -> None:
        print(f"chgen: {line}", file=out, flush=True)

    return report


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
