"""``chgen build``: render the specs into the output directory, check it, or watch."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import click

from ..build import client_prefix, plan_build
from ..config import Layout
from ..manifest import ROOT_PACKAGE, save_manifest
from ..progress import reporter
from ..writer import changes, unified_diff, write
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    client_dir_option,
    guarded,
    here,
    out_option,
    paths,
    spec_dir_argument,
    templates_option,
)

__all__ = ["build", "build_once", "watch_and_rebuild"]


@click.command()
@spec_dir_argument()
@out_option()
@client_dir_option()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if output is stale.")
@click.option(
    "--watch",
    is_flag=True,
    help="Build, then rebuild whenever a spec or template changes (Ctrl-C stops).",
)
@templates_option()
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Report progress on stderr (the default when stderr is a terminal).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Render with at most N processes (default: by the size of the build and CPUs).",
)
@click.option(
    "--format",
    "black",
    is_flag=True,
    help="Format every generated Python file with black; for --templates overrides that "
    "do not write black's style themselves (the built-in templates do).",
)
def build(
    spec_dir: Path | None,
    out_dir: Path | None,
    client_dir: Path | None,
    check: bool,
    watch: bool,
    templates: Path | None,
    verbose: bool,
    jobs: int | None,
    black: bool,
) -> None:
    """Build every App defined in SPEC_DIR: Python spec modules, and TOML or JSON data
    specs (default: spec-dir in [tool.chgen] of pyproject.toml).

    Only what changed since the last build is rendered and written again; see
    OUT/.chgen-manifest.json.
    """
    if check and watch:
        raise click.UsageError("--check and --watch cannot be combined")
    where = paths(spec_dir=spec_dir, out_dir=out_dir, client_dir=client_dir)
    progress = reporter(verbose)

    def once() -> int:
        return build_once(where, check, templates, progress, jobs, black)

    if not watch:
        sys.exit(once())
    if not where.spec_dir.is_dir():
        click.echo(f"Error: spec directory {str(where.spec_dir)!r} does not exist", err=True)
        sys.exit(EXIT_USAGE)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends watching: exit 0
        watch_and_rebuild(where, templates, once)
    click.echo("chgen: stopped watching")


def watch_and_rebuild(
    where: Layout,
    templates: Path | None,
    rebuild: Callable[[], object],
    stop_event: threading.Event | None = None,
) -> None:
    from ..watch import watch

    watch(
        where.spec_dir,
        where.out_dir,
        templates=templates,
        rebuild=rebuild,
        echo=lambda s: click.echo(f"chgen: {s}"),
        stop_event=stop_event,
    )


def build_once(
    where: Layout,
    check: bool,
    templates: Path | None,
    progress: Callable[[str], None] | None,
    jobs: int | None,
    black: bool = False,
) -> int:
    """One build (or check), reported; the exit code. Never raises but KeyboardInterrupt."""
    out = where.out_dir

    def run() -> int:
        plan = plan_build(
            where.spec_dir,
            out,
            templates=templates,
            progress=progress,
            jobs=jobs,
            client_dir=where.client_dir,
            black=black,
            api=where.config.api if where.config is not None else None,
        )
        clients = client_prefix(out, where.client_dir)
        if check:
            return _check(plan.files, out, clients)
        done = write(plan.files, out, clients)
        save_manifest(out, plan.manifest)
        summary = f"{len(done.added)} added, {len(done.changed)} changed, "
        summary += f"{len(done.removed)} removed, {len(done.unchanged)} unchanged in {here(out)}"
        apps = [name for name in plan.manifest.apps if name != ROOT_PACKAGE]
        rendered = [name for name in plan.rendered if name != ROOT_PACKAGE]
        click.echo(f"chgen: {summary} (rendered {len(rendered)} of {len(apps)} apps)")
        return EXIT_OK

    return guarded(run)


def _check(plan: dict[str, str], out: Path, clients: str | None) -> int:
    found = changes(plan, out, clients)
    if not found:
        click.echo(f"chgen: {here(out)} is up to date")
        return EXIT_OK
    click.echo(unified_diff(plan, out, found), nl=False)
    click.echo(f"Error: {here(out)} is stale; run `chgen build` to regenerate it.", err=True)
    return EXIT_FAILED
