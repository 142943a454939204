"""The Jinja2 environment: strict about undefined names, loading the built-in templates.

A user template directory (``chgen build --templates DIR``) comes first on the search
path, so a file there overrides the built-in template of the same relative name, e.g.
``DIR/payloads.py.jinja`` or ``DIR/client/classes.ts.jinja``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..manifest import digest

if TYPE_CHECKING:
    import jinja2

__all__ = ["builtin_template_dir", "make_environment", "template_dirs", "templates_digest"]


def builtin_template_dir() -> Path:
    """The shipped templates: ``chgen/templates`` in an installed package.

    A development install links ``chgen/`` to the checkout's ``codegen/``, so the real
    file's parent is the checkout: its ``templates/`` is used directly, and a template
    added there needs no reinstall.
    """
    here = Path(__file__)
    checkout = here.resolve().parents[2] / "templates"
    if here.resolve() != here and (checkout / "payloads.py.jinja").is_file():
        return checkout
    return here.parents[1] / "templates"


def template_dirs(override: Path | None = None) -> list[Path]:
    """The template search path: the user's directory first, then the built-in one."""
    builtin = builtin_template_dir()
    return [override, builtin] if override is not None else [builtin]


def make_environment(override: Path | None = None) -> jinja2.Environment:
    import jinja2  # here, not above: a no-op rebuild never renders, so never loads jinja2

    from . import python, typescript

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(override)]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(python.FILTERS)
    env.filters.update(typescript.FILTERS)
    return env


def templates_digest(override: Path | None = None) -> str:
    """A digest of the effective template set: each relative name and the file it loads."""
    effective: dict[str, Path] = {}
    for directory in template_dirs(override):
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                effective.setdefault(path.relative_to(directory).as_posix(), path)
    return digest(
        "\n".join(f"{name} {digest(path.read_bytes())}" for name, path in sorted(effective.items()))
    )
