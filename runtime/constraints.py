"""Field constraints: ``annotated_types`` metadata (and ``Pattern``) turned into checks.

The messages are the ones the generated JavaScript client writes for the same checks.
Lengths count Unicode code points (Python's ``len``), never UTF-16 units. A message
never repeats the value: it may be long, and it came from the client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import annotated_types as at
import attrs

from .patterns import portable
from .values import Mismatch

__all__ = ["Check", "Pattern", "constraint_checks"]

Check = Callable[[Any], None]


@attrs.frozen
class Pattern:
    """Constraint: the string must contain a match of ``regex`` (anchor it to match whole).

    ``regex`` must keep to the syntax Python and JavaScript read alike (``patterns``);
    the generator refuses a spec whose pattern does not, with a hint.
    """

    regex: str


def constraint_checks(metadata: Iterable[Any]) -> list[Check]:
    """One check per constraint; unknown metadata is ignored (the generator rejects it)."""
    checks: list[Check] = []
    # MinLen and MaxLen (or Len) make one check: a payload field usually has both.
    lo: int | None = None
    hi: int | None = None
    for item in _flatten(metadata):
        if isinstance(item, at.MinLen):
            lo = item.min_length if lo is None else max(lo, item.min_length)
        elif isinstance(item, at.MaxLen):
            hi = item.max_length if hi is None else min(hi, item.max_length)
        elif isinstance(item, at.Ge):
            checks.append(_bound(">=", item.ge))
        elif isinstance(item, at.Gt):
            checks.append(_bound(">", item.gt))
        elif isinstance(item, at.Le):
            checks.append(_bound("<=", item.le))
        elif isinstance(item, at.Lt):
            checks.append(_bound("<", item.lt))
        elif isinstance(item, Pattern):
            checks.append(_pattern(item.regex))
    if lo is not None or hi is not None:
        checks.insert(0, _length(lo, hi))
    return checks


def _flatten(metadata: Iterable[Any]) -> Iterable[Any]:
    # Len and Interval are GroupedMetadata: iterating them yields their parts.
    for item in metadata:
        if isinstance(item, at.GroupedMetadata):
            yield from item
        else:
            yield item


def _count(n: int, value: Any) -> str:
    unit = "character" if isinstance(value, str) else "item"
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _length(lo: int | None, hi: int | None) -> Check:
    def check(value: Any) -> None:
        n = len(value)
        if lo is not None and n < lo:
            raise Mismatch(f"must have at least {_count(lo, value)}, got {n}")
        if hi is not None and n > hi:
            raise Mismatch(f"must have at most {_count(hi, value)}, got {n}")

    return check


def _bound(op: str, limit: Any) -> Check:
    tests: dict[str, Callable[[Any], bool]] = {
        ">=": lambda v: v >= limit,
        ">": lambda v: v > limit,
        "<=": lambda v: v <= limit,
        "<": lambda v: v < limit,
    }
    test = tests[op]

    message = f"must be {op} {limit}"

    def check(value: Any) -> None:
        if not test(value):
            raise Mismatch(message)

    return check


def _pattern(regex: str) -> Check:
    compiled = portable(regex).compile()

    def check(value: Any) -> None:
        if compiled.search(value) is None:
            raise Mismatch(f"must match the pattern {regex}")

    return check
