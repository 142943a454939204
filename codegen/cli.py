"""The ``chgen`` command. Exit codes: 0 ok, 1 spec errors or stale output, 2 usage, 123 bug.

Every command takes its paths from its options, else from ``[tool.chgen]`` in the
nearest pyproject.toml (``chgen.config``), else from the defaults beside SPEC_DIR.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

import click

from .build import client_prefix, plan_build
from .config import Layout, find_config, layout, stub_line_length
from .errors import ChgenError, SpecErrors, UsageError
from .manifest import ROOT_PACKAGE, save_manifest
from .progress import reporter
from .writer import changes, unified_diff, write

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 123

_CONFIG = "[tool.chgen] of pyproject.toml"


@click.group()
@click.version_option(package_name="chgen")
def main() -> None:
    """Generate WebSocket consumers, routing and contracts from typed specs."""


def _spec_dir_argument() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.argument("spec_dir", required=False, type=click.Path(path_type=Path))


def _out_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "-o",
        "--out",
        "out_dir",
        type=click.Path(path_type=Path),
        default=None,
        help=f"Output directory (default: out-dir in {_CONFIG}, else generated/ beside SPEC_DIR).",
    )


def _client_dir_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--client-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Write each app's client.ts, client.js and client.d.ts to DIR/<app>/ "
        f"(default: client-dir in {_CONFIG}, else the app's generated package).",
    )


def _handler_root_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--handler-root",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The directory the project's imports start from, e.g. src (default: "
        f"handler-root in {_CONFIG}, else SPEC_DIR's parent, or its src/ when OUT is in it).",
    )


def _templates_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--templates",
        "templates",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="A directory of templates overriding the built-in ones of the same relative name.",
    )


def _layout(**options: Path | None) -> Layout:
    """The command's paths from its options and the project's config; exit 2 if wrong."""
    try:
        return layout(find_config(), **options)
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _guarded(action: Callable[[], int]) -> int:
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


# -- chgen build --------------------------------------------------------------------------


@main.command()
@_spec_dir_argument()
@_out_option()
@_client_dir_option()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if output is stale.")
@click.option(
    "--watch",
    is_flag=True,
    help="Build, then rebuild whenever a spec or template changes (Ctrl-C stops).",
)
@_templates_option()
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
    where = _layout(spec_dir=spec_dir, out_dir=out_dir, client_dir=client_dir)
    progress = reporter(verbose)

    def once() -> int:
        return _build_once(where, check, templates, progress, jobs, black)

    if not watch:
        sys.exit(once())
    if not where.spec_dir.is_dir():
        click.echo(f"Error: spec directory {str(where.spec_dir)!r} does not exist", err=True)
        sys.exit(EXIT_USAGE)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends watching: exit 0
        _watch(where, templates, once)
    click.echo("chgen: stopped watching")


def _watch(
    where: Layout,
    templates: Path | None,
    rebuild: Callable[[], object],
    stop_event: threading.Event | None = None,
) -> None:
    from .watch import watch

    watch(
        where.spec_dir,
        where.out_dir,
        templates=templates,
        rebuild=rebuild,
        echo=lambda s: click.echo(f"chgen: {s}"),
        stop_event=stop_event,
    )


def _build_once(
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
        )
        clients = client_prefix(out, where.client_dir)
        if check:
            return _check(plan.files, out, clients)
        done = write(plan.files, out, clients)
        save_manifest(out, plan.manifest)
        summary = f"{len(done.added)} added, {len(done.changed)} changed, "
        summary += f"{len(done.removed)} removed, {len(done.unchanged)} unchanged in {_here(out)}"
        apps = [name for name in plan.manifest.apps if name != ROOT_PACKAGE]
        rendered = [name for name in plan.rendered if name != ROOT_PACKAGE]
        click.echo(f"chgen: {summary} (rendered {len(rendered)} of {len(apps)} apps)")
        return EXIT_OK

    return _guarded(run)


def _check(plan: dict[str, str], out: Path, clients: str | None) -> int:
    found = changes(plan, out, clients)
    if not found:
        click.echo(f"chgen: {_here(out)} is up to date")
        return EXIT_OK
    click.echo(unified_diff(plan, out, found), nl=False)
    click.echo(f"Error: {_here(out)} is stale; run `chgen build` to regenerate it.", err=True)
    return EXIT_FAILED


# -- chgen scaffold -----------------------------------------------------------------------


@main.command()
@_spec_dir_argument()
@click.option("--app", "app_name", default=None, help="Scaffold only the App with this name.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Where `chgen build` writes (default: out-dir in {_CONFIG}, else generated/ "
    "beside SPEC_DIR); handlers import the generated package from there.",
)
@_handler_root_option()
@click.option(
    "--line-length",
    type=click.IntRange(min=1),
    default=None,
    help=f"Line length of the stubs (default: line-length in {_CONFIG}, else [tool.black] "
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
    where = _layout(spec_dir=spec_dir, out_dir=out_dir, handler_root=handler_root)
    length = stub_line_length(where.config, line_length, where.spec_dir)
    sys.exit(_guarded(lambda: _scaffold(where, app_name, length)))


def _scaffold(where: Layout, app_name: str | None, line_length: int) -> int:
    from .scaffold import UnparsableModule, plan_scaffold, write_scaffold

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
    return EXIT_OK


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _here(path: Path) -> str:
    """``path`` as the user would type it here: relative to the working directory if
    it lies below it (paths from [tool.chgen] are absolute)."""
    return _shown(path.resolve(), Path.cwd().resolve()) if path.is_absolute() else str(path)


# -- chgen init ---------------------------------------------------------------------------


@main.command()
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
    sys.exit(_guarded(lambda: _init(directory, package)))


def _init(directory: Path, package: str | None) -> int:
    from .dev import ServerMissing, require_server
    from .project import new_project, write_project

    project = new_project(directory, package)
    write_project(project)
    shown = _shown(directory.resolve(), Path.cwd().resolve())
    click.echo(f"chgen: created {', '.join(project.files)} in {shown}/")
    click.echo("Next:")
    if shown != ".":
        click.echo(f"  cd {shown}")
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


# -- chgen dev ----------------------------------------------------------------------------


@main.command()
@_spec_dir_argument()
@_out_option()
@_client_dir_option()
@_handler_root_option()
@click.option(
    "--app", "app_name", default=None, help="Serve this App (needed if there are several)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to serve on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="The port."
)
@_templates_option()
def dev(
    spec_dir: Path | None,
    out_dir: Path | None,
    client_dir: Path | None,
    handler_root: Path | None,
    app_name: str | None,
    host: str,
    port: int,
    templates: Path | None,
) -> None:
    """Build, serve the app with reload, and rebuild when a spec changes (Ctrl-C stops).

    Serving needs uvicorn and a WebSocket library: pip install 'chgen[serve]'.
    """
    from . import dev as development

    where = _layout(
        spec_dir=spec_dir, out_dir=out_dir, client_dir=client_dir, handler_root=handler_root
    )
    progress = reporter(False)

    def run() -> int:
        return development.run(
            where,
            app=app_name,
            host=host,
            port=port,
            build=lambda: _build_once(where, False, templates, progress, None),
            watch=lambda rebuild, stop: _watch(where, templates, rebuild, stop),
            echo=lambda s: click.echo(f"chgen: {s}"),
        )

    try:
        code = _guarded(run)
    except KeyboardInterrupt:  # before the server started: nothing to stop
        click.echo("chgen: stopped")
        code = EXIT_OK
    sys.exit(code)
