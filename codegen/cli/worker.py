"""``chgen worker``: run an app's workers in a process of their own."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import guarded

__all__ = ["worker"]


@click.command()
@click.argument("app")
@click.argument("names", nargs=-1)
@click.option(
    "--redis",
    envvar="CHGEN_REDIS_URL",
    default=None,
    help="The Redis server the app's servers share, e.g. redis://127.0.0.1:6379/0 "
    "(channels_redis' RedisChannelLayer; default: $CHGEN_REDIS_URL).",
)
@click.option("--prefix", default="asgi", show_default=True, help="The Redis layer's key prefix.")
@click.option(
    "--layer",
    "layer_path",
    default=None,
    metavar="MODULE:ATTRIBUTE",
    help="Any channel layer instead, or a function returning one.",
)
@click.option(
    "--app-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also import from this directory (the current one comes first).",
)
def worker(
    app: str,
    names: tuple[str, ...],
    redis: str | None,
    prefix: str,
    layer_path: str | None,
    app_dir: Path | None,
) -> None:
    """Run the workers of APP (its generated package, e.g. generated.chat) until Ctrl-C.

    NAMES picks workers, by name or channel; all of them by default. Start as many
    processes as the work needs: each job goes to one of them.
    """
    from .. import workerrun

    def run() -> int:
        workers = workerrun.load_workers(app, names, app_dir)
        if not workers:
            click.echo(f"Error: {app} has no workers", err=True)
            return 2
        app_history = workerrun.load_app_history(app)
        layer = workerrun.make_layer(redis, layer_path, prefix)
        workerrun.run_workers(workers, layer, lambda s: click.echo(f"chgen: {s}"), app_history)
        return 0

    sys.exit(guarded(run))
