"""Where the client files go when ``client-dir`` puts them in the frontend's own tree.

Plans, manifests and the writer key every file by its path relative to the output
directory; a client elsewhere is keyed the same way (``../web/src/api/chat/client.ts``),
so it is checked, cached and protected like every other output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import UsageError
from .manifest import digest

__all__ = ["CLIENT_FILES", "client_prefix", "place_clients", "placed_key"]

CLIENT_FILES = ("client.ts", "client.js", "client.d.ts")


def client_prefix(out_dir: Path, client_dir: Path | None) -> str | None:
    """The client directory as a path relative to ``out_dir`` (``../web/src/api``), or
    None when the client files stay in each app's package.

    Plans, manifests and the writer key every file by its path relative to the output
    directory; a client elsewhere is keyed the same way, so it is checked, cached and
    protected like every other output.
    """
    if client_dir is None:
        return None
    try:
        relative = Path(os.path.relpath(client_dir.resolve(), out_dir.resolve())).as_posix()
    except ValueError:  # another drive
        raise UsageError(
            f"the client directory {str(client_dir)!r} must be on the same drive as the "
            f"output directory {str(out_dir)!r}"
        ) from None
    return None if relative == "." else relative


def place_clients(files: Mapping[str, str], prefix: str | None) -> dict[str, str]:
    """``files`` with each app's ``<app>/client.*`` moved to ``<prefix>/<app>/client.*``."""
    if prefix is None:
        return dict(files)
    return {
        (f"{prefix}/{rel}" if rel.rpartition("/")[2] in CLIENT_FILES else rel): content
        for rel, content in files.items()
    }


def placed_key(template_key: str, clients: str | None) -> str:
    """The template key, changed by a client directory so that moving it re-renders."""
    return template_key if clients is None else digest(f"{template_key}\nclients: {clients}")
