"""The build pipeline: load specs -> resolve -> render -> (writer). Pure after loading.

``generate`` renders everything from scratch. ``plan_build`` is what ``chgen build``
runs: the same output, but it consults the manifest of the previous build in the output
directory (see ``chgen.manifest`` and ``chgen.fingerprint``) to skip work that cannot
change:

* nothing changed since the last build: no spec is imported and nothing is rendered;
* otherwise every spec is loaded and checked (apps may depend on each other's modules),
  and only the apps whose checked model, templates or generator changed, or whose
  output files on disk no longer match the manifest, are rendered again, in parallel
  processes for large builds (``chgen.render.units``).

The heavy modules (resolve, the renderers, jinja2) are imported only when needed, so a
no-op rebuild stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .clientdir import client_prefix, place_clients, placed_key
from .config import ApiSettings
from .errors import UsageError
from .fingerprint import (
    dep_inputs,
    file_digest,
    generator_digest,
    input_name,
    spec_inputs,
    stray_outputs,
    unit_key,
    verified_outputs,
)
from .loader import load_specs
from .manifest import ROOT_PACKAGE, AppEntry, Manifest, digest, read_manifest
from .render.environment import make_environment, templates_digest
from .render.units import Rendering, TemplateError, render_unit, render_units

if TYPE_CHECKING:
    from .ir import AppIR
    from .loader import LoadedApp

__all__ = [
    "Plan",
    "Rendering",
    "TemplateError",
    "client_prefix",
    "generate",
    "plan_build",
    "render",
]

Progress = Callable[[str], None]


def generate(spec_dir: Path, templates: Path | None = None) -> dict[str, str]:
    """Every generated file for the specs in ``spec_dir``, keyed by output-relative path."""
    loaded, _ = load_specs(spec_dir)
    return render(_resolve(loaded, spec_dir), templates)


def render(apps: list[AppIR], templates: Path | None = None) -> dict[str, str]:
    how = Rendering(templates)
    env = make_environment(templates)
    plan = render_unit(None, env, how)
    for app in apps:
        plan.update(render_unit(app, env, how))
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
    black: bool = False,
    api: ApiSettings | None = None,
) -> Plan:
    """The files a build of ``spec_dir`` into ``out_dir`` consists of, reusing what it can.

    ``jobs`` caps the rendering processes (1: render in this process; None: decide by
    the size of the work and the number of CPUs). With ``client_dir``, each app's client
    files go to ``client_dir/<app>/`` (see ``chgen.clientdir``) instead of its package.
    With ``black``, black formats every generated Python file. ``api`` is what the
    contracts say of the API (``[tool.chgen.api]``).
    """
    say = progress or (lambda _: None)
    if not spec_dir.is_dir():
        raise UsageError(f"spec directory {str(spec_dir)!r} does not exist")
    how = Rendering(templates, black, api or ApiSettings())
    clients = client_prefix(out_dir, client_dir)
    build = _Fingerprint(
        generator_digest(), _template_key(how, clients), spec_inputs(spec_dir, out_dir)
    )
    last = _LastBuild.read(out_dir)
    if last.is_current(build, spec_dir, out_dir):
        return last.as_plan()

    say(f"loading specs from {_shown(spec_dir)}…")
    loaded, deps = load_specs(spec_dir)
    units: dict[str, AppIR | None] = {ROOT_PACKAGE: None}
    units.update({a.name: a for a in _resolve(loaded, spec_dir)})
    keys = {name: unit_key(build.generator, build.templates, app) for name, app in units.items()}
    files, entries = last.reusable(keys)
    todo = [name for name in units if name not in entries]
    for name, rendered in render_units([units[n] for n in todo], how, say, jobs):
        rendered = place_clients(rendered, clients)
        files.update(rendered)
        entries[name] = AppEntry(keys[name], tuple(sorted(rendered)))

    inputs = {**build.inputs, **{input_name(p, spec_dir): file_digest(p) for p in deps}}
    manifest = Manifest(
        generator=build.generator,
        templates=build.templates,
        inputs=inputs,
        apps=entries,
        files={rel: digest(content) for rel, content in files.items()},
    )
    reused = tuple(sorted(set(units) - set(todo)))
    return Plan(dict(sorted(files.items())), manifest, tuple(todo), reused, loaded=True)


def _template_key(how: Rendering, clients: str | None) -> str:
    """The templates' digest, changed by anything else that changes every app's output."""
    key = placed_key(templates_digest(how.templates), clients)
    return digest(f"{key}\n{how.key()}") if how.key() else key


@attrs.frozen
class _Fingerprint:
    """What this build's output depends on, as far as is known before loading the specs."""

    generator: str
    templates: str
    inputs: dict[str, str]  # the files under the spec directory, by digest


@attrs.frozen
class _LastBuild:
    """The previous build's manifest, and those of its outputs still unchanged on disk."""

    manifest: Manifest | None
    verified: dict[str, str]  # output-relative path -> content

    @classmethod
    def read(cls, out_dir: Path) -> _LastBuild:
        old = read_manifest(out_dir)
        return cls(old, verified_outputs(old, out_dir) if old is not None else {})

    def is_current(self, build: _Fingerprint, spec_dir: Path, out_dir: Path) -> bool:
        """Whether nothing the last build read or wrote has changed since."""
        old = self.manifest
        return (
            old is not None
            and old.generator == build.generator
            and old.templates == build.templates
            and dict(old.inputs) == {**build.inputs, **dep_inputs(old.inputs, spec_dir)}
            and len(self.verified) == len(old.files)
            and not stray_outputs(out_dir, old.files)
        )

    def as_plan(self) -> Plan:
        assert self.manifest is not None
        reused = tuple(sorted(self.manifest.apps))
        return Plan(self.verified, self.manifest, rendered=(), reused=reused, loaded=False)

    def reusable(self, keys: dict[str, str]) -> tuple[dict[str, str], dict[str, AppEntry]]:
        """The files and manifest entries of the units whose key is the same as last
        time and whose files are all still on disk as written."""
        files: dict[str, str] = {}
        entries: dict[str, AppEntry] = {}
        for name, key in keys.items():
            before = self.manifest.apps.get(name) if self.manifest is not None else None
            if before is not None and before.key == key and set(before.files) <= set(self.verified):
                files.update({f: self.verified[f] for f in before.files})
                entries[name] = before
        return files, entries


def _resolve(loaded: list[LoadedApp], spec_dir: Path) -> list[AppIR]:
    from .resolve import resolve

    return resolve(loaded, spec_dir)


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
