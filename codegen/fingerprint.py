"""The digests a build's manifest records: what each output depends on.

chgen itself, the templates, every file under the spec directory, the project modules
the specs import, and per app a key of its checked model. ``plan_build`` compares them
with the last build's to decide what it can reuse.
"""

from __future__ import annotations

import enum
import functools
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .manifest import Manifest, digest

if TYPE_CHECKING:
    from .ir import AppIR

__all__ = [
    "dep_inputs",
    "file_digest",
    "generator_digest",
    "input_name",
    "spec_inputs",
    "stray_outputs",
    "unit_key",
    "verified_outputs",
]


@functools.cache
def generator_digest() -> str:
    """chgen's own sources (generator and runtime) and the versions of the tools it
    renders with; computed once per process, like the code it describes is loaded once."""
    from importlib import metadata

    parts = [f"python {sys.version_info.major}.{sys.version_info.minor}"]
    for dist in ("chgen", "black", "jinja2"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} ?")
    # The installed ``chgen`` package holds the generator, the runtime and the templates.
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".jinja") and "__pycache__" not in path.parts:
            parts.append(f"{path.relative_to(package).as_posix()} {file_digest(path)}")
    return digest("\n".join(parts))


def spec_inputs(spec_dir: Path, out_dir: Path) -> dict[str, str]:
    """Every file under the spec directory (helpers, data, subpackages), by digest."""
    inputs = {}
    out = out_dir.resolve()
    for path in sorted(spec_dir.rglob("*")):
        rel = path.relative_to(spec_dir)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if path.resolve().is_relative_to(out):
            continue
        if path.is_file() and path.suffix not in (".pyc", ".pyo"):
            inputs[rel.as_posix()] = file_digest(path)
    return inputs


def dep_inputs(recorded: Mapping[str, str], spec_dir: Path) -> dict[str, str]:
    """The current digests of the modules outside the spec directory a build recorded."""
    current = {}
    for name in recorded:
        if name.startswith("../") or Path(name).is_absolute():
            path = spec_dir / name if name.startswith("../") else Path(name)
            current[name] = file_digest(path) if path.is_file() else "missing"
    return current


def input_name(path: Path, spec_dir: Path) -> str:
    try:
        return Path(os.path.relpath(path, spec_dir.resolve())).as_posix()
    except ValueError:  # another drive
        return path.as_posix()


def file_digest(path: Path) -> str:
    return digest(path.read_bytes())


def unit_key(generator: str, template_key: str, app: AppIR | None) -> str:
    """What an app's rendered files depend on: its checked model, templates, generator."""
    model = _canonical(app) if app is not None else "the root package"
    return digest(json.dumps([generator, template_key, model], separators=(",", ":")))


def _canonical(value: Any) -> Any:
    """A JSON-able form of an IR value that does not depend on hash seeds or ids."""
    if value is None or isinstance(value, str | int | float | bool):
        return [type(value).__name__, value]
    if isinstance(value, enum.Enum):
        return [type(value).__qualname__, _canonical(value.value)]
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return [
            type(value).__qualname__,
            {f.name: _canonical(getattr(value, f.name)) for f in fields},
        ]
    if isinstance(value, list | tuple):
        return [type(value).__name__, [_canonical(v) for v in value]]
    if isinstance(value, Mapping):
        items = [[_canonical(k), _canonical(v)] for k, v in value.items()]
        return ["map", sorted(items, key=lambda kv: json.dumps(kv[0]))]
    if isinstance(value, set | frozenset):
        return ["set", sorted((_canonical(v) for v in value), key=json.dumps)]
    return [type(value).__qualname__, repr(value)]


def verified_outputs(old: Manifest, out_dir: Path) -> dict[str, str]:
    """The recorded output files whose content on disk still has the recorded digest."""
    verified = {}
    for rel, expected in old.files.items():
        try:
            data = (out_dir / rel).read_bytes()
        except OSError:
            continue
        if digest(data) == expected:
            verified[rel] = data.decode("utf-8")
    return verified


def stray_outputs(out_dir: Path, known: Iterable[str]) -> bool:
    """Whether a generated file the manifest does not know about lies in ``out_dir``."""
    from .writer import generated_files

    known = set(known)
    return any(rel not in known for rel in generated_files(out_dir))
