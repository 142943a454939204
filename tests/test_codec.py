"""The strict codec: JSON ``data`` in, attrs payloads out, and back; never coerced.

Payload classes are written here by hand the way generated payloads look (frozen,
keyword-only attrs classes with ``annotated_types`` constraints).
"""

import datetime as dt
import timeit
from typing import Annotated, Any, Literal

import attrs
import pytest
from annotated_types import Ge, Gt, Interval, Le, Len, Lt, MaxLen, MinLen

from chgen.runtime.codec import CONVERTER, Pattern, decoder, encoder
from chgen.runtime.protocol import INVALID, ProtocolError


@attrs.frozen(kw_only=True)
class Inner:
    n: int


@attrs.frozen(kw_only=True)
class Everything:
    text: Annotated[str, MinLen(1), MaxLen(5)]
    count: int | None
    tags: Annotated[list[str], MaxLen(3)]
    kind: Literal["a", "b"]
    inner: Inner
    when: dt.datetime
    ratio: float
    flag: bool
    slug: Annotated[str, Pattern(r"^[a-z]+$")]


@attrs.frozen(kw_only=True)
class Bounded:
    ge: Annotated[int, Ge(0)] = 0
    le: Annotated[int, Le(10)] = 0
    gt: Annotated[float, Gt(0)] = 1.0
    lt: Annotated[float, Lt(1)] = 0.0
    span: Annotated[int, Interval(ge=1, lt=5)] = 1
    pair: Annotated[list[int], Len(2, 2)] = attrs.field(factory=lambda: [1, 2])


@attrs.frozen(kw_only=True)
class Literals:
    num: Literal[1, 2] = 1
    yes: Literal[True] = True
    word: Literal["a", "b"] = "a"


@attrs.frozen(kw_only=True)
class Defaults:
    required: str
    optional: int | None = None
    items: list[str] = attrs.field(factory=list)


VALID: dict[str, Any] = {
    "text": "hi",
    "count": 3,
    "tags": ["x", "y"],
    "kind": "b",
    "inner": {"n": -4},
    "when": "2024-05-01T12:30:00.000Z",
    "ratio": 0.25,
    "flag": True,
    "slug": "abc",
}


def valid(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


def errors(cls: type[Any], data: Any) -> list[tuple[str, str]]:
    """The located details of decoding ``data``, which must fail with ``invalid``."""
    with pytest.raises(ProtocolError) as info:
        decoder(cls)(data)
    assert info.value.code == INVALID
    assert info.value.message == f"invalid {cls.__name__} payload"
    return [(d.path, d.message) for d in info.value.details]


# -- valid data ---------------------------------------------------------------------------


def test_valid_payload_round_trips_to_the_same_json() -> None:
    decoded = decoder(Everything)(VALID)
    assert decoded == Everything(
        text="hi",
        count=3,
        tags=["x", "y"],
        kind="b",
        inner=Inner(n=-4),
        when=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        ratio=0.25,
        flag=True,
        slug="abc",
    )
    assert encoder(Everything)(decoded) == VALID


def test_datetime_encodes_as_rfc_3339_string_with_its_offset() -> None:
    when = dt.datetime(2023, 1, 2, 3, 4, 5, 600000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    encoded = encoder(Everything)(attrs.evolve(decoder(Everything)(VALID), when=when))
    assert encoded["when"] == "2023-01-02T03:04:05.600+02:00"
    assert decoder(Everything)(encoded).when == when


def test_none_accepted_for_optional_field() -> None:
    assert decoder(Everything)(valid(count=None)).count is None


def test_int_accepted_for_float_and_becomes_float() -> None:
    ratio = decoder(Everything)(valid(ratio=2)).ratio
    assert ratio == 2.0
    assert type(ratio) is float
    assert encoder(Everything)(decoder(Everything)(valid(ratio=2)))["ratio"] == 2.0


def test_defaults_apply_when_fields_are_absent() -> None:
    assert decoder(Defaults)({"required": "r"}) == Defaults(required="r", optional=None, items=[])


def test_boundary_values_are_accepted() -> None:
    assert decoder(Everything)(valid(text="a")).text == "a"
    assert decoder(Everything)(valid(text="abcde")).text == "abcde"
    assert decoder(Everything)(valid(tags=["a", "b", "c"])).tags == ["a", "b", "c"]
    assert decoder(Everything)(valid(tags=[])).tags == []
    data = {"ge": 0, "le": 10, "gt": 0.001, "lt": 0.999, "span": 4, "pair": [5, 6]}
    assert decoder(Bounded)(data) == Bounded(ge=0, le=10, gt=0.001, lt=0.999, span=4, pair=[5, 6])


# -- strictness: wrong JSON kinds are never coerced ----------------------------------------


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"text": 5}, "$.data.text", "expected a string, got an integer"),
        ({"text": None}, "$.data.text", "expected a string, got null"),
        ({"tags": "abc"}, "$.data.tags", "expected an array, got a string"),
        ({"tags": {"a": "b"}}, "$.data.tags", "expected an array, got an object"),
        ({"tags": ["x", 1]}, "$.data.tags[1]", "expected a string, got an integer"),
        ({"count": True}, "$.data.count", "expected an integer, got a boolean"),
        ({"count": 1.5}, "$.data.count", "expected an integer, got a number"),
        ({"count": 2.0}, "$.data.count", "expected an integer, got a number"),
        ({"count": "3"}, "$.data.count", "expected an integer, got a string"),
        ({"flag": 1}, "$.data.flag", "expected a boolean, got an integer"),
        ({"flag": "true"}, "$.data.flag", "expected a boolean, got a string"),
        ({"ratio": "0.5"}, "$.data.ratio", "expected a number, got a string"),
        ({"ratio": False}, "$.data.ratio", "expected a number, got a boolean"),
        ({"inner": {"n": "1"}}, "$.data.inner.n", "expected an integer, got a string"),
        ({"inner": [1]}, "$.data.inner", "expected an object, got an array"),
        (
            {"when": 1714566600},
            "$.data.when",
            "expected an RFC 3339 datetime string, got an integer",
        ),
        (
            {"when": "yesterday"},
            "$.data.when",
            "expected an RFC 3339 datetime like 2024-02-29T23:59:59.123Z",
        ),
    ],
)
def test_wrong_kind_is_invalid_at_its_path(
    changes: dict[str, Any], path: str, message: str
) -> None:
    assert errors(Everything, valid(**changes)) == [(path, message)]


def test_string_is_not_split_into_a_list_of_characters() -> None:
    with pytest.raises(ProtocolError):
        decoder(Everything)(valid(tags="abc"))
    with pytest.raises(ProtocolError):
        decoder(Defaults)({"required": "r", "items": "xy"})


def test_unknown_key_is_invalid() -> None:
    assert errors(Everything, valid(extra=1)) == [("$.data.extra", "unexpected field")]


def test_unknown_key_in_nested_payload() -> None:
    assert errors(Everything, valid(inner={"n": 1, "m": 2})) == [
        ("$.data.inner.m", "unexpected field")
    ]


def test_unknown_key_that_is_not_an_identifier_is_quoted() -> None:
    assert errors(Defaults, {"required": "r", "a b": 1}) == [('$.data["a b"]', "unexpected field")]


def test_data_that_is_not_an_object() -> None:
    assert errors(Defaults, ["r"]) == [("$.data", "expected an object, got an array")]


def test_missing_required_field() -> None:
    data = dict(VALID)
    del data["text"]
    assert errors(Everything, data) == [("$.data.text", "required field missing")]


def test_missing_required_nested_field() -> None:
    assert errors(Everything, valid(inner={})) == [("$.data.inner.n", "required field missing")]


def test_several_errors_are_all_reported() -> None:
    data = valid(text=5, count="x", tags=[1, "ok", 2], inner={"n": None}, extra=0)
    assert sorted(errors(Everything, data)) == sorted(
        [
            ("$.data.text", "expected a string, got an integer"),
            ("$.data.count", "expected an integer, got a string"),
            ("$.data.tags[0]", "expected a string, got an integer"),
            ("$.data.tags[2]", "expected a string, got an integer"),
            ("$.data.inner.n", "expected an integer, got null"),
            ("$.data.extra", "unexpected field"),
        ]
    )


def test_missing_and_wrong_fields_are_reported_together() -> None:
    assert sorted(errors(Defaults, {"optional": "1", "items": [None]})) == [
        ("$.data.items[0]", "expected a string, got null"),
        ("$.data.optional", "expected an integer, got a string"),
        ("$.data.required", "required field missing"),
    ]


# -- constraints ---------------------------------------------------------------------------


def test_string_too_short() -> None:
    [(path, message)] = errors(Everything, valid(text=""))
    assert path == "$.data.text"
    assert message.startswith("must have at least 1 character")
    assert message.endswith("got 0")


def test_string_too_long() -> None:
    assert errors(Everything, valid(text="abcdef")) == [
        ("$.data.text", "must have at most 5 characters, got 6")
    ]


def test_list_too_long() -> None:
    assert errors(Everything, valid(tags=["a", "b", "c", "d"])) == [
        ("$.data.tags", "must have at most 3 items, got 4")
    ]


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"ge": -1}, "$.data.ge", "must be >= 0"),
        ({"le": 11}, "$.data.le", "must be <= 10"),
        ({"gt": 0}, "$.data.gt", "must be > 0"),
        ({"gt": -0.5}, "$.data.gt", "must be > 0"),
        ({"lt": 1}, "$.data.lt", "must be < 1"),
        ({"span": 0}, "$.data.span", "must be >= 1"),
        ({"span": 5}, "$.data.span", "must be < 5"),
        ({"pair": [1]}, "$.data.pair", "must have at least 2 items, got 1"),
        ({"pair": [1, 2, 3]}, "$.data.pair", "must have at most 2 items, got 3"),
    ],
)
def test_numeric_and_length_bounds(data: dict[str, Any], path: str, message: str) -> None:
    assert errors(Bounded, data) == [(path, message)]


def test_kind_is_checked_before_constraints() -> None:
    assert errors(Bounded, {"ge": "-1"}) == [("$.data.ge", "expected an integer, got a string")]


def test_pattern_mismatch() -> None:
    assert errors(Everything, valid(slug="ABC")) == [
        ("$.data.slug", "must match the pattern ^[a-z]+$")
    ]
    # Anchored: a match inside the string is not enough.
    assert errors(Everything, valid(slug="ab1")) == [
        ("$.data.slug", "must match the pattern ^[a-z]+$")
    ]


def test_literal_rejects_other_values() -> None:
    assert errors(Literals, {"word": "c"}) == [("$.data.word", 'expected one of "a", "b"')]


@pytest.mark.parametrize("value", [["a"], {"a": 1}])
def test_literal_rejects_unhashable_values_readably(value: Any) -> None:
    # An array or object where a literal is declared is a wrong kind like any other; the
    # client must learn what was expected, not just "invalid value".
    assert errors(Literals, {"word": value}) == [("$.data.word", 'expected one of "a", "b"')]


def test_literal_true_is_not_one_and_one_is_not_true() -> None:
    assert errors(Literals, {"num": True}) == [("$.data.num", "expected one of 1, 2")]
    assert errors(Literals, {"yes": 1}) == [("$.data.yes", "expected one of true")]
    assert errors(Literals, {"num": 1.0}) == [("$.data.num", "expected one of 1, 2")]
    decoded = decoder(Literals)({"num": 2, "yes": True, "word": "b"})
    assert decoded == Literals(num=2, yes=True, word="b")
    assert type(decoded.num) is int


# -- prepared hooks ------------------------------------------------------------------------


def test_structure_hook_is_prepared_once_per_class() -> None:
    assert CONVERTER.get_structure_hook(Everything) is CONVERTER.get_structure_hook(Everything)


def test_decoder_is_reusable_and_has_no_state_between_calls() -> None:
    decode = decoder(Everything)
    with pytest.raises(ProtocolError):
        decode(valid(text=5))
    timeit.timeit(lambda: decode(VALID), number=10_000)  # completes; no timing assertion
    assert decode(VALID) == decoder(Everything)(VALID)
    # An earlier failure leaves nothing behind for the next decode.
    assert errors(Everything, valid(count="x")) == [
        ("$.data.count", "expected an integer, got a string")
    ]
