"""Specs as data: TOML and JSON files structured into the same spec model as Python specs.

A data spec describes one App. Its tables are structured by cattrs into small document
classes that mirror the spec classes (``App``, ``Route``, ``JsonWebsocketConsumer``,
``WebsocketDemultiplexer``, ``Handler``), with other objects referred to by name; then
the real spec objects are built, payloads as real ``@payload`` classes. From there on a
data spec is indistinguishable from a Python one, so it generates the same code and is
checked by the same resolver. docs/data-specs.md describes the format. Every spec
object carries the file and line of its key in the data file, so errors from either
stage point into the data file.

The modules, in the order data flows through them:

* ``source``: the file read and parsed, with the line of every key from ``jsonpos``
  or ``tomlpos``;
* ``locations``: ``$.`` paths, and the line of a path for an error;
* ``document`` and ``converter``: the document classes and the strict cattrs converter;
* ``structure``: the parsed file structured into a ``Document``, entry by entry;
* ``typeexpr``: field type expressions, read with ``ast``;
* ``fieldtypes``: a field's annotation with its constraints;
* ``context``, ``payloads`` and ``app``: the spec objects built from the document.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SpecError, SpecErrors
from ..hints import data_kind
from ..spec import App
from .app import build_app
from .context import BuildContext
from .jsonpos import json_positions
from .locations import Lines
from .source import DATA_SUFFIXES, read_data_file
from .structure import structure_document
from .tomlpos import toml_positions
from .typeexpr import TYPE_NAMES

__all__ = ["DATA_SUFFIXES", "TYPE_NAMES", "json_positions", "load_data_spec", "toml_positions"]


def load_data_spec(file: Path) -> App:
    """The App a TOML or JSON spec file describes; raises SpecErrors listing every problem."""
    file = file.resolve()
    parsed, positions, errors = read_data_file(file)
    if parsed is None:
        raise SpecErrors(errors)
    lines = Lines(file, positions)
    if type(parsed) is not dict:
        kind = data_kind(parsed)
        message = f"a data spec is a table (a JSON object), got {kind}"
        raise SpecErrors([*errors, SpecError(lines.at(()), "$", message)])
    document, problems = structure_document(parsed)
    context = BuildContext(document, lines)
    context.report(problems)
    app = build_app(context)
    errors.extend(context.errors)
    if errors or app is None:
        raise SpecErrors(errors)
    return app
