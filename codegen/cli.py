"""The ``chgen`` command. Exit codes: 0 ok, 1 spec errors or stale output, 2 usage, 123 bug."""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import click

from .build import TemplateError, plan_build
from .errors import OutputConflict, SpecErrors, UsageError
from .manifest import ROOT_PACKAGE, save_manifest
from .progress import reporter
from .writer import changes, unified_diff, write

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 123


@click.group()
@click.version_option(package_name="chgen")
def main() -> None:
    """Generate WebSocket consumers, routing and contracts from typed specs."""


@main.command()
@click.argument("spec_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output directory (default: generated/ beside SPEC_DIR).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if output is stale.")
@click.option(
    "--watch",
    is_flag=True,
    help="Build, then rebuild whenever a spec or template changes (Ctrl-C stops).",
)
@click.option(
    "--templates",
    "templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A directory of templates overriding the built-in ones of the same relative name.",
)
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
def build(
    spec_dir: Path,
    out_dir: Path | None,
    check: bool,
    watch: bool,
    templates: Path | None,
    verbose: bool,
    jobs: int | None,
) -> None:
    """Build every App defined in SPEC_DIR/*.py.

    Only what changed since the last build is rendered and written again; see
    OUT/.chgen-manifest.json.
    """
    if check and watch:
        raise click.UsageError("--check and --watch cannot be combined")
    out = out_dir if out_dir is not None else spec_dir.resolve().parent / "generated"
    progress = reporter(verbose)

    def once() -> int:
        return _build_once(spec_dir, out, check, templates, progress, jobs)

    if not watch:
        sys.exit(once())
    if not spec_dir.is_dir():
        click.echo(f"Error: spec directory {str(spec_dir)!r} does not exist", err=True)
        sys.exit(EXIT_USAGE)
    from .watch import watch as watch_and_rebuild

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends watching: exit 0
        watch_and_rebuild(
            spec_dir,
            out,
            templates=templates,
            rebuild=once,
            echo=lambda s: click.echo(f"chgen: {s}"),
        )
    click.echo("chgen: stopped watching")


def _build_once(
    spec_dir: Path,
    out: Path,
    check: bool,
    templates: Path | None,
    progress: Callable[[str], None] | None,
    jobs: int | None,
) -> int:
    """One build (or check), reported; the exit code. Never raises but KeyboardInterrupt."""
    try:
        plan = plan_build(spec_dir, out, templates=templates, progress=progress, jobs=jobs)
        if check:
            return _check(plan.files, out)
        done = write(plan.files, out)
        save_manifest(out, plan.manifest)
    except SpecErrors as exc:
        root = str(Path.cwd())
        for error in exc.errors:
            click.echo(f"Error: {error.render(root)}", err=True)
        click.echo(f"{len(exc.errors)} error(s) in specs; nothing was written.", err=True)
        return EXIT_FAILED
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        return EXIT_USAGE
    except (OutputConflict, TemplateError) as exc:
        click.echo(f"Error: {exc}", err=True)
        return EXIT_FAILED
    except Exception:
        click.echo(traceback.format_exc(), err=True)
        click.echo(
            "Error: chgen failed unexpectedly. This is a bug in chgen: please report it "
            "with the traceback above and the spec that triggered it.",
            err=True,
        )
        return EXIT_INTERNAL
    summary = f"{len(done.added)} added, {len(done.changed)} changed, {len(done.removed)} removed"
    apps = [name for name in plan.manifest.apps if name != ROOT_PACKAGE]
    rendered = [name for name in plan.rendered if name != ROOT_PACKAGE]
    click.echo(
        f"chgen: {summary}, {len(done.unchanged)} unchanged in {out} "
        f"(rendered {len(rendered)} of {len(apps)} apps)"
    )
    return EXIT_OK


def _check(plan: dict[str, str], out: Path) -> int:
    found = changes(plan, out)
    if not found:
        click.echo(f"chgen: {out} is up to date")
        return EXIT_OK
    click.echo(unified_diff(plan, out, found), nl=False)
    click.echo(f"Error: {out} is stale; run `chgen build` to regenerate it.", err=True)
    return EXIT_FAILED


@main.command()
@click.argument("spec_dir", type=click.Path(path_type=Path))
@click.option("--app", "app_name", default=None, help="Scaffold only the App with this name.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where `chgen build` writes (default: generated/ beside SPEC_DIR); "
    "handlers import the generated package from there.",
)
def scaffold(spec_dir: Path, app_name: str | None, out_dir: Path | None) -> None:
    """Create or extend each App's handler module with typed stubs.

    Existing code is never changed: only missing classes, stubs and imports are added.
    Handlers the spec no longer maps are reported, not deleted.
    """
    from .scaffold import UnparsableModule, plan_scaffold, write_scaffold

    root = Path.cwd()
    try:
        results = plan_scaffold(spec_dir, out_dir, app_name)
        write_scaffold(results)
    except SpecErrors as exc:
        for error in exc.errors:
            click.echo(f"Error: {error.render(str(root))}", err=True)
        click.echo(f"{len(exc.errors)} error(s) in specs; nothing was written.", err=True)
        sys.exit(EXIT_FAILED)
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except UnparsableModule as exc:
        click.echo(f"Error: {exc}", err=True)
        click.echo("Fix the module and run `chgen scaffold` again; nothing was written.", err=True)
        sys.exit(EXIT_FAILED)
    except Exception:
        click.echo(traceback.format_exc(), err=True)
        click.echo(
            "Error: chgen failed unexpectedly. This is a bug in chgen: please report it "
            "with the traceback above and the spec that triggered it.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    for result in results:
        shown = _shown(result.path, root)
        for notice in result.notices:
            click.echo(notice.render(root))
        added = [a for a in result.added if not a.startswith("import ")]
        imported = [a.removeprefix("import ") for a in result.added if a.startswith("import ")]
        if result.old is None:
            click.echo(f"chgen: created {shown} ({', '.join(added)})")
        elif result.changed:
            what = [f"added {', '.join(added)}"] if added else []
            what += [f"imported {', '.join(imported)}"] if imported else []
            click.echo(f"chgen: updated {shown}: {'; '.join(what)}")
        else:
            click.echo(f"chgen: {shown} is up to date")


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
