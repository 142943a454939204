"""``chgen init [DIR]``: a new project that runs, from the templates in ``templates/project/``.

Every file of the project is a Jinja template there; ``FILES`` says where each goes. The
project is a src layout: the specs in ``specs/``, the handlers in
``src/<package>/handlers.py`` and the generated package in ``src/<package>/generated/``,
as its ``[tool.chgen]`` says.

Nothing is overwritten: if any file of the project exists, nothing is written.
"""

from __future__ import annotations

import keyword
import re
import shlex
import sys
from pathlib import Path
from typing import Final

import attrs

from .atomic import atomic_write
from .errors import ChgenError, UsageError
from .render.environment import builtin_template_dir

__all__ = ["NewProject", "ProjectExists", "new_project", "write_project"]

# Project path ({package}: the project's package) -> its template in templates/project/.
FILES = {
    ".gitignore": "gitignore.jinja",
    "README.md": "README.md.jinja",
    "pyproject.toml": "pyproject.toml.jinja",
    "specs/chat.py": "spec.py.jinja",
    "src/{package}/__init__.py": "package.py.jinja",
    "src/{package}/handlers.py": "handlers.py.jinja",
}
# Names a project package must not take: it would shadow chgen or a module everyone needs.
_TAKEN = {"chgen", "generated", "specs", "src", "tests", *sys.stdlib_module_names}


class ProjectExists(ChgenError):
    """Files of the new project exist already; nothing was written (exit 1)."""


# uvicorn's HTTP protocol with a deadline for the request head (docs/security.md): without
# it, a connection that never finishes its handshake is held forever.
SERVE_OPTIONS: Final = ("--http", "chgen.runtime.handshake:AutoHTTPProtocol")


@attrs.frozen
class NewProject:
    """The files of a new project, keyed by their path relative to its directory."""

    directory: Path
    name: str  # as the user named it (the directory's name)
    package: str  # the Python package below src/
    files: dict[str, str]

    @property
    def serve(self) -> str:
        """The command that serves the app once ``chgen build`` has run."""
        module = f"{self.package}.generated.chat.routing:application"
        return shlex.join(["uvicorn", module, "--app-dir", "src", *SERVE_OPTIONS])


def new_project(directory: Path, package: str | None = None) -> NewProject:
    """The project ``chgen init`` writes into ``directory``; raises UsageError for a name
    that cannot be a package, ProjectExists when one of its files is already there."""
    name = directory.resolve().name
    given = package is not None
    package = package if package is not None else _package_name(name)
    _check_package(package, given=given)
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_templates())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    project = NewProject(directory, name, package, {})
    values = {
        "name": name,
        "package": package,
        "distribution": re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._") or package,
        "serve": project.serve,
    }
    for path, template in FILES.items():
        project.files[path.format(package=package)] = env.get_template(template).render(values)
    _refuse_existing(project)
    return project


def write_project(project: NewProject) -> None:
    for rel, content in project.files.items():
        atomic_write(project.directory / rel, content)


def _templates() -> Path:
    return builtin_template_dir() / "project"


def _package_name(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]", "_", name).lower()


def _check_package(package: str, *, given: bool) -> None:
    how = "choose another with --name" if given else "name it with --name"
    if not package.isidentifier() or keyword.iskeyword(package):
        raise UsageError(f"{package!r} is not a Python package name; {how}, e.g. --name myapp")
    if package in _TAKEN:
        raise UsageError(
            f"the package name {package!r} would shadow the module of the same name "
            f"(chgen's or Python's); {how}"
        )


def _refuse_existing(project: NewProject) -> None:
    existing = [rel for rel in project.files if (project.directory / rel).exists()]
    if existing:
        raise ProjectExists(
            f"{project.directory} already has {', '.join(existing)}; chgen init writes a "
            "new project and overwrites nothing, so nothing was written. Choose an empty "
            "or new directory (chgen init DIR)."
        )
