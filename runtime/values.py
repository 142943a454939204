"""JSON scalars, and the values that travel as strings, in one canonical wire form each.

Both directions live here, side by side, so that what the server writes is exactly what it
reads: the structure hooks (``SCALAR_HOOKS``: JSON in, Python out) are strict, and the
dump functions (``DUMPERS``: Python in, JSON out) refuse a value the hooks would refuse.
Nothing is coerced: ``5`` is not a string, ``"5"`` is not a number, ``true`` is not an
integer, ``" 1.5 "`` is not a Decimal. docs/protocol.md states every form with examples;
the generated JavaScript client checks the same forms with the same messages.

Numbers: a plain ``int`` is a JavaScript-safe integer, within ±(2**53 - 1), because a
JavaScript client reads every JSON number as a double. Larger integers are declared as
``BigInt`` and travel as a decimal string. A ``float`` is a finite IEEE double.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Final, TypeAlias

import attrs

__all__ = [
    "DUMPERS",
    "MAX_DIGITS",
    "MAX_SAFE_INTEGER",
    "SCALAR_HOOKS",
    "SURROGATE",
    "BigInt",
    "BigIntText",
    "Mismatch",
    "json_kind",
    "mismatch",
]

# The largest integer a double holds exactly, as JavaScript's Number.MAX_SAFE_INTEGER.
MAX_SAFE_INTEGER: Final = 2**53 - 1
# The most digits a BigInt or Decimal may have: Python's own limit for converting an int
# to and from text (sys.int_info.default_max_str_digits), kept for Decimals too.
MAX_DIGITS: Final = 4300


class Mismatch(ValueError):
    """A value of the wrong JSON kind or outside its constraints; the message is user-facing."""


@attrs.frozen
class BigIntText:
    """Metadata on ``int``: the integer travels as a decimal string (see ``BigInt``)."""


# An integer of any size (up to MAX_DIGITS digits), sent as a decimal string such as
# "9007199254740993" so that no JavaScript client rounds it. Python code sees an int.
BigInt: TypeAlias = Annotated[int, BigIntText()]

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


# -- messages both ends write (the JavaScript client's checks repeat them) ---------------

SAFE_RANGE: Final = f"must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}"
TOO_MANY_DIGITS: Final = f"must have at most {MAX_DIGITS} digits"
LONE_SURROGATE: Final = "must be well-formed Unicode, without lone surrogates"
DATETIME_FORM: Final = "expected an RFC 3339 datetime like 2024-02-29T23:59:59.123Z"
DATETIME_OFFSET: Final = "expected a timezone offset (Z or +hh:mm) in the datetime"
DATETIME_FRACTION: Final = "expected at most 6 fractional digits (microseconds)"
DATETIME_RANGE: Final = "expected a real date and time (no leap second, offset within 23:59)"
DATE_FORM: Final = "expected a date string YYYY-MM-DD"
UUID_FORM: Final = "expected a lowercase UUID string like 123e4567-e89b-12d3-a456-426614174000"
DECIMAL_FORM: Final = 'expected a decimal number as a string, like "12.50"'
BIGINT_FORM: Final = 'expected an integer as a decimal string, like "9007199254740993"'


# -- JSON scalars ------------------------------------------------------------------------


def _str(value: Any, _: Any) -> str:
    if type(value) is not str:
        raise mismatch("a string", value)
    return value


def _int(value: Any, _: Any) -> int:
    if type(value) is not int:  # bool is a subclass of int: excluded on purpose
        raise mismatch("an integer", value)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise Mismatch(SAFE_RANGE)
    return value


def _float(value: Any, _: Any) -> float:
    if type(value) is float:
        if value - value:  # nan for inf and nan, 0.0 for every finite number
            raise Mismatch("expected a finite number")
        return value
    if type(value) is int:  # JSON 3 is a valid float; orjson's ints fit a double
        try:
            return float(value)
        except OverflowError:
            raise Mismatch("expected a finite number") from None
    raise mismatch("a number", value)


def _bool(value: Any, _: Any) -> bool:
    if type(value) is not bool:
        raise mismatch("a boolean", value)
    return value


def _none(value: Any, _: Any) -> None:
    if value is not None:
        raise mismatch("null", value)


# -- datetimes: an RFC 3339 profile ------------------------------------------------------

# [0-9], never \d: Python's \d also matches other scripts' digits.
_DATETIME: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))\Z"
)
_NAIVE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?\Z")
_ZONES: dict[int, dt.timezone] = {0: dt.UTC}


def _zone(minutes: int) -> dt.timezone:
    zone = _ZONES.get(minutes)
    if zone is None:
        zone = _ZONES[minutes] = dt.timezone(dt.timedelta(minutes=minutes))
    return zone


def _datetime(value: Any, _: Any) -> dt.datetime:
    if type(value) is not str:
        raise mismatch("an RFC 3339 datetime string", value)
    found = _DATETIME.match(value)
    if found is None:
        # Without an offset, JavaScript's Date reads the time as local: refuse the ambiguity.
        raise Mismatch(DATETIME_OFFSET if _NAIVE.match(value) else DATETIME_FORM)
    year, month, day, hour, minute, second, fraction, z, sign, oh, om = found.groups()
    if fraction is not None and len(fraction) > 6:
        raise Mismatch(DATETIME_FRACTION)  # Python keeps microseconds: never cut silently
    offset = 0 if z else int(oh) * 60 + int(om)
    if int(oh or 0) > 23 or int(om or 0) > 59:
        raise Mismatch(DATETIME_RANGE)
    micro = int(fraction.ljust(6, "0")) if fraction else 0
    zone = _zone(-offset if sign == "-" else offset)
    try:
        return dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone
        )
    except ValueError:
        raise Mismatch(DATETIME_RANGE) from None


def dump_datetime(value: Any) -> str:
    """``2024-02-29T23:59:59.123Z``: milliseconds, or microseconds when there are any,
    then ``Z`` for UTC or the offset in hours and minutes; JavaScript's
    ``Date.toISOString()`` writes the same for UTC. An offset with seconds (historical
    time zones) cannot be read by JavaScript's ``Date``: such a time is written in UTC."""
    if not isinstance(value, dt.datetime):
        raise mismatch("a datetime", value)
    spec = "microseconds" if value.microsecond % 1000 else "milliseconds"
    if value.tzinfo is dt.UTC:  # the usual case, and every datetime decoded from Z
        return _isoformat(value, timespec=spec)[:-6] + "Z"
    offset = value.utcoffset()
    if offset is None:
        raise Mismatch(DATETIME_OFFSET)
    if offset.seconds % 60 or offset.microseconds:
        try:
            value = value.astimezone(dt.UTC)
        except OverflowError:
            raise Mismatch("cannot be written in UTC: outside the years 1 to 9999") from None
    text = _isoformat(value, timespec=spec)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# The base class's method: a subclass (pendulum, arrow) may write its own format.
_isoformat: Final = dt.datetime.isoformat


# -- dates, UUIDs ------------------------------------------------------------------------

_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def _date(value: Any, _: Any) -> dt.date:
    if type(value) is not str:
        raise mismatch("a date string YYYY-MM-DD", value)
    try:
        if _DATE.match(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise Mismatch(DATE_FORM)


def dump_date(value: Any) -> str:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise mismatch("a date", value)
    return dt.date.isoformat(value)


_UUID: Final = re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\Z")


def _uuid(value: Any, _: Any) -> uuid.UUID:
    if type(value) is not str:
        raise mismatch("a UUID string", value)
    if not _UUID.match(value):
        raise Mismatch(UUID_FORM)
    return uuid.UUID(value)


def dump_uuid(value: Any) -> str:
    if not isinstance(value, uuid.UUID):
        raise mismatch("a UUID", value)
    return str(value)


# -- Decimals and BigInts: decimal digits in a string ------------------------------------

# Plain positional notation, ASCII digits, no exponent, no "+", no leading zeros.
_DECIMAL: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?\Z")
_BIGINT: Final = re.compile(r"(?:0|-?[1-9][0-9]*)\Z")  # "-0" is 0: written "0"


def _digits(text: str) -> int:
    return len(text) - text.startswith("-") - ("." in text)


def _decimal(value: Any, _: Any) -> decimal.Decimal:
    # Strings only: a JSON number would already have lost precision in the client.
    if type(value) is not str:
        raise mismatch("a decimal number as a string", value)
    if not _DECIMAL.match(value):
        raise Mismatch(DECIMAL_FORM)
    if _digits(value) > MAX_DIGITS:
        raise Mismatch(TOO_MANY_DIGITS)
    return decimal.Decimal(value)


def dump_decimal(value: Any) -> str:
    """The Decimal's own digits in positional notation: ``Decimal("1E-3")`` is written
    ``"0.001"`` and ``Decimal("1E+2")`` ``"100"`` (the same number, read back equal)."""
    if not isinstance(value, decimal.Decimal):
        raise mismatch("a Decimal", value)
    if not value.is_finite():
        raise Mismatch("expected a finite decimal number")
    text = str(value)
    if "E" in text:  # str() chose scientific notation: write every digit out, if few enough
        _, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)  # finite
        if len(digits) + max(exponent, 0) > MAX_DIGITS or -exponent > MAX_DIGITS:
            raise Mismatch(TOO_MANY_DIGITS)
        text = format(value, "f")
    if len(text) > MAX_DIGITS and _digits(text) > MAX_DIGITS:
        raise Mismatch(TOO_MANY_DIGITS)
    return text


_BIGGEST: Final = 10**MAX_DIGITS  # one more digit than allowed


def _bigint(value: Any, _: Any) -> int:
    if type(value) is not str:
        raise mismatch("an integer as a decimal string", value)
    if not _BIGINT.match(value):
        raise Mismatch(BIGINT_FORM)
    if _digits(value) > MAX_DIGITS:
        raise Mismatch(TOO_MANY_DIGITS)
    return int(value)


def dump_bigint(value: Any) -> str:
    if type(value) is not int:
        raise mismatch("an int", value)
    if not -_BIGGEST < value < _BIGGEST:
        raise Mismatch(TOO_MANY_DIGITS)
    return str(value)


# -- strings and JSON scalars, outgoing --------------------------------------------------

# Any surrogate code point: in a Python str, one is always alone (a pair is one character).
SURROGATE: Final = re.compile("[\ud800-\udfff]")


def dump_str(value: Any) -> str:
    if type(value) is not str:
        raise mismatch("a string", value)
    # JSON cannot carry a lone surrogate: orjson refuses it, JSON.stringify escapes it.
    if not value.isascii() and SURROGATE.search(value) is not None:
        raise Mismatch(LONE_SURROGATE)
    return value


def dump_int(value: Any) -> int:
    return _int(value, int)


def dump_float(value: Any) -> float:
    return _float(value, float)


def dump_bool(value: Any) -> bool:
    return _bool(value, bool)


def dump_none(value: Any) -> None:
    return _none(value, None)


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

# The structure hook of a BigInt field (an int with BigIntText metadata).
structure_bigint: Final = _bigint

DUMPERS: Final[dict[Any, Callable[[Any], Any]]] = {
    str: dump_str,
    int: dump_int,
    float: dump_float,
    bool: dump_bool,
    type(None): dump_none,
    dt.datetime: dump_datetime,
    dt.date: dump_date,
    uuid.UUID: dump_uuid,
    decimal.Decimal: dump_decimal,
}
