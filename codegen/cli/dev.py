"""``chgen dev``: build, serve with reload, rebuild when a spec changes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..progress import reporter
from .build import build_once, watch_and_rebuild
from .common import (
    EXIT_OK,
    client_dir_option,
    guarded,
    handler_root_option,
    out_option,
    paths,
    spec_dir_argument,
    templates_option,
)

__all__ = ["dev"]


@click.command()
@spec_dir_argument()
@out_option()
@client_dir_option()
@handler_root_option()
@click.option(
    "--app", "app_name", default=None, help="Serve this App (needed if there are several)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to serve on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="The port."
)
@templates_option()
@click.option(
    "--api-page",
    is_flag=True,
    help="Also serve the app's API reference (api.html) at /_chgen/api.",
)
def dev(
    spec_dir: Path | None,
    out_dir: Path | None,
    client_dir: Path | None,
    handler_root: Path | None,
    app_name: str | None,
    host: str,
    port: int,
    templates: Path | None,
    api_page: bool,
) -> None:
    """Build, serve the app with reload, and rebuild when a spec changes (Ctrl-C stops).

    Serving needs uvicorn and a WebSocket library: pip install 'chgen[serve]'.
    """
    from .. import dev as development

    where = paths(
        spec_dir=spec_dir, out_dir=out_dir, client_dir=client_dir, handler_root=handler_root
    )
    progress = reporter(False)

    def run() -> int:
        return development.run(
            where,
            app=app_name,
            host=host,
            port=port,
            build=lambda: build_once(where, False, templates, progress, None),
            watch=lambda rebuild, stop: watch_and_rebuild(where, templates, rebuild, stop),
            echo=lambda s: click.echo(f"chgen: {s}"),
            api_page=api_page,
        )

    try:
        code = guarded(run)
    except KeyboardInterrupt:  # before the server started: nothing to stop
        click.echo("chgen: stopped")
        code = EXIT_OK
    sys.exit(code)
