"""The guarded fixture app (tests/fixtures/guarded), generated and imported for a test module.

``guarded_routing(root)`` runs the generator on the fixture's spec into ``root``, imports
the generated routing module (with the fixture's handlers) and, on exit, forgets every
module it imported and restores ``sys.path``, so that another test module can do it again.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from chgen.build import generate
from chgen.writer import write

GUARDED_DIR = Path(__file__).resolve().parent / "fixtures" / "guarded"


def _ours(name: str) -> bool:
    return name in ("guardedgen", "guarded_handlers", "_chgen_spec_guarded") or name.startswith(
        "guardedgen."
    )


@contextmanager
def guarded_routing(root: Path) -> Iterator[ModuleType]:
    """``guardedgen.guarded.routing``, freshly generated under ``root``."""
    saved_path = list(sys.path)
    assert not [n for n in sys.modules if _ours(n)], "the guarded app is already imported"
    try:
        write(generate(GUARDED_DIR / "specs"), root / "guardedgen")
        sys.path[:0] = [str(root), str(GUARDED_DIR)]
        importlib.invalidate_caches()
        yield importlib.import_module("guardedgen.guarded.routing")
    finally:
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if _ours(n)]:
            del sys.modules[name]
