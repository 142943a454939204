"""``chgen build --watch``: build, then rebuild whenever a spec or template changes.

The watcher never dies on a bad spec: the build callback reports errors and returns.
It watches the spec directory, the template directories and the project modules the
specs imported outside the spec directory (read from the build manifest), ignoring the
output directory. Ctrl-C ends it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import watchfiles

from .manifest import read_manifest
from .render.environment import template_dirs

__all__ = ["watch"]


def watch(
    spec_dir: Path,
    out_dir: Path,
    *,
    templates: Path | None,
    rebuild: Callable[[], object],
    echo: Callable[[str], None],
    stop_event: threading.Event | None = None,
) -> None:
    """Run ``rebuild`` now and after every batch of relevant changes.

    Returns when interrupted (Ctrl-C) or when ``stop_event`` is set.
    """
    # watchfiles logs a warning of its own on Ctrl-C; the command says it stopped.
    logging.getLogger("watchfiles.main").setLevel(logging.ERROR)
    with _ctrl_c_stops():
        _watch(spec_dir.resolve(), out_dir.resolve(), templates, rebuild, echo, stop_event)


@contextlib.contextmanager
def _ctrl_c_stops() -> Iterator[None]:
    """Ctrl-C interrupts even a process started with SIGINT ignored, as a shell starts a
    background job of a script: watching promises that Ctrl-C stops it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers; its own stays as it is
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _watch(
    spec_dir: Path,
    out_dir: Path,
    templates: Path | None,
    rebuild: Callable[[], object],
    echo: Callable[[str], None],
    stop_event: threading.Event | None,
) -> None:
    rebuild()
    while True:
        files = _dependencies(spec_dir, out_dir)
        roots = _roots(spec_dir, templates, files)
        relevant = _Relevant(spec_dir, [Path(d).resolve() for d in template_dirs(templates)])
        relevant.files = files
        relevant.out_dir = out_dir
        echo(f"watching {', '.join(_shown(r) for r in roots)} for changes (Ctrl-C stops)")
        for batch in watchfiles.watch(
            *roots,
            watch_filter=relevant,
            raise_interrupt=False,
            stop_event=stop_event,
        ):
            changed = _lasting(batch)
            if not changed:
                continue  # only an editor's or a tool's temporary files came and went
            echo(f"changed: {', '.join(_shown(p) for p in changed)}; rebuilding")
            rebuild()
            # A module outside the spec directory is watched as a file, and an editor
            # may have replaced that file: watch it anew. Also when the specs now
            # import other modules.
            if (
                set(changed) & files
                or _roots(spec_dir, templates, _dependencies(spec_dir, out_dir)) != roots
            ):
                break
        else:
            return  # interrupted, or stop_event set


class _Relevant(watchfiles.DefaultFilter):
    """Changes under the spec and template directories, or to a recorded module."""

    def __init__(self, spec_dir: Path, template_roots: Iterable[Path]) -> None:
        super().__init__()
        self.dirs = [spec_dir, *template_roots]
        self.files: set[Path] = set()
        self.out_dir: Path | None = None

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if not super().__call__(change, path):
            return False
        target = Path(path)
        if target.suffix in (".pyc", ".pyo"):
            return False
        if self.out_dir is not None and target.is_relative_to(self.out_dir):
            return False
        return target in self.files or any(target.is_relative_to(d) for d in self.dirs)


def _lasting(batch: set[tuple[watchfiles.Change, str]]) -> list[Path]:
    """The changed paths, without files that were created and deleted within the batch."""
    kinds: dict[str, set[watchfiles.Change]] = {}
    for change, path in batch:
        kinds.setdefault(path, set()).add(change)
    transient = {watchfiles.Change.added, watchfiles.Change.deleted}
    return sorted(
        Path(path)
        for path, seen in kinds.items()
        if not (transient <= seen and not Path(path).exists())
    )


def _dependencies(spec_dir: Path, out_dir: Path) -> set[Path]:
    """Project modules outside the spec directory that the last build's specs imported."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        return set()
    return {
        (spec_dir / name).resolve() if not Path(name).is_absolute() else Path(name)
        for name in manifest.inputs
        if name.startswith("../") or Path(name).is_absolute()
    }


def _roots(spec_dir: Path, templates: Path | None, files: Iterable[Path]) -> list[Path]:
    """The directories to watch (recursively) and the module files outside them."""
    dirs = {spec_dir, *(Path(d).resolve() for d in template_dirs(templates))}
    # A directory inside another watched one is watched already (watching is recursive).
    roots = {d for d in dirs if not any(d != o and d.is_relative_to(o) for o in dirs)}
    roots.update(f for f in files if f.is_file() and not any(f.is_relative_to(d) for d in dirs))
    return sorted(roots)


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
