"""The build pipeline: load specs -> resolve -> render -> (writer). Pure after loading.

``generate`` renders everything from scratch. ``plan_build`` is what ``chgen build``
runs: the same output, but it consults the manifest of the previous build in the output
directory (see ``chgen.manifest``) to skip work that cannot change:

* nothing changed since the last build: no spec is imported and nothing is rendered;
* otherwise every spec is loaded and checked (apps may depend on each other's modules),
  and only the apps whose checked model, templates or generator changed, or whose
  output files on disk no longer match the manifest, are rendered again. Large builds
  render those apps in parallel processes (black is the slow part).

The heavy modules (resolve, the renderers, jinja2, black) are imported only when needed,
so a no-op rebuild stays cheap.
"""

from __future__ import annotations

import enum
import functools
import importlib
import json
import os
import re
import site
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .errors import ChgenError, UsageError
from .manifest import ROOT_PACKAGE, AppEntry, Manifest, digest, read_manifest
from .render.environment import make_environment, templates_digest

if TYPE_CHECKING:
    import jinja2

    from .ir import AppIR
    from .loader import LoadedApp

__all__ = [
    "CLIENT_FILES",
    "Plan",
    "TemplateError",
    "client_prefix",
    "generate",
    "plan_build",
    "render",
]

Progress = Callable[[str], None]

# Render in parallel processes when at least this many payloads and consumers need
# rendering across two or more apps; below it, starting the processes costs more.
PARALLEL_MIN_SIZE = 150


def generate(spec_dir: Path, templates: Path | None = None) -> dict[str, str]:
    """Every generated file for the specs in ``spec_dir``, keyed by output-relative path."""
    loaded, _ = load_specs(spec_dir)
    return render(_resolve(loaded, spec_dir), templates)


def render(apps: list[AppIR], templates: Path | None = None) -> dict[str, str]:
    env = make_environment(templates)
    plan = _render_unit(None, env, templates)
    for app in apps:
        plan.update(_render_unit(app, env, templates))
    return plan


@attrs.frozen
class Plan:
    """What a build would write, and how much work finding that out took."""

    files: dict[str, str]  # output-relative path -> content: every file of the output
    manifest: Manifest  # to save beside the output once it is written
    rendered: tuple[str, ...]  # apps rendered this time ("" is the root package)
    reused: tuple[str, ...]  # apps whose files on disk were known to be up to date
    loaded: bool  # False: no input changed, so no spec was even imported


def plan_build(
    spec_dir: Path,
    out_dir: Path,
    *,
    templates: Path | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    client_dir: Path | None = None,
) -> Plan:
    """The files a build of ``spec_dir`` into ``out_dir`` consists of, reusing what it can.

    ``jobs`` caps the rendering processes (1: render in this process; None: decide by
    the size of the work and the number of CPUs). With ``client_dir``, each app's client
    files go to ``client_dir/<app>/`` (see ``client_prefix``) instead of its package.
    """
    say = progress or (lambda _: None)
    if not spec_dir.is_dir():
        raise UsageError(f"spec directory {str(spec_dir)!r} does not exist")
    generator = generator_digest()
    clients = client_prefix(out_dir, client_dir)
    template_key = _placed(templates_digest(templates), clients)
    old = read_manifest(out_dir)
    spec_inputs = _spec_inputs(spec_dir, out_dir)
    verified = _verified_outputs(old, out_dir) if old is not None else {}

    if (
        old is not None
        and old.generator == generator
        and old.templates == template_key
        and dict(old.inputs) == {**spec_inputs, **_dep_inputs(old.inputs, spec_dir)}
        and len(verified) == len(old.files)
        and not _stray_outputs(out_dir, old.files)
    ):
        return Plan(verified, old, rendered=(), reused=tuple(sorted(old.apps)), loaded=False)

    say(f"loading specs from {_shown(spec_dir)}…")
    loaded, deps = load_specs(spec_dir)
    apps = _resolve(loaded, spec_dir)
    inputs = {**spec_inputs, **{_input_name(p, spec_dir): _file_digest(p) for p in deps}}

    units: dict[str, AppIR | None] = {ROOT_PACKAGE: None, **{a.name: a for a in apps}}
    keys = {name: _unit_key(generator, template_key, app) for name, app in units.items()}
    files: dict[str, str] = {}
    entries: dict[str, AppEntry] = {}
    todo: list[str] = []
    for name, key in keys.items():
        before = old.apps.get(name) if old is not None else None
        if before is not None and before.key == key and all(f in verified for f in before.files):
            files.update({f: verified[f] for f in before.files})
            entries[name] = before
        else:
            todo.append(name)
    for name, rendered in _render_units([units[n] for n in todo], templates, say, jobs):
        rendered = place_clients(rendered, clients)
        files.update(rendered)
        entries[name] = AppEntry(keys[name], tuple(sorted(rendered)))

    manifest = Manifest(
        generator=generator,
        templates=template_key,
        inputs=inputs,
        apps=entries,
        files={rel: digest(content) for rel, content in files.items()},
    )
    reused = tuple(sorted(set(units) - set(todo)))
    return Plan(dict(sorted(files.items())), manifest, tuple(todo), reused, loaded=True)


# -- where the client files go ----------------------------------------------------------

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


def _placed(template_key: str, clients: str | None) -> str:
    """The template key, changed by a client directory so that moving it re-renders."""
    return template_key if clients is None else digest(f"{template_key}\nclients: {clients}")


# -- loading -----------------------------------------------------------------------------

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
    from .loader import load_apps

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


def _resolve(loaded: list[LoadedApp], spec_dir: Path) -> list[AppIR]:
    from .resolve import resolve

    return resolve(loaded, spec_dir)


# -- the manifest's inputs and keys ------------------------------------------------------


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
            parts.append(f"{path.relative_to(package).as_posix()} {_file_digest(path)}")
    return digest("\n".join(parts))


def _spec_inputs(spec_dir: Path, out_dir: Path) -> dict[str, str]:
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
            inputs[rel.as_posix()] = _file_digest(path)
    return inputs


def _dep_inputs(recorded: Mapping[str, str], spec_dir: Path) -> dict[str, str]:
    """The current digests of the modules outside the spec directory a build recorded."""
    current = {}
    for name in recorded:
        if name.startswith("../") or Path(name).is_absolute():
            path = spec_dir / name if name.startswith("../") else Path(name)
            current[name] = _file_digest(path) if path.is_file() else "missing"
    return current


def _input_name(path: Path, spec_dir: Path) -> str:
    try:
        return Path(os.path.relpath(path, spec_dir.resolve())).as_posix()
    except ValueError:  # another drive
        return path.as_posix()


def _file_digest(path: Path) -> str:
    return digest(path.read_bytes())


def _unit_key(generator: str, template_key: str, app: AppIR | None) -> str:
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


def _verified_outputs(old: Manifest, out_dir: Path) -> dict[str, str]:
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


def _stray_outputs(out_dir: Path, known: Iterable[str]) -> bool:
    """Whether a generated file the manifest does not know about lies in ``out_dir``."""
    from .writer import generated_files

    known = set(known)
    return any(rel not in known for rel in generated_files(out_dir))


# -- rendering ---------------------------------------------------------------------------


def _render_root(env: jinja2.Environment) -> dict[str, str]:
    from .render import app as app_renderer

    return {"__init__.py": app_renderer.render_root_package(env)}


def _render_app(app: AppIR, env: jinja2.Environment) -> dict[str, str]:
    # Looked up on the modules at call time, so tests can stand in for a renderer.
    from .render import app as app_renderer
    from .render import client as client_renderer

    files = app_renderer.render_app(app, env)
    files.update(client_renderer.render_client(app, env))
    return files


class TemplateError(ChgenError):
    """A template from the user's ``--templates`` directory failed to render (exit 1)."""


def _render_unit(
    app: AppIR | None, env: jinja2.Environment, templates: Path | None
) -> dict[str, str]:
    from .render.app import InvalidPython

    try:
        return _render_root(env) if app is None else _render_app(app, env)
    except InvalidPython as exc:
        mine = templates / exc.template if templates is not None else None
        if mine is None or not mine.is_file():
            raise  # a built-in template wrote invalid Python: a bug in chgen
        raise TemplateError(
            f"{_template_line(mine, exc.text)}: the template rendered invalid Python: {exc} "
            f"(in a template of --templates {templates})"
        ) from None
    except Exception as exc:
        where = _user_template_frame(exc, templates)
        if where is None:
            raise
        raise TemplateError(
            f"{where}: {type(exc).__name__}: {exc} (in a template of --templates {templates})"
        ) from None


def _template_line(template: Path, text: str) -> str:
    """``file:line`` of the one line of ``template`` that can render ``text`` (its Jinja
    tags matching anything, a line of tags alone matching nothing), or just ``file``
    when no single line can."""
    wanted = text.strip()
    lines = template.read_text(encoding="utf-8").splitlines()
    found = [
        n
        for n, line in enumerate(lines, 1)
        if _JINJA_TAG.sub("", line).strip() and _line_pattern(line).fullmatch(wanted)
    ]
    return f"{template}:{found[0]}" if len(found) == 1 else str(template)


_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")


def _line_pattern(line: str) -> re.Pattern[str]:
    static = _JINJA_TAG.split(line.strip())
    return re.compile(".*?".join(re.escape(part) for part in static), re.S)


def _user_template_frame(exc: BaseException, templates: Path | None) -> str | None:
    """``file:line`` of the innermost frame of ``exc`` inside the user's templates."""
    import jinja2

    if templates is None:
        return None
    root = templates.resolve()
    syntax = exc.filename if isinstance(exc, jinja2.TemplateSyntaxError) else None
    if syntax and Path(syntax).resolve().is_relative_to(root):
        assert isinstance(exc, jinja2.TemplateSyntaxError)
        return f"{syntax}:{exc.lineno}"
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve().is_relative_to(root):
            found = f"{frame.filename}:{frame.lineno}"
    return found


def _render_units(
    units: list[AppIR | None], templates: Path | None, say: Progress, jobs: int | None
) -> Iterator[tuple[str, dict[str, str]]]:
    """(name, files) of each unit, in order; in parallel processes for big builds."""
    apps = [u for u in units if u is not None]
    workers = _workers(apps, jobs)
    if workers <= 1:
        env = make_environment(templates)
        for unit in units:
            if unit is not None:
                say(f"rendering {unit.name}…")
            yield (ROOT_PACKAGE if unit is None else unit.name), _render_unit(unit, env, templates)
        return
    # Biggest first, so that no worker is left with a big app at the end.
    order = sorted(units, key=lambda u: -(len(u.payloads) + len(u.consumers)) if u else 0)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(templates,))
    try:
        futures = {}
        for unit in order:
            if unit is not None:
                say(f"rendering {unit.name}…")
            futures[id(unit)] = pool.submit(_render_in_worker, unit)
        for unit in units:
            yield (ROOT_PACKAGE if unit is None else unit.name), futures[id(unit)].result()
    finally:
        # On an error, don't wait for the other apps to finish rendering.
        pool.shutdown(wait=True, cancel_futures=True)


def _workers(apps: list[AppIR], jobs: int | None) -> int:
    if jobs is not None:
        return max(1, min(jobs, len(apps)))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    size = sum(len(a.payloads) + len(a.consumers) for a in apps)
    if len(apps) < 2 or size < PARALLEL_MIN_SIZE:
        return 1
    return max(1, min(cpus or 1, len(apps)))


_worker: tuple[jinja2.Environment, Path | None] | None = None


def _init_worker(templates: Path | None) -> None:
    global _worker
    _worker = make_environment(templates), templates


def _render_in_worker(unit: AppIR | None) -> dict[str, str]:
    assert _worker is not None, "the worker was not initialised"
    return _render_unit(unit, *_worker)


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
