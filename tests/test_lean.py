"""Lean structure functions accept exactly what cattrs' detailed functions accept.

The lean function serves every valid payload; the detailed one explains refusals. If
they ever disagreed, a payload could pass unchecked or be refused without a reason, so
hypothesis throws valid, nearly valid and random JSON at both.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import attrs
import pytest
from annotated_types import Ge, Gt, Interval, Le, Len, Lt, MaxLen, MinLen
from cattrs.gen import make_dict_structure_fn
from hypothesis import event, given, settings
from hypothesis import strategies as st

from chgen.runtime.codec import CONVERTER, Pattern, decoder
from chgen.runtime.constraints import Mismatch
from chgen.runtime.lean import Refused, compile_lean
from chgen.runtime.protocol import INVALID, ProtocolError


@attrs.frozen(kw_only=True)
class Inner:
    n: int


@attrs.frozen(kw_only=True)
class Scalars:
    """One field of every kind the lean function checks inline, and some it hands on."""

    text: Annotated[str, MinLen(1), MaxLen(5)]
    slug: Annotated[str, Pattern(r"^[a-z]+$")]
    count: Annotated[int, Ge(0), Le(10)]
    span: Annotated[int, Interval(gt=0, lt=5)]
    ratio: Annotated[float, Gt(0), Lt(1)]
    plain_int: int
    plain_float: float
    flag: bool
    nothing: None
    maybe: int | None
    maybe_text: str | None
    kind: Literal["a", 2]
    inner: Inner
    items: Annotated[list[str], Len(1, 2)]
    when: dt.datetime
    note: str = "n"
    limit: float = 1.5
    parent: int | None = None
    tags: list[str] = attrs.field(factory=list)


VALID: dict[str, Any] = {
    "text": "hi",
    "slug": "abc",
    "count": 3,
    "span": 2,
    "ratio": 0.5,
    "plain_int": -7,
    "plain_float": 2,
    "flag": False,
    "nothing": None,
    "maybe": None,
    "maybe_text": "x",
    "kind": 2,
    "inner": {"n": 1},
    "items": ["a"],
    "when": "2024-05-01T12:30:00.000Z",
}

# Values at the edges of the fields' kinds and bounds, and now and then any JSON at all.
EDGES: list[Any] = [None, True, False, 0, 1, -1, 5, 10, 11, 0.0, 0.5, 1.0, 2.5, "", "a", "abc",
                    "ABC", "toolong", "2024-05-01T12:30:00+00:00", [], ["a"], ["a", "b", "c"],
                    [1], {}, {"n": 1}, {"n": True}, 2**53 - 1, 2**53, -(2**53) + 1, -(2**53),
                    2**64, float("inf"), float("-inf"), float("nan"), -0.0]  # fmt: skip
json_values = st.sampled_from(EDGES) | st.recursive(
    st.none() | st.booleans() | st.integers(-20, 20) | st.floats(-2, 2) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("nxy"), inner),
    max_leaves=6,
)


KEYS = [*VALID, "note", "limit", "parent", "tags"]


@st.composite
def nearly_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid payload with one or two keys replaced, dropped or added: most examples
    sit right at the edge between accepted and refused."""
    data = dict(VALID)
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True)):
        if draw(st.integers(0, 4)) == 0:
            data.pop(key, None)
        else:
            data[key] = draw(json_values)
    if draw(st.integers(0, 9)) == 0:
        data[draw(st.sampled_from(["extra", "Text", "n"]))] = draw(json_values)
    return data


def outcome(function: Any, data: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", function(data, Scalars)
    except Exception as exc:
        return "refused", type(exc)


LEAN = compile_lean(Scalars, CONVERTER.get_structure_hook)
DETAILED = make_dict_structure_fn(Scalars, CONVERTER, _cattrs_detailed_validation=True)


def test_scalars_get_a_lean_function() -> None:
    assert LEAN is not None
    assert LEAN(dict(VALID), None) == DETAILED(dict(VALID), Scalars)


@pytest.mark.parametrize("key", KEYS)
def test_every_edge_value_in_every_field_gets_the_same_verdict(key: str) -> None:
    for value in [*EDGES, DROP]:
        data = {k: v for k, v in VALID.items() if k != key}
        if value is not DROP:
            data[key] = value
        lean, detailed = outcome(LEAN, data), outcome(DETAILED, data)
        assert lean[0] == detailed[0], (key, value, lean, detailed)
        assert lean == detailed or lean[0] == "refused"


DROP = object()


@settings(max_examples=600, deadline=None)
@given(nearly_valid())
def test_lean_and_detailed_accept_the_same_payloads(data: dict[str, Any]) -> None:
    lean, detailed = outcome(LEAN, data), outcome(DETAILED, data)
    event(f"detailed: {detailed[0]}")
    assert lean[0] == detailed[0], (data, lean, detailed)
    if lean[0] == "ok":
        assert lean[1] == detailed[1]
        assert type(lean[1].plain_float) is float  # JSON 2 became 2.0, as cattrs does


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("plain_int", True),  # bool is not an integer
        ("plain_int", 1.0),
        ("plain_float", "1.5"),
        ("flag", 0),
        ("nothing", 0),
        ("maybe", "1"),
        ("text", ""),
        ("count", 11),
        ("span", 5),
        ("ratio", 1),
        ("slug", "ABC"),
    ],
)
def test_lean_refuses(key: str, value: Any) -> None:
    assert LEAN is not None
    with pytest.raises((Refused, Mismatch)):  # Refused, or the failing constraint's own error
        LEAN({**VALID, key: value}, None)


def test_refusals_are_explained_by_the_detailed_function() -> None:
    decode = decoder(Scalars)
    with pytest.raises(ProtocolError) as info:
        decode({**VALID, "count": 11, "extra": 1})
    assert info.value.code == INVALID
    assert {d.path for d in info.value.details} == {"$.data.count", "$.data.extra"}


def test_missing_and_unknown_keys_are_refused() -> None:
    assert LEAN is not None
    missing = dict(VALID)
    del missing["text"]
    with pytest.raises(KeyError):
        LEAN(missing, None)
    with pytest.raises(Refused):
        LEAN({**VALID, "unknown": 1}, None)


def test_defaults_apply_when_optional_keys_are_absent() -> None:
    assert LEAN is not None
    result = LEAN(dict(VALID), None)
    assert (result.note, result.limit, result.parent, result.tags) == ("n", 1.5, None, [])


@attrs.frozen
class Renamed:
    _secret: int  # attrs names the __init__ argument "secret"


def test_classes_with_renamed_fields_keep_cattrs_lean_function() -> None:
    assert compile_lean(Renamed, CONVERTER.get_structure_hook) is None
    assert decoder(Renamed)({"_secret": 3}) == Renamed(3)


def test_field_names_cannot_reach_the_generated_source() -> None:
    # Field names are identifiers; keys are written as repr() literals, never spliced raw.
    cls = attrs.make_class("Odd", {"a_b": attrs.field(type=int)})
    lean = compile_lean(cls, CONVERTER.get_structure_hook)
    assert lean is not None
    assert lean({"a_b": 1}, None) == cls(a_b=1)


def test_factory_defaults_are_fresh_for_every_payload() -> None:
    assert LEAN is not None
    first, second = LEAN(dict(VALID), None), LEAN(dict(VALID), None)
    first.tags.append("x")
    assert second.tags == []


@attrs.frozen(kw_only=True)
class Validated:
    n: int = attrs.field(validator=attrs.validators.ge(0))


def test_classes_whose_init_validates_are_built_through_init() -> None:
    lean = compile_lean(Validated, CONVERTER.get_structure_hook)
    assert lean is not None
    assert lean({"n": 1}, None) == Validated(n=1)
    with pytest.raises(ValueError):
        lean({"n": -1}, None)
