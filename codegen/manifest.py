"""The build manifest: content hashes that let a rebuild skip work that cannot change.

``chgen build`` keeps ``OUT/.chgen-manifest.json``. It records hashes of everything a
build read (the generator itself, the templates, every file under the spec directory
and every project module the specs imported) and of everything it wrote (each output
file, and per app a key of the app's checked model). A rebuild then

* does nothing at all, without importing a spec, when no input changed and every
  output file on disk still has its recorded hash;
* otherwise loads and checks every spec, but renders only the apps whose key changed or
  whose output files no longer match (a hand-edited or deleted generated file is
  repaired).

The manifest is a cache, not a source of truth: it never decides whether output is
stale, only whether an output file on disk is known to be what rendering would produce.
Its content is deterministic (sorted keys, relative paths, no timestamps), and it is
machine-local: it is kept out of version control, ``--check`` ignores it, and deleting it
only makes the next build a full one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "FORMAT",
    "MANIFEST_NAME",
    "AppEntry",
    "Manifest",
    "digest",
    "read_manifest",
    "save_manifest",
]

MANIFEST_NAME = ".chgen-manifest.json"
FORMAT = 1
ROOT_PACKAGE = ""  # the pseudo-app that owns OUT/__init__.py


def digest(data: bytes | str) -> str:
    """sha256 hex digest of bytes, or of text as UTF-8."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


@attrs.frozen
class AppEntry:
    """What one app's rendering depended on (``key``) and the files it produced."""

    key: str
    files: tuple[str, ...]


@attrs.frozen
class Manifest:
    generator: str  # chgen's own code and the versions of the tools it renders with
    templates: str  # the effective template set, user overrides included
    inputs: Mapping[str, str]  # path relative to the spec directory -> digest
    apps: Mapping[str, AppEntry]  # app name ("" = the root package) -> entry
    files: Mapping[str, str]  # path relative to the output directory -> digest

    def dumps(self) -> str:
        data: dict[str, Any] = {
            "format": FORMAT,
            "note": "chgen's build cache; safe to delete, not meant for version control",
            "generator": self.generator,
            "templates": self.templates,
            "inputs": dict(sorted(self.inputs.items())),
            "apps": {
                name: {"key": entry.key, "files": sorted(entry.files)}
                for name, entry in sorted(self.apps.items())
            },
            "files": dict(sorted(self.files.items())),
        }
        return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def loads(cls, text: str) -> Manifest | None:
        """The manifest in ``text``; None if it is not one this version understands."""
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                return None
            return cls(
                generator=_str(data["generator"]),
                templates=_str(data["templates"]),
                inputs=_str_map(data["inputs"]),
                apps={
                    _str(name): AppEntry(_str(e["key"]), tuple(_str(f) for f in e["files"]))
                    for name, e in data["apps"].items()
                },
                files=_str_map(data["files"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def read_manifest(out_dir: Path) -> Manifest | None:
    try:
        text = (out_dir / MANIFEST_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return Manifest.loads(text)


def save_manifest(out_dir: Path, manifest: Manifest) -> bool:
    """Write ``manifest`` into ``out_dir`` unless it is there already; True if written."""
    from .atomic import atomic_write

    text = manifest.dumps()
    target = out_dir / MANIFEST_NAME
    try:
        if target.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write(target, text)
    return True


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _str_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {value!r}")
    return {_str(k): _str(v) for k, v in value.items()}
