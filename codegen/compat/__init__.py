"""``chgen compat``: which differences between two versions of a spec break whom.

``sources`` loads each side (a spec directory, ``git:REV:path`` or an AsyncAPI document
chgen wrote) into a ``model.Surface``; ``compare`` walks the two and reports every
difference as a finding of one rule of ``rules.RULES``; ``report`` writes them as text,
JSON or a markdown table.
"""

from __future__ import annotations

from .compare import compare
from .model import Surface
from .report import render_report
from .rules import RULES, Finding
from .sources import load_side

__all__ = ["RULES", "Finding", "Surface", "compare", "load_side", "render_report"]
