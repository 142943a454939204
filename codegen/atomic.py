"""Atomic file replacement: a reader sees the old file or the new one, never a half.

Every file chgen writes (generated output, the manifest, scaffolded handlers, new
projects) goes through ``atomic_write``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(target: Path, content: str | bytes) -> None:
    """Replace ``target`` with ``content`` by renaming a temporary file beside it.

    Text is written as UTF-8 with LF line ends; bytes as they are. The file keeps its
    permissions, and a new file gets the usual ones (0666 less the umask), not the 0600
    a temporary file starts with.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
