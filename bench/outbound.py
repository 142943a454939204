"""What checking outgoing payloads costs: microseconds per ``encoder(Payload)(value)``.

Every reply and event a chgen server sends goes through its payload's encoder, which
checks each field before writing it (chgen.runtime.outbound). This measures that call for
the example app's payloads (the chat app's Ack and Posted, the echo's Say) and for a wider
payload with nested and string-borne values, in process, best of several repeats. Run it
against two checkouts to compare (put the other one's package first on PYTHONPATH):

    .venv/bin/python bench/outbound.py [--number 200000] [--repeat 7]

The end-to-end effect on request/reply is measured by bench/inproc.py and bench/run.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import functools
import sys
import timeit
import uuid
from pathlib import Path
from typing import Annotated, Any

import attrs
from annotated_types import Ge, MaxLen, MinLen

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # after PYTHONPATH: a checkout given there comes first

from chgen.runtime.codec import encoder  # noqa: E402


@attrs.frozen(kw_only=True)
class Ack:
    id: int


@attrs.frozen(kw_only=True)
class Say:
    text: Annotated[str, MaxLen(2000)]


@attrs.frozen(kw_only=True)
class Posted:
    id: int
    text: str


@attrs.frozen(kw_only=True)
class Point:
    x: float
    y: float


@attrs.frozen(kw_only=True)
class Order:
    id: int
    note: Annotated[str, MinLen(1), MaxLen(200)]
    placed: dt.datetime
    ref: uuid.UUID
    total: Annotated[decimal.Decimal, Ge(0)]
    tags: list[str]
    path: list[Point]
    open: bool


CASES: list[tuple[str, type[Any], Any]] = [
    ("Ack (chat reply)", Ack, Ack(id=42)),
    ("Say (echo reply)", Say, Say(text="hello there")),
    ("Posted (chat event)", Posted, Posted(id=42, text="hello")),
    (
        "Order (8 fields, nested)",
        Order,
        Order(
            id=7,
            note="leave at the door",
            placed=dt.datetime(2024, 2, 29, 12, 30, 0, 123000, tzinfo=dt.UTC),
            ref=uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
            total=decimal.Decimal("129.90"),
            tags=["gift", "fragile"],
            path=[Point(x=1.0, y=2.0), Point(x=3.5, y=-1.0)],
            open=True,
        ),
    ),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=200_000, help="calls per repeat")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    import chgen.runtime

    print(f"encoder(Payload)(value), best of {args.repeat} x {args.number:,} calls")
    print(f"runtime: {Path(chgen.runtime.__file__).parent}")
    for label, cls, value in CASES:
        encode = encoder(cls)
        encode(value)  # built and warm
        call = functools.partial(encode, value)
        best = min(timeit.repeat(call, number=args.number, repeat=args.repeat))
        print(f"{label:28} {best / args.number * 1e6:7.3f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
