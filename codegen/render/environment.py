"""The Jinja2 environment: strict about undefined names, loading the built-in templates."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import jinja2

from . import python, typescript

__all__ = ["builtin_template_dir", "make_environment"]


def builtin_template_dir() -> Path:
    """The shipped templates: ``templates/`` in a checkout, ``codegen/templates`` in a wheel."""
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if (checkout / "payloads.py.jinja").is_file():
        return checkout
    return Path(str(importlib.resources.files("codegen.templates")))


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(builtin_template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(python.FILTERS)
    env.filters.update(typescript.FILTERS)
    return env
