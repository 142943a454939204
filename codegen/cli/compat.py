"""``chgen compat OLD [NEW]``: what a spec change breaks, and for whom."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import CONFIG, EXIT_FAILED, EXIT_OK, guarded, paths

__all__ = ["compat"]

_AGAINST = {"clients": {"clients"}, "servers": {"servers"}, "both": {"clients", "servers"}}


@click.command()
@click.argument("old")
@click.argument("new", required=False)
@click.option(
    "--against",
    type=click.Choice(sorted(_AGAINST)),
    default="both",
    show_default=True,
    help="Exit 1 when a difference breaks old clients (against the new server), old "
    "servers (against new clients), or either.",
)
@click.option(
    "--format",
    "form",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for a terminal, json for tools, markdown for a pull request comment.",
)
def compat(old: str, new: str | None, against: str, form: str) -> None:
    """Compare two versions of a spec and classify every difference by whom it breaks.

    OLD and NEW are each a spec directory, git:REV:PATH (e.g. git:main:specs/), or an
    asyncapi.json that chgen wrote. NEW defaults to the current specs (spec-dir in
    CONFIG). Exit 0: nothing breaks the chosen side; 1: something does; 2: usage.
    """
    from ..compat import compare, load_side, render_report

    def run() -> int:
        newer = new if new is not None else str(paths().spec_dir)
        repo = Path.cwd()
        before = load_side(old, repo)
        after = load_side(newer, repo)
        findings = compare(before, after)
        click.echo(render_report(before, after, findings, form))
        broken = any(f.breaks & _AGAINST[against] for f in findings)
        return EXIT_FAILED if broken else EXIT_OK

    sys.exit(guarded(run))


compat.help = (compat.help or "").replace("CONFIG", CONFIG)
