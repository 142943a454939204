"""The build pipeline: load specs -> resolve -> render -> (writer). Pure after loading."""

from __future__ import annotations

from pathlib import Path

from .ir import AppIR
from .loader import load_apps
from .render.app import render_app, render_root_package
from .render.client import render_client
from .render.environment import make_environment
from .resolve import resolve

__all__ = ["generate", "render"]


def generate(spec_dir: Path) -> dict[str, str]:
    """Every generated file for the specs in ``spec_dir``, keyed by output-relative path."""
    loaded = load_apps(spec_dir)
    return render(resolve(loaded, spec_dir))


def render(apps: list[AppIR]) -> dict[str, str]:
    env = make_environment()
    plan = {"__init__.py": render_root_package(env)}
    for app in apps:
        plan.update(render_app(app, env))
        plan.update(render_client(app, env))
    return plan
