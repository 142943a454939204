"""``chgen init``: start a new project that runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import EXIT_OK, guarded, shown

__all__ = ["init"]


@click.command()
@click.argument(
    "directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--name",
    "package",
    default=None,
    help="The project's Python package (default: DIR's name, e.g. my-app gives my_app).",
)
def init(directory: Path, package: str | None) -> None:
    """Start a new project in DIR (default: here): an example spec, its handlers, a
    pyproject.toml with [tool.chgen], and a README saying what to run next.

    Nothing is overwritten: if any of these files exists, nothing is written.
    """
    sys.exit(guarded(lambda: _init(directory, package)))


def _init(directory: Path, package: str | None) -> int:
    from ..dev import ServerMissing, require_server
    from ..project import new_project, write_project

    project = new_project(directory, package)
    write_project(project)
    where = shown(directory.resolve(), Path.cwd().resolve())
    click.echo(f"chgen: created {', '.join(project.files)} in {where}/")
    click.echo("Next:")
    if where != ".":
        click.echo(f"  cd {where}")
    click.echo("  chgen build")
    click.echo(f"  {project.serve}")
    click.echo(
        "then connect to ws://127.0.0.1:8000/ws/lobby/ (see README.md). Or run `chgen dev`: "
        "it builds, serves, and rebuilds as the spec changes."
    )
    try:
        require_server()
    except ServerMissing as exc:
        click.echo(f"note: {exc}")
    return EXIT_OK
