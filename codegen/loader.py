"""Import spec modules from a directory and collect the ``App`` objects they define.

Data specs (``*.toml``, ``*.json``, see ``chgen.dataspec``) are read beside them.

This is one of the two stages that touch the disk (the writer is the other). A spec
module that fails to import is reported as a located error, like any other spec error.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import site
import sys
import tempfile
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from .dataspec import DATA_SUFFIXES, load_data_spec
from .errors import SpecError, SpecErrors, UsageError
from .import_hints import api_hint, python_suggestion
from .spec import App, Location, is_payload

__all__ = ["LoadedApp", "load_apps", "load_specs"]


@attrs.frozen
class LoadedApp:
    app: App
    module_file: Path
    # Every @payload class the spec module defines, used or not, so that a payload no
    # consumer uses yet is checked too.
    module_payloads: tuple[type[Any], ...] = ()


def spec_files(spec_dir: Path) -> list[Path]:
    """Spec files in ``spec_dir``, in a stable order: Python modules and data specs
    (``*.toml``, ``*.json``). Files starting with ``_`` are helpers, not specs."""
    if not spec_dir.is_dir():
        raise UsageError(f"spec directory {str(spec_dir)!r} does not exist")
    return sorted(
        p
        for p in spec_dir.iterdir()
        if p.suffix in (".py", *DATA_SUFFIXES) and p.is_file() and not p.name.startswith("_")
    )


def load_apps(spec_dir: Path) -> list[LoadedApp]:
    """Import every spec module and return its Apps; raise SpecErrors if any fails."""
    spec_dir = spec_dir.resolve()
    files = spec_files(spec_dir)
    if not files:
        raise UsageError(f"no spec files (*.py, *.toml, *.json) in {str(spec_dir)!r}")
    # Spec modules may import each other as `specs.x` or import project code.
    for entry in (str(spec_dir.parent), str(spec_dir)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    loaded: list[LoadedApp] = []
    errors: list[SpecError] = []
    for file in files:
        if file.suffix in DATA_SUFFIXES:
            try:
                loaded.append(LoadedApp(load_data_spec(file), file))
            except SpecErrors as exc:
                errors.extend(exc.errors)
            continue
        try:
            module = _import(file)
        except Exception as exc:
            errors.append(_import_error(file, exc))
            continue
        defined = _defined_payloads(module)
        seen: set[int] = set()
        for value in vars(module).values():
            if isinstance(value, App) and id(value) not in seen:
                seen.add(id(value))
                loaded.append(LoadedApp(value, file, defined))
    if errors:
        raise SpecErrors(errors)
    return loaded


def _defined_payloads(module: ModuleType) -> tuple[type[Any], ...]:
    """The payload classes ``module`` defines itself (not those it imports)."""
    return tuple(
        value
        for value in vars(module).values()
        if is_payload(value) and getattr(value, "__module__", None) == module.__name__
    )


def _import(file: Path) -> ModuleType:
    name = f"_chgen_spec_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_error(file: Path, exc: Exception) -> SpecError:
    """Locate an import failure at the deepest frame inside the spec file itself."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(file)]
        line = frames[-1].lineno if frames and frames[-1].lineno else 0
    message = f"the spec module failed to import: {type(exc).__name__}: {exc}"
    hint = api_hint(exc) or python_suggestion(exc) or "fix the Python error above"
    return SpecError(Location(str(file), line), "$", message, hint)


# -- loading afresh, and the project modules the specs import --------------------------

# Project modules (not chgen's, not installed libraries) that the last spec load
# imported; forgotten before the next load so that an edit to them is picked up.
_spec_modules: set[str] = set()
# Where no .pyc will ever be found (nothing writes there).
_NO_BYTECODE = os.path.join(tempfile.gettempdir(), "chgen-never-bytecode", str(os.getpid()))


def load_specs(spec_dir: Path) -> tuple[list[LoadedApp], list[Path]]:
    """The Apps in ``spec_dir`` and the files of the project modules the specs imported.

    Every load imports the specs and their project modules afresh: modules a previous
    load imported are dropped from ``sys.modules`` first, so a long-running process
    (``chgen build --watch``) never builds from a stale module.
    """
    for name in sorted(_spec_modules):
        sys.modules.pop(name, None)
    _spec_modules.clear()
    importlib.invalidate_caches()
    before = set(sys.modules)
    bytecode = sys.dont_write_bytecode, sys.pycache_prefix
    # Compile what the specs import from source, never from a cached .pyc: a .pyc is
    # matched to its source by size and mtime in whole seconds, so an edit that keeps
    # the size, saved within a second of the last build, would go unnoticed (and the
    # manifest would then remember the stale output as up to date).
    sys.dont_write_bytecode, sys.pycache_prefix = True, _NO_BYTECODE
    try:
        loaded = load_apps(spec_dir)
    finally:
        sys.dont_write_bytecode, sys.pycache_prefix = bytecode
        deps = _record_spec_modules(set(sys.modules) - before)
    spec_root = spec_dir.resolve()
    return loaded, sorted({p for p in deps if not p.is_relative_to(spec_root)})


def _record_spec_modules(names: Iterable[str]) -> list[Path]:
    files = []
    for name in names:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or name.partition(".")[0] == "chgen":
            continue
        path = Path(file).resolve()
        if _is_library(path) or not path.is_file():
            continue
        _spec_modules.add(name)
        files.append(path)
    return files


def _is_library(path: Path) -> bool:
    return any(path.is_relative_to(root) for root in _library_roots())


@functools.cache
def _library_roots() -> tuple[Path, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(site.getsitepackages())
    if site.ENABLE_USER_SITE and site.USER_SITE:
        roots.add(site.USER_SITE)
    return tuple(Path(r).resolve() for r in sorted(roots))
