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
