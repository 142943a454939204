"""chgen's generator: typed consumer specs in, Python packages out.

Stages, each a module: ``loader`` (import specs) -> ``resolve`` (check, build the IR)
-> ``render`` (templates, black) -> ``writer`` (atomic writes, ``--check``). Only the
first and last touch the disk.
"""

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
