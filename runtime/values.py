"""Strict structuring of JSON scalars, and of the values that travel as strings.

Nothing is coerced: ``5`` is not a string, ``"5"`` is not a number, ``true`` is not an
integer. Datetimes, dates, UUIDs and Decimals travel as strings in one canonical form
each, the form the TypeScript client documents (docs/protocol.md).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Callable
from typing import Any, Final

__all__ = ["SCALAR_HOOKS", "UNSTRUCTURE_HOOKS", "Mismatch", "json_kind", "mismatch"]


class Mismatch(ValueError):
    """A value of the wrong JSON kind or outside its constraints; the message is user-facing."""


_KINDS: Final = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def json_kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def mismatch(expected: str, value: Any) -> Mismatch:
    return Mismatch(f"expected {expected}, got {json_kind(value)}")


def _str(value: Any, _: Any) -> str:
    if type(value) is not str:
        raise mismatch("a string", value)
    return value


def _int(value: Any, _: Any) -> int:
    if type(value) is not int:  # bool is a subclass of int: excluded on purpose
        raise mismatch("an integer", value)
    return value


def _float(value: Any, _: Any) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise mismatch("a number", value)


def _bool(value: Any, _: Any) -> bool:
    if type(value) is not bool:
        raise mismatch("a boolean", value)
    return value


def _none(value: Any, _: Any) -> None:
    if value is not None:
        raise mismatch("null", value)


def _datetime(value: Any, _: Any) -> dt.datetime:
    if type(value) is not str:
        raise mismatch("an ISO 8601 datetime string", value)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Mismatch("expected an ISO 8601 datetime string") from None
    if parsed.tzinfo is None:
        # Without an offset, JavaScript's Date reads the time as local: refuse the ambiguity.
        raise Mismatch("expected a timezone offset (Z or +hh:mm) in the datetime")
    return parsed


_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _date(value: Any, _: Any) -> dt.date:
    if type(value) is not str:
        raise mismatch("a date string YYYY-MM-DD", value)
    try:
        if _DATE.match(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise Mismatch("expected a date string YYYY-MM-DD")


_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")


def _uuid(value: Any, _: Any) -> uuid.UUID:
    if type(value) is not str:
        raise mismatch("a UUID string", value)
    if not _UUID.match(value):
        raise Mismatch("expected a UUID string like 123e4567-e89b-12d3-a456-426614174000")
    return uuid.UUID(value)


def _decimal(value: Any, _: Any) -> decimal.Decimal:
    # Strings only: a JSON number would already have lost precision in the client.
    if type(value) is not str:
        raise mismatch("a decimal number as a string", value)
    try:
        parsed = decimal.Decimal(value)
    except decimal.InvalidOperation:
        raise Mismatch('expected a decimal number as a string, like "12.50"') from None
    if not parsed.is_finite():
        raise Mismatch("expected a finite decimal number")
    return parsed


SCALAR_HOOKS: Final[dict[Any, Callable[[Any, Any], Any]]] = {
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
    type(None): _none,
    dt.datetime: _datetime,
    dt.date: _date,
    uuid.UUID: _uuid,
    decimal.Decimal: _decimal,
}

UNSTRUCTURE_HOOKS: Final[dict[Any, Callable[[Any], Any]]] = {
    dt.datetime: dt.datetime.isoformat,
    dt.date: dt.date.isoformat,
    uuid.UUID: str,
    decimal.Decimal: str,
}
