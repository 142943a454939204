"""The whole command: which handler modules the specs name, what each gets, then writing.

``plan_scaffold`` reads the specs and the handler modules and returns what it would
write; ``write_scaffold`` writes it. Handler modules and the generated package are
found below the handler root, the directory the project's imports start from: the spec
directory's parent by default, ``src/`` in a src layout (``handler-root`` in
``[tool.chgen]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .. import naming
from ..atomic import atomic_write
from ..config import project_line_length
from ..errors import UsageError
from ..ir import AppIR
from ..loader import load_apps
from ..resolve import resolve
from .model import ModuleResult, stubs_for
from .source import fresh_module
from .update import update_module

__all__ = [
    "module_path",
    "package_for",
    "plan_scaffold",
    "scaffold",
    "write_scaffold",
]


def package_for(out_dir: Path, project_root: Path) -> str:
    """The dotted import path of the generated output directory ``out_dir``."""
    out = out_dir.resolve()
    root = project_root.resolve()
    try:
        parts = out.relative_to(root).parts
    except ValueError:
        raise UsageError(
            f"the output directory {str(out_dir)!r} is not inside the project root "
            f"{str(root)!r} (the handler root, where imports start), so handler modules "
            "cannot import it; choose -o inside it, or another --handler-root "
            "(handler-root in [tool.chgen])"
        ) from None
    if not parts or not all(naming.is_python_identifier(p) for p in parts):
        raise UsageError(
            f"the output directory {str(out_dir)!r} is not an importable package path "
            f"below {str(root)!r}; choose -o like 'generated'"
        )
    return ".".join(parts)


def module_path(module: str, project_root: Path) -> Path:
    """The file of dotted ``module`` below ``project_root`` (a package's ``__init__.py``)."""
    parts = module.split(".")
    package_init = project_root.joinpath(*parts, "__init__.py")
    if package_init.is_file():
        return package_init
    return project_root.joinpath(*parts[:-1], f"{parts[-1]}.py")


def plan_scaffold(
    spec_dir: Path,
    out_dir: Path | None = None,
    app_name: str | None = None,
    *,
    handler_root: Path | None = None,
    line_length: int | None = None,
) -> list[ModuleResult]:
    """What scaffolding would write, per handler module; raises SpecErrors, UsageError,
    UnparsableModule. Nothing is written.

    ``out_dir`` defaults to ``generated/`` beside ``spec_dir``, ``handler_root`` to the
    spec directory's parent, ``line_length`` to that directory's black or ruff setting.
    """
    spec_dir = spec_dir.resolve()
    root = handler_root.resolve() if handler_root is not None else spec_dir.parent
    if line_length is None:
        line_length = project_line_length(spec_dir.parent)
    apps = _chosen(resolve(load_apps(spec_dir), spec_dir), app_name, spec_dir)
    package = package_for(out_dir if out_dir is not None else spec_dir.parent / "generated", root)
    by_module: dict[str, list[AppIR]] = {}
    for app in apps:
        by_module.setdefault(app.handlers_module, []).append(app)
    return [
        _plan_module(module, module_apps, package, root, line_length)
        for module, module_apps in sorted(by_module.items())
    ]


def _chosen(apps: list[AppIR], app_name: str | None, spec_dir: Path) -> list[AppIR]:
    if app_name is None:
        return apps
    chosen = [a for a in apps if a.name == app_name]
    if not chosen:
        known = ", ".join(a.name for a in apps) or "none"
        raise UsageError(f"no app named {app_name!r} in {str(spec_dir)!r} (apps: {known})")
    return chosen


def _plan_module(
    module: str, apps: list[AppIR], package: str, root: Path, line_length: int
) -> ModuleResult:
    """What one handler module, serving ``apps``, becomes."""
    stubs = [s for app in apps for s in stubs_for(app, package)]
    path = module_path(module, root)
    parts = module.split(".")
    packages = tuple(
        init
        for i in range(1, len(parts))
        if not (init := root.joinpath(*parts[:i], "__init__.py")).exists()
    )
    if path.exists():
        old = path.read_bytes()
        new, added, notices = update_module(old, stubs, path, line_length)
        return ModuleResult(path, module, old, new, added, notices, packages)
    names = " and ".join(a.name for a in apps)
    specs = ", ".join(a.spec_file for a in apps)
    doc = (
        f"Handlers of the {names} app (spec: {specs}).\n\n"
        "`chgen scaffold` adds a stub here when the spec maps a new message type;\n"
        "it never changes what you write."
    )
    new = fresh_module(stubs, doc, line_length)
    added = tuple(f"class {s.name}" for s in stubs)
    return ModuleResult(path, module, None, new, added, (), packages)


def write_scaffold(results: Sequence[ModuleResult]) -> None:
    """Write every changed module (and missing package ``__init__.py``) atomically."""
    for result in results:
        for init in result.packages:
            if not init.exists():
                atomic_write(init, b"")
        if result.changed:
            atomic_write(result.path, result.new)


def scaffold(
    spec_dir: Path,
    out_dir: Path | None = None,
    app_name: str | None = None,
    *,
    handler_root: Path | None = None,
    line_length: int | None = None,
) -> list[ModuleResult]:
    results = plan_scaffold(
        spec_dir, out_dir, app_name, handler_root=handler_root, line_length=line_length
    )
    write_scaffold(results)
    return results
