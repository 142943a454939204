"""What every chgen command shares: the command group, exit codes, the options naming
the project's paths, and how errors become messages and exit codes."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import click

from ..config import Layout, find_config, layout
from ..errors import ChgenError, SpecErrors, UsageError

__all__ = [
    "CONFIG",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "client_dir_option",
    "guarded",
    "handler_root_option",
    "here",
    "main",
    "out_option",
    "paths",
    "shown",
    "spec_dir_argument",
    "templates_option",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 123

CONFIG = "[tool.chgen] of pyproject.toml"


@click.group()
@click.version_option(package_name="chgen")
def main() -> None:
    """Generate WebSocket consumers, routing and contracts from typed specs."""


def spec_dir_argument() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.argument("spec_dir", required=False, type=click.Path(path_type=Path))


def out_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "-o",
        "--out",
        "out_dir",
        type=click.Path(path_type=Path),
        default=None,
        help=f"Output directory (default: out-dir in {CONFIG}, else generated/ beside SPEC_DIR).",
    )


def client_dir_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--client-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Write each app's client.ts, client.js and client.d.ts to DIR/<app>/ "
        f"(default: client-dir in {CONFIG}, else the app's generated package).",
    )


def handler_root_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--handler-root",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The directory the project's imports start from, e.g. src (default: "
        f"handler-root in {CONFIG}, else SPEC_DIR's parent, or its src/ when OUT is in it).",
    )


def templates_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--templates",
        "templates",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="A directory of templates overriding the built-in ones of the same relative name.",
    )


def paths(**options: Path | None) -> Layout:
    """The command's paths from its options and the project's config; exit 2 if wrong."""
    try:
        return layout(find_config(), **options)
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def guarded(action: Callable[[], int]) -> int:
    """``action``'s exit code, or the code of the error it raised, reported on stderr."""
    try:
        return action()
    except SpecErrors as exc:
        root = str(Path.cwd())
        for error in exc.errors:
            click.echo(f"Error: {error.render(root)}", err=True)
        click.echo(f"{len(exc.errors)} error(s) in specs; nothing was written.", err=True)
        return EXIT_FAILED
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        return EXIT_USAGE
    except ChgenError as exc:
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


def shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def here(path: Path) -> str:
    """``path`` as the user would type it here: relative to the working directory if
    it lies below it (paths from [tool.chgen] are absolute)."""
    return shown(path.resolve(), Path.cwd().resolve()) if path.is_absolute() else str(path)
