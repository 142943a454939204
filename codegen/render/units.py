"""Rendering the units of a build: the root package and each app, in parallel processes
for big builds, with a failing user template located in the user's own file.

A unit renders to ``{output-relative path: content}``. With ``Rendering.black``, every
Python file is formatted by black afterwards, for template overrides that do not write
black's style themselves (``chgen build --format``).
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ..config import ApiSettings
from ..errors import ChgenError
from ..manifest import ROOT_PACKAGE
from .environment import make_environment

if TYPE_CHECKING:
    import jinja2

    from ..ir import AppIR

__all__ = ["Rendering", "TemplateError", "render_unit", "render_units"]

Progress = Callable[[str], None]

# Render in parallel processes when at least this many payloads and consumers need
# rendering across two or more apps; below it, starting the processes costs more.
PARALLEL_MIN_SIZE = 150


class TemplateError(ChgenError):
    """A template from the user's ``--templates`` directory failed to render (exit 1)."""


@attrs.frozen
class Rendering:
    """How a build renders: the user's template directory, whether black formats, and
    what the contracts (asyncapi.json, api.html) say of the API (``[tool.chgen.api]``)."""

    templates: Path | None = None
    black: bool = False
    api: ApiSettings = ApiSettings()

    def key(self) -> str:
        """What of these settings the output depends on, beside the templates' digest."""
        parts = ["black" if self.black else ""]
        if self.api != ApiSettings():
            parts.append(self.api.key())
        return "\n".join(parts).strip()


def render_unit(app: AppIR | None, env: jinja2.Environment, how: Rendering) -> dict[str, str]:
    """The files of one app (or of the root package, for None)."""
    from .pyformat import format_with_black

    files = _located(app, env, how.templates, how.api)
    if how.black:
        files = {k: format_with_black(v) if k.endswith(".py") else v for k, v in files.items()}
    return files


def render_units(
    units: list[AppIR | None], how: Rendering, say: Progress, jobs: int | None
) -> Iterator[tuple[str, dict[str, str]]]:
    """(name, files) of each unit, in order; in parallel processes for big builds."""
    apps = [u for u in units if u is not None]
    workers = _workers(apps, jobs)
    if workers <= 1:
        env = make_environment(how.templates)
        for unit in units:
            if unit is not None:
                say(f"rendering {unit.name}…")
            yield _name(unit), render_unit(unit, env, how)
        return
    # Biggest first, so that no worker is left with a big app at the end.
    order = sorted(units, key=lambda u: -(len(u.payloads) + len(u.consumers)) if u else 0)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(how,))
    try:
        futures = {}
        for unit in order:
            if unit is not None:
                say(f"rendering {unit.name}…")
            futures[id(unit)] = pool.submit(_render_in_worker, unit)
        for unit in units:
            yield _name(unit), futures[id(unit)].result()
    finally:
        # On an error, don't wait for the other apps to finish rendering.
        pool.shutdown(wait=True, cancel_futures=True)


def _name(unit: AppIR | None) -> str:
    return ROOT_PACKAGE if unit is None else unit.name


# -- one unit, with errors located in the user's templates ------------------------------


def _render(app: AppIR | None, env: jinja2.Environment, api: ApiSettings) -> dict[str, str]:
    # Looked up on the modules at call time, so tests can stand in for a renderer.
    from . import app as app_renderer
    from . import client as client_renderer
    from . import contracts

    if app is None:
        return {"__init__.py": app_renderer.render_root_package(env)}
    files = app_renderer.render_app(app, env)
    files.update(client_renderer.render_client(app, env))
    files.update(contracts.render_contracts(app, env, api))
    return files


def _located(
    app: AppIR | None, env: jinja2.Environment, templates: Path | None, api: ApiSettings
) -> dict[str, str]:
    """``_render``, with an error from one of the user's templates raised as a
    TemplateError naming the template's file and line; other errors are chgen's bugs."""
    from .app import InvalidPython

    try:
        return _render(app, env, api)
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


_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")


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


# -- worker processes --------------------------------------------------------------------


def _workers(apps: list[AppIR], jobs: int | None) -> int:
    if jobs is not None:
        return max(1, min(jobs, len(apps)))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    size = sum(len(a.payloads) + len(a.consumers) for a in apps)
    if len(apps) < 2 or size < PARALLEL_MIN_SIZE:
        return 1
    return max(1, min(cpus or 1, len(apps)))


_worker: tuple[jinja2.Environment, Rendering] | None = None


def _init_worker(how: Rendering) -> None:
    global _worker
    _worker = make_environment(how.templates), how


def _render_in_worker(unit: AppIR | None) -> dict[str, str]:
    assert _worker is not None, "the worker was not initialised"
    return render_unit(unit, *_worker)
