"""Outgoing payloads are checked where they are encoded: the server never writes what its
own decoder would refuse, and a handler learns which field is wrong.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import zoneinfo
from typing import Annotated, Any, ClassVar, Literal

import attrs
import pytest
from annotated_types import Ge, Le, MaxLen, MinLen
from hypothesis import given, settings
from hypothesis import strategies as st

from chgen.runtime import (
    BigInt,
    DispatchTable,
    InvalidPayload,
    JsonWebsocketConsumer,
    MessageRoute,
    Router,
    route,
)
from chgen.runtime.codec import Pattern, decoder, encoder
from chgen.runtime.testing import WebsocketClient


@attrs.frozen(kw_only=True)
class Point:
    x: float
    y: float


@attrs.frozen(kw_only=True)
class Circle:
    shape: Literal["circle"]
    radius: float


@attrs.frozen(kw_only=True)
class Square:
    shape: Literal["square"]
    side: float


@attrs.frozen(kw_only=True)
class Reading:
    text: Annotated[str, MinLen(1), MaxLen(5)]
    count: int
    ratio: float
    flag: bool
    when: dt.datetime
    day: dt.date
    ident: uuid.UUID
    price: Annotated[decimal.Decimal, Ge(0)]
    big: Annotated[BigInt, Le(10**30)]
    code: Annotated[str, Pattern(r"^[a-z]+$")]
    tags: Annotated[list[str], MaxLen(2)]
    scores: dict[str, int]
    point: Point | None
    figure: Circle | Square
    kind: Literal["a", 1, True]


GOOD = Reading(
    text="hi",
    count=3,
    ratio=0.5,
    flag=True,
    when=dt.datetime(2024, 2, 29, 23, 59, 59, 123000, tzinfo=dt.UTC),
    day=dt.date(2024, 2, 29),
    ident=uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
    price=decimal.Decimal("12.50"),
    big=2**70,
    code="abc",
    tags=["x"],
    scores={"a": 1},
    point=Point(x=1.0, y=2.0),
    figure=Circle(shape="circle", radius=1.0),
    kind=True,
)


def refusal(value: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidPayload) as caught:
        encoder(Reading)(value)
    assert str(caught.value).startswith("invalid Reading payload: $.data")
    return [(d.path, d.message) for d in caught.value.details]


def test_a_valid_payload_is_written_in_its_wire_form_and_reads_back_equal() -> None:
    written = encoder(Reading)(GOOD)
    assert written["when"] == "2024-02-29T23:59:59.123Z"
    assert written["price"] == "12.50"
    assert written["big"] == "1180591620717411303424"
    assert written["figure"] == {"shape": "circle", "radius": 1.0}
    assert decoder(Reading)(written) == GOOD


# The probes that once went out as frames the server's own decoder refuses.
@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            {"when": dt.datetime(2024, 1, 1)},
            "$.data.when",
            "expected a timezone offset (Z or +hh:mm) in the datetime",
        ),
        ({"price": decimal.Decimal("NaN")}, "$.data.price", "expected a finite decimal number"),
        ({"ratio": float("nan")}, "$.data.ratio", "expected a finite number"),
        ({"ratio": float("inf")}, "$.data.ratio", "expected a finite number"),
        ({"flag": 1}, "$.data.flag", "expected a boolean, got an integer"),
        ({"text": ""}, "$.data.text", "must have at least 1 character, got 0"),
        (
            {"count": 2**64},
            "$.data.count",
            "must be between -9007199254740991 and 9007199254740991",
        ),
        (
            {"count": 2**53},
            "$.data.count",
            "must be between -9007199254740991 and 9007199254740991",
        ),
        ({"count": True}, "$.data.count", "expected an integer, got a boolean"),
        (
            {"text": "a\ud800"},
            "$.data.text",
            "must be well-formed Unicode, without lone surrogates",
        ),
        ({"price": decimal.Decimal("-1")}, "$.data.price", "must be >= 0"),
        ({"price": 1.5}, "$.data.price", "expected a Decimal, got a number"),
        ({"big": 10**31}, "$.data.big", "must be <= 1000000000000000000000000000000"),
        ({"big": "5"}, "$.data.big", "expected an int, got a string"),
        ({"code": "ABC"}, "$.data.code", "must match the pattern ^[a-z]+$"),
        ({"tags": ["a", "b", "c"]}, "$.data.tags", "must have at most 2 items, got 3"),
        ({"tags": ("a",)}, "$.data.tags", "expected a list, got tuple"),
        ({"scores": {"a": 1.5}}, "$.data.scores.a", "expected an integer, got a number"),
        ({"scores": {1: 1}}, "$.data.scores[1]", "expected a string, got an integer"),
        ({"point": {"x": 1.0, "y": 2.0}}, "$.data.point", "expected a Point, got dict"),
        ({"figure": Point(x=1, y=2)}, "$.data.figure", "expected one of Circle, Square, got Point"),
        ({"kind": 2}, "$.data.kind", 'expected one of "a", 1, true'),
        (
            {"day": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)},
            "$.data.day",
            "expected a date, got datetime",
        ),
        ({"ident": str(GOOD.ident)}, "$.data.ident", "expected a UUID, got a string"),
    ],
)
def test_an_outgoing_value_that_does_not_fit_is_refused_naming_its_field(
    change: dict[str, Any], path: str, message: str
) -> None:
    assert refusal(attrs.evolve(GOOD, **change)) == [(path, message)]


def test_every_wrong_field_is_named_at_once() -> None:
    value = attrs.evolve(GOOD, text="", flag=0, figure=Square(shape="square", side=float("nan")))
    assert refusal(value) == [
        ("$.data.text", "must have at least 1 character, got 0"),
        ("$.data.flag", "expected a boolean, got an integer"),
        ("$.data.figure.side", "expected a finite number"),
    ]


def test_another_class_than_the_declared_one_is_refused() -> None:
    assert refusal(Point(x=1, y=2)) == [("$.data", "expected a Reading, got Point")]


def test_a_time_whose_offset_has_seconds_is_written_in_utc_for_javascript() -> None:
    # Amsterdam's offset in 1900 was +00:19:32, which JavaScript's Date cannot read.
    when = dt.datetime(1900, 1, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Amsterdam"))
    written = encoder(Reading)(attrs.evolve(GOOD, when=when))["when"]
    assert written == "1900-01-01T11:40:28.000Z"
    assert decoder(Reading)({**encoder(Reading)(GOOD), "when": written}).when == when


def test_an_offset_in_minutes_is_kept() -> None:
    when = dt.datetime(
        2024, 1, 1, 5, 30, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
    )
    assert (
        encoder(Reading)(attrs.evolve(GOOD, when=when))["when"]
        == "2024-01-01T05:30:00.000001+05:30"
    )


# -- the fast path and the explaining path agree ------------------------------------------

_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=8),
    st.decimals(),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(dt.datetime(2024, 1, 1)),
    st.just(GOOD.point),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in attrs.fields(Reading)]), _anything))
def test_the_fast_path_refuses_exactly_what_the_explanation_finds(changes: dict[str, Any]) -> None:
    from chgen.runtime.outbound import _node

    value = attrs.evolve(GOOD, **changes)
    node = _node(Reading)
    problems = list(node.explain(value, "$.data"))
    try:
        written = node.dump(value)
    except Exception:
        assert problems, f"the fast path refused {value!r}, the explanation found nothing"
        return
    assert not problems, problems
    # And what was written is what the server reads back.
    assert decoder(Reading)(written) == value


# -- in a served app ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Ask:
    good: bool


class Answers(JsonWebsocketConsumer):
    """Replies and events that fit, or not, as the client asks."""

    consumer_name: ClassVar[str] = "Answers"
    connection_group_templates: ClassVar[tuple[str, ...]] = ()
    raised: ClassVar[list[InvalidPayload]] = []

    async def answer(self, data: Ask) -> Point:
        return Point(x=1.0, y=2.0) if data.good else Point(x=float("nan"), y=2.0)

    async def shout(self, data: Ask) -> None:
        try:
            await self.send_event("said", encoder(Point)(Point(x=1.0, y="far")))  # type: ignore[arg-type]
        except InvalidPayload as exc:
            type(self).raised.append(exc)
            raise

    dispatch_table: ClassVar[DispatchTable] = DispatchTable(
        [
            MessageRoute("answer", Ask, lambda c, d: c.answer(d), reply=Point, method="answer"),
            MessageRoute("shout", Ask, lambda c, d: c.shout(d), method="shout"),
        ]
    )


async def test_a_reply_that_does_not_fit_is_logged_naming_the_field_and_answered_internal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    application = Router([route(r"^/answers/$", Answers)])
    async with WebsocketClient(application, "/answers/") as client:
        assert await client.request("answer", {"good": True}) == {"x": 1.0, "y": 2.0}
        await client.send("answer", {"good": False}, id=7)
        frame = await client.receive()
        assert frame == {
            "type": "error",
            "id": 7,
            "error": {"code": "internal", "message": "internal error"},
        }
        # The event is refused where it is encoded, before anything reaches the socket.
        await client.send("shout", {"good": True}, id=8)
        assert (await client.receive())["error"]["code"] == "internal"
        await client.expect_nothing()
        assert await client.request("answer", {"good": True}) == {"x": 1.0, "y": 2.0}
    logged = "\n".join(r.getMessage() + str(r.exc_info and r.exc_info[1]) for r in caplog.records)
    assert "invalid Point payload: $.data.x: expected a finite number" in logged
    [raised] = Answers.raised
    assert [(d.path, d.message) for d in raised.details] == [
        ("$.data.y", "expected a number, got a string")
    ]
