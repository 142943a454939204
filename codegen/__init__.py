"""chgen: typed WebSocket consumer specs in; Python consumers, routing and clients out.

One import namespace holds everything the distribution installs:

* ``chgen.spec``: what spec modules import (``payload``, ``Handler``, consumers, ``App``);
* ``chgen.runtime``: the small ASGI runtime that generated code imports;
* the generator's stages, each a module: ``loader`` (import specs) -> ``resolve`` (check,
  build the IR) -> ``render`` (templates) -> ``writer`` (atomic writes, ``--check``); only
  the first and last touch the disk. ``chgen.cli`` is the ``chgen`` command.

Importing this package loads nothing else but the small loader of those names
(``chgen.runtime.lazy``): spec modules and deployed apps import it on every start, and
neither should pay for the generator. The names below load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .runtime.lazy import lazy_attributes

if TYPE_CHECKING:
    from .build import generate, render
    from .errors import ChgenError, OutputConflict, SpecError, SpecErrors, UsageError
    from .writer import changes, unified_diff, write

__all__ = [
    "ChgenError",
    "OutputConflict",
    "SpecError",
    "SpecErrors",
    "UsageError",
    "changes",
    "generate",
    "render",
    "unified_diff",
    "write",
]

_HOMES = {
    "generate": ".build",
    "render": ".build",
    "ChgenError": ".errors",
    "OutputConflict": ".errors",
    "SpecError": ".errors",
    "SpecErrors": ".errors",
    "UsageError": ".errors",
    "changes": ".writer",
    "unified_diff": ".writer",
    "write": ".writer",
}


__getattr__, __dir__ = lazy_attributes(globals(), _HOMES)
