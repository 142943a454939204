"""Which of a base class's hooks a subclass keeps, worked out once, when it is defined.

The paths every message and group event takes skip steps that only the stock hooks let
them skip: a consumer whose socket writes its group events itself, a multiplexer whose
frames need only a prefix. Each class sets flags in ``__init_subclass__`` and those paths
test a flag. Override a hook in a class body (or a subclass's), not by assigning to the
class afterwards: the flags would not notice.
"""

from __future__ import annotations

from inspect import getattr_static

__all__ = ["keeps"]


def keeps(cls: type, base: type, *names: str) -> bool:
    """True if ``cls`` overrides none of ``base``'s methods ``names`` (class methods too:
    they are compared as defined, not as bound, which is a new object on every lookup)."""
    return all(getattr_static(cls, name) is getattr_static(base, name) for name in names)
