"""Wording shared by every spec check: did-you-mean suggestions and how a value is named.

A spec is either Python (``resolve`` sees objects) or a TOML/JSON data file (``dataspec``
sees parsed values), so a value is described in the words of the language it came from.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = ["data_kind", "did_you_mean", "python_kind", "short"]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the closest known name, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}?" if close else ""


def python_kind(value: Any) -> str:
    """What a Python spec passed, as in ``got class Post`` or ``got int 5``."""
    if isinstance(value, type):
        return f"class {value.__name__}"
    return f"{type(value).__name__} {value!r}"[:80]


_DATA_KINDS = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    list: "an array",
    dict: "a table",
    type(None): "null",
}


def data_kind(value: Any) -> str:
    """What a data spec holds, in TOML/JSON words, as in ``got a string ('x')``."""
    for tp, name in _DATA_KINDS.items():
        if type(value) is tp:
            return f"{name} ({short(value)})" if tp in (str, int, float) else name
    return type(value).__name__


def short(value: Any) -> str:
    """``repr(value)``, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
