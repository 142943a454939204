"""``chgen scaffold``: create or extend the handler modules with typed stubs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import Layout, stub_line_length
from .common import (
    CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    guarded,
    handler_root_option,
    paths,
    shown,
    spec_dir_argument,
)

__all__ = ["scaffold"]


@click.command()
@spec_dir_argument()
@click.option("--app", "app_name", default=None, help="Scaffold only the App with this name.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Where `chgen build` writes (default: out-dir in {CONFIG}, else generated/ "
    "beside SPEC_DIR); handlers import the generated package from there.",
)
@handler_root_option()
@click.option(
    "--line-length",
    type=click.IntRange(min=1),
    default=None,
    help=f"Line length of the stubs (default: line-length in {CONFIG}, else [tool.black] "
    "or [tool.ruff], else 88).",
)
def scaffold(
    spec_dir: Path | None,
    app_name: str | None,
    out_dir: Path | None,
    handler_root: Path | None,
    line_length: int | None,
) -> None:
    """Create or extend each App's handler module with typed stubs.

    Existing code is never changed: only missing classes, stubs and imports are added.
    Handlers the spec no longer maps are reported, not deleted. Handler modules are
    found below the handler root, like the project's imports.
    """
    where = paths(spec_dir=spec_dir, out_dir=out_dir, handler_root=handler_root)
    length = stub_line_length(where.config, line_length, where.spec_dir)
    sys.exit(guarded(lambda: _scaffold(where, app_name, length)))


def _scaffold(where: Layout, app_name: str | None, line_length: int) -> int:
    from ..scaffold import UnparsableModule, plan_scaffold, write_scaffold

    try:
        results = plan_scaffold(
            where.spec_dir,
            where.out_dir,
            app_name,
            handler_root=where.handler_root,
            line_length=line_length,
        )
    except UnparsableModule as exc:
        click.echo(f"Error: {exc}", err=True)
        click.echo("Fix the module and run `chgen scaffold` again; nothing was written.", err=True)
        return EXIT_FAILED
    write_scaffold(results)
    root = Path.cwd()
    for result in results:
        path = shown(result.path, root)
        for notice in result.notices:
            click.echo(notice.render(root))
        added = [a for a in result.added if not a.startswith("import ")]
        imported = [a.removeprefix("import ") for a in result.added if a.startswith("import ")]
        if result.old is None:
            click.echo(f"chgen: created {path} ({', '.join(added)})")
        elif result.changed:
            what = [f"added {', '.join(added)}"] if added else []
            what += [f"imported {', '.join(imported)}"] if imported else []
            click.echo(f"chgen: updated {path}: {'; '.join(what)}")
        else:
            click.echo(f"chgen: {path} is up to date")
    return EXIT_OK
