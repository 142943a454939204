"""The ``chgen`` command. Exit codes: 0 ok, 1 spec errors or stale output, 2 usage, 123 bug."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from .build import generate
from .errors import OutputConflict, SpecErrors, UsageError
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
def build(spec_dir: Path, out_dir: Path | None, check: bool) -> None:
    """Build every App defined in SPEC_DIR/*.py."""
    out = out_dir if out_dir is not None else spec_dir.resolve().parent / "generated"
    try:
        plan = generate(spec_dir)
        if check:
            _check(plan, out)
            return
        done = write(plan, out)
    except SpecErrors as exc:
        root = str(Path.cwd())
        for error in exc.errors:
            click.echo(f"Error: {error.render(root)}", err=True)
        click.echo(f"{len(exc.errors)} error(s) in specs; nothing was written.", err=True)
        sys.exit(EXIT_FAILED)
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except OutputConflict as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    except Exception:
        click.echo(traceback.format_exc(), err=True)
        click.echo(
            "Error: chgen failed unexpectedly. This is a bug in chgen: please report it "
            "with the traceback above and the spec that triggered it.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    summary = f"{len(done.added)} added, {len(done.changed)} changed, {len(done.removed)} removed"
    click.echo(f"chgen: {summary}, {len(done.unchanged)} unchanged in {out}")


def _check(plan: dict[str, str], out: Path) -> None:
    found = changes(plan, out)
    if not found:
        click.echo(f"chgen: {out} is up to date")
        return
    click.echo(unified_diff(plan, out, found), nl=False)
    click.echo(f"Error: {out} is stale; run `chgen build` to regenerate it.", err=True)
    sys.exit(EXIT_FAILED)


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
