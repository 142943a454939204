"""``chgen schema APP PAYLOAD``: one payload's JSON Schema (2020-12) on stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import UsageError
from ..hints import did_you_mean
from .common import guarded, paths

__all__ = ["schema"]


@click.command()
@click.argument("app_name", metavar="APP")
@click.argument("payload", metavar="PAYLOAD")
@click.option(
    "--spec-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The spec directory (default: spec-dir in [tool.chgen] of pyproject.toml).",
)
def schema(app_name: str, payload: str, spec_dir: Path | None) -> None:
    """Print the JSON Schema of PAYLOAD (a payload or enum) of APP: the same schema as in
    the app's asyncapi.json, standing alone, with what it refers to under $defs."""
    where = paths(spec_dir=spec_dir)

    def run() -> int:
        from ..loader import load_specs
        from ..render.contracts.schema import standalone_schema
        from ..resolve import resolve

        loaded, _ = load_specs(where.spec_dir)
        apps = {a.name: a for a in resolve(loaded, where.spec_dir)}
        app = apps.get(app_name)
        if app is None:
            hint = did_you_mean(app_name, apps) or f"the apps are: {', '.join(sorted(apps))}"
            raise UsageError(f"no app named {app_name!r}; {hint}")
        names = [p.name for p in app.payloads] + [e.name for e in app.enums]
        if payload not in names:
            hint = did_you_mean(payload, names) or f"its payloads are: {', '.join(sorted(names))}"
            raise UsageError(f"app {app_name!r} has no payload or enum {payload!r}; {hint}")
        text = json.dumps(standalone_schema(app, payload), indent=2, ensure_ascii=False)
        click.echo(text)
        return 0

    sys.exit(guarded(run))
