"""Bounds on numbers that travel as text (Decimal, BigInt) as regular expressions.

JSON Schema compares only JSON numbers; a Decimal such as ``"12.50"`` is a string. Its
canonical form (ASCII digits, an optional ``-``, no leading zeros, no exponent) is simple
enough that "at least 0.5" is a regular language, so each bound becomes a ``pattern``
that holds exactly for the strings the server's comparison accepts. The patterns assume
the string is already in the canonical form (the type's own pattern says so).

A bound is compared exactly, as the server compares a Decimal with an int or a float:
``Ge(0.1)`` means the double nearest 0.1, 0.1000000000000000055511151231257827...
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

__all__ = ["bound_pattern"]

_END: Final = r"(?![\s\S])"  # the end of the string, read alike in Python and ECMAScript
_ANY: Final = r"[0-9.]+"  # any canonical magnitude
_FRACTION: Final = r"(?:\.[0-9]+)?"


def bound_pattern(op: str, bound: int | float | Decimal) -> str:
    """An anchored pattern for the canonical strings ``x`` with ``x op bound``; ``op`` is
    one of ``>``, ``>=``, ``<``, ``<=``."""
    value = Decimal(bound)
    if op in ("<", "<="):
        # copy_negate and copy_abs, never - and abs(): those round to 28 digits.
        positive, negative = _sides(op.replace("<", ">"), value.copy_negate())
        positive, negative = negative, positive  # x < B exactly when -x > -B
    else:
        positive, negative = _sides(op, value)
    alternatives = [*positive, *(f"-(?:{n})" for n in negative)]
    body = "|".join(alternatives) if alternatives else "(?!)"
    return f"^(?:{body}){_END}"


def _sides(op: str, value: Decimal) -> tuple[list[str], list[str]]:
    """(magnitudes written without a sign, magnitudes written after "-") with x op value."""
    magnitude = value.copy_abs()
    if op == ">":
        if value >= 0:
            return [_greater(magnitude)], []
        return [_ANY], [_less(magnitude)]
    if value > 0:
        return [_greater(magnitude), _equal(magnitude)], []
    if value == 0:
        return [_ANY], [_equal(magnitude)]
    return [_ANY], [_less(magnitude), _equal(magnitude)]


def _parts(magnitude: Decimal) -> tuple[str, str]:
    """The integer digits and the fraction digits (no trailing zeros) of a magnitude."""
    text = format(magnitude, "f")
    whole, _, fraction = text.partition(".")
    return whole.lstrip("0") or "0", fraction.rstrip("0")


def _equal(magnitude: Decimal) -> str:
    whole, fraction = _parts(magnitude)
    if fraction:
        return f"{whole}\\.{fraction}0*"
    return f"{whole}(?:\\.0+)?"


def _greater(magnitude: Decimal) -> str:
    whole, fraction = _parts(magnitude)
    found = [f"(?:{w}){_FRACTION}" for w in _whole_greater(whole)]
    found += [f"{whole}\\.(?:{f})" for f in _fraction_greater(fraction)]
    return "|".join(found) or "(?!)"


def _less(magnitude: Decimal) -> str:
    whole, fraction = _parts(magnitude)
    found = [f"(?:{w}){_FRACTION}" for w in _whole_less(whole)]
    if fraction:
        below = _fraction_less(fraction)
        found.append(f"{whole}(?:\\.(?:{'|'.join(below)}))?" if below else whole)
    return "|".join(found) or "(?!)"


def _digits(low: int, high: int) -> str | None:
    if low > high:
        return None
    return str(low) if low == high else f"[{low}-{high}]"


def _whole_greater(whole: str) -> list[str]:
    """Canonical integer digit strings greater than ``whole``."""
    n = len(whole)
    found = [f"[1-9][0-9]{{{n},}}"]  # more digits
    for i, digit in enumerate(whole):
        higher = _digits(int(digit) + 1, 9)
        if higher is not None:
            found.append(f"{whole[:i]}{higher}[0-9]{{{n - i - 1}}}")
    return found


def _whole_less(whole: str) -> list[str]:
    """Canonical integer digit strings less than ``whole``."""
    n = len(whole)
    found = []
    if n > 1:
        found.append(f"0|[1-9][0-9]{{0,{n - 2}}}")  # fewer digits
    for i, digit in enumerate(whole):
        lowest = 1 if i == 0 and n > 1 else 0  # no leading zero
        lower = _digits(lowest, int(digit) - 1)
        if lower is not None:
            found.append(f"{whole[:i]}{lower}[0-9]{{{n - i - 1}}}")
    return found


def _fraction_greater(fraction: str) -> list[str]:
    """Fraction digit strings (after the ".") worth more than ``.fraction``."""
    found = [f"{fraction}[0-9]*[1-9][0-9]*"]
    for i, digit in enumerate(fraction):
        higher = _digits(int(digit) + 1, 9)
        if higher is not None:
            found.append(f"{fraction[:i]}{higher}[0-9]*")
    return found


def _fraction_less(fraction: str) -> list[str]:
    """Fraction digit strings worth less than ``.fraction`` (which ends in a non-zero
    digit); no fraction at all is less too, and the caller makes it optional."""
    found = [fraction[:i] for i in range(1, len(fraction))]
    for i, digit in enumerate(fraction):
        lower = _digits(0, int(digit) - 1)
        if lower is not None:
            found.append(f"{fraction[:i]}{lower}[0-9]*")
    return found
