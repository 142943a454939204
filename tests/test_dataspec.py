"""Specs as data: TOML and JSON specs generate what the equivalent Python spec does, and
every mistake in one is reported with its file, line, `$.` path and a hint."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Literal

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from chgen.build import generate
from chgen.cli import main
from chgen.dataspec import json_positions, load_data_spec, toml_positions
from chgen.errors import SpecError, SpecErrors

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "dataspec"
ALLTYPES = Path(__file__).parent / "fixtures" / "alltypes" / "specs"


def _same_output(
    python: dict[str, str], data: dict[str, str], py_name: str, data_name: str
) -> None:
    """Every file is byte-identical, except for the spec file named in the header."""
    assert sorted(python) == sorted(data)
    for rel in python:
        assert python[rel].count(py_name) == data[rel].count(data_name), rel
        assert python[rel].replace(py_name, data_name) == data[rel], rel
    assert any(data_name in text for text in data.values())


def _example(tmp_path: Path, name: str) -> Path:
    """A spec folder holding only the example spec ``specs/<name>.py``."""
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(ROOT / "specs" / f"{name}.py", specs)
    return specs


@pytest.mark.parametrize("folder", ["chat_toml", "chat_json"])
def test_a_data_spec_generates_the_same_code_as_the_python_spec(
    folder: str, tmp_path: Path
) -> None:
    suffix = folder.rpartition("_")[2]
    _same_output(
        generate(_example(tmp_path, "chat")),
        generate(FIXTURES / folder),
        "specs/chat.py",
        f"{folder}/chat.{suffix}",
    )


def test_app_events_have_a_data_spelling(tmp_path: Path) -> None:
    _same_output(
        generate(_example(tmp_path, "trading")),
        generate(FIXTURES / "trading_toml"),
        "specs/trading.py",
        "trading_toml/trading.toml",
    )


def test_every_type_and_constraint_has_a_data_spelling(tmp_path: Path) -> None:
    python = generate(ALLTYPES)
    toml_spec = FIXTURES / "alltypes_toml" / "alltypes.toml"
    _same_output(
        python, generate(toml_spec.parent), "specs/alltypes.py", "alltypes_toml/alltypes.toml"
    )
    # The same document as JSON.
    specs = tmp_path / "specs"
    specs.mkdir()
    document = tomllib.loads(toml_spec.read_text())
    (specs / "alltypes.json").write_text(json.dumps(document, indent=2))
    _same_output(python, generate(specs), "specs/alltypes.py", "specs/alltypes.json")


def test_options_layer_handlers_route_attrs_and_plain_consumers_have_data_spellings() -> None:
    _same_output(
        generate(FIXTURES / "features_py"),
        generate(FIXTURES / "features_toml"),
        "features_py/features.py",
        "features_toml/features.toml",
    )


def test_data_and_python_specs_load_side_by_side(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(ALLTYPES, specs)
    shutil.copy(FIXTURES / "chat_toml" / "chat.toml", specs / "chat.toml")
    (specs / "_helper.json").write_text("not even JSON")  # private: not a spec
    plan = generate(specs)
    assert "chat/payloads.py" in plan
    assert "alltypes/payloads.py" in plan


def _errors(spec_dir: Path, tmp_path: Path) -> tuple[list[str], str]:
    result = CliRunner().invoke(main, ["build", str(spec_dir), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "nothing was written" in result.output
    assert not (tmp_path / "out").exists()
    return [line for line in result.output.splitlines() if line.startswith("Error: ")], (
        result.output
    )


def _markers(file: Path) -> list[tuple[int, str]]:
    """(line, text) of each `# expect: text` comment."""
    found = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        match = re.search(r"# expect: (.*)$", line)
        if match:
            found.append((number, match.group(1)))
    return found


@pytest.mark.parametrize("folder", ["broken_toml", "resolve_errors"])
def test_every_mistake_in_a_toml_spec_is_located(folder: str, tmp_path: Path) -> None:
    spec = next((FIXTURES / folder).glob("*.toml"))
    errors, output = _errors(spec.parent, tmp_path)
    expected = _markers(spec)
    assert len(errors) == len(expected), output
    for line, text in expected:
        where = f"{spec.name}:{line}: {text}"
        assert any(where in error for error in errors), (where, output)


def test_the_toml_mistakes_come_with_hints(tmp_path: Path) -> None:
    _, output = _errors(FIXTURES / "broken_toml", tmp_path)
    for hint in ("'routes'", "'Lobby'", "'datetime'", "'max_len'", "'Post'", "'Chat'"):
        assert f"did you mean {hint}?" in output
    assert "known keys: app, " in output


def test_every_mistake_in_a_json_spec_is_located(tmp_path: Path) -> None:
    folder = FIXTURES / "broken_json"
    errors, output = _errors(folder, tmp_path)
    expected = [line.split(": ", 1) for line in (folder / "expected.txt").read_text().splitlines()]
    assert len(errors) == len(expected), output
    for line, text in expected:
        where = f"broken.json:{line}: {text}"
        assert any(where in error for error in errors), (where, output)
    assert "did you mean 'attrs'?" in output
    assert "did you mean 'demultiplexers'?" in output


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.toml", '[app]\nname = "x"\nname = "y"\n', "bad.toml:3: $: invalid TOML: "),
        ("bad.toml", '[app]\nname = "x\n', "bad.toml:2: $: invalid TOML: "),
        ("bad.json", '{"app": {\n  "name": "x",\n}}', "bad.json:3: $: invalid JSON: "),
        ("bad.json", "[1, 2]", "bad.json:1: $: a data spec is a table (a JSON object)"),
        ("bad.toml", '[app]\nname = "\xe9"\n', "bad.toml:2: $: the data spec is not UTF-8"),
        ("bad.toml", "[payloads.Post]\n", "bad.toml:1: $.app: missing required key 'app'"),
    ],
)
def test_unreadable_data_specs_are_located_errors(
    name: str, content: str, expected: str, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / name).write_bytes(content.encode("latin-1"))
    errors, output = _errors(specs, tmp_path)
    assert len(errors) == 1, output
    assert expected in errors[0], output


def test_a_payload_field_error_points_at_the_field_line(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    text = (FIXTURES / "chat_toml" / "chat.toml").read_text()
    text = text.replace(
        'fields = { id = "int", text = "str" }', 'fields.id = "int"\nfields.text = "complex"'
    )
    (specs / "chat.toml").write_text(text)
    errors, output = _errors(specs, tmp_path)
    line = text.splitlines().index('fields.text = "complex"') + 1
    where = f"{specs / 'chat.toml'}:{line}"
    assert errors == [f"Error: {where}: $.payloads.Posted.fields.text: unknown type 'complex'"], (
        output
    )


# -- the line trackers ----------------------------------------------------------------

_keys = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\'), min_size=1, max_size=6
)
_scalars = st.one_of(st.integers(), st.booleans(), st.text(max_size=5), st.none())
_json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=12,
)


def _paths(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, _json_values, max_size=4), st.integers(0, 2))
def test_json_lines_are_found_for_every_key(document: dict[str, object], indent: int) -> None:
    text = json.dumps(document, indent=indent or None, ensure_ascii=False)
    positions, duplicates = json_positions(text)
    assert not duplicates
    assert set(_paths(document)) <= set(positions)
    if indent:  # one key per line: each key's line holds that key
        lines = text.split("\n")
        for path, line in positions.items():
            if path and isinstance(path[-1], str):
                assert json.dumps(path[-1], ensure_ascii=False) + ":" in lines[line - 1]


def test_toml_lines_are_found_for_keys_tables_and_array_items() -> None:
    text = """\
# comment
title = "x"  # a comment
"quoted key" = 'literal'
a.b."c.d" = 1
multi = \"\"\"
not = a key [ {
\"\"\"
arr = [
  1,  # one
  { k = "v", n.m = 2 },
]

[t1]
x = { y = { z = 1 } }

[[aot]]
name = "first"
[aot.sub]
q = 1

[[aot]]
[[aot.inner]]
w = 1
[[aot.inner]]
w = 2
"""
    positions = toml_positions(text)
    assert set(_paths(tomllib.loads(text))) <= set(positions)
    expected = {
        ("title",): 2,
        ("quoted key",): 3,
        ("a", "b", "c.d"): 4,
        ("multi",): 5,
        ("arr",): 8,
        ("arr", 1, "n", "m"): 10,
        ("t1",): 13,
        ("t1", "x", "y", "z"): 14,
        ("aot", 0): 16,
        ("aot", 0, "sub", "q"): 19,
        ("aot", 1): 21,
        ("aot", 1, "inner", 1): 24,
        ("aot", 1, "inner", 1, "w"): 25,
    }
    assert {path: positions[path] for path in expected} == expected


def test_json_lines_survive_numbers_with_signed_exponents() -> None:
    # json writes large floats as 1e+16; every item after one keeps its own line.
    text = '{\n "a": [1e+16,\n  {"b": -2.5E-7},\n  3]\n}'
    positions, _ = json_positions(text)
    assert positions[("a", 1, "b")] == 3
    assert positions[("a", 2)] == 4


_TOML_LINES = [
    "a = 1",
    '"q.k" = "# not a comment"',
    "d.e.'f' = true",
    'm = """\nx = [ {\n"""',
    "arr = [ # c\n  1,\n  { k = 1, z.y = [2, { w = 3 }] },\n]",
    "t = { a = { b = 1 } }",
    "when = 1979-05-27 07:32:00Z",
    "# a comment",
]
_TOML_HEADERS = ["[t1]", "[[aot]]", "[aot.sub]", "[[aot.inner]]", '[ "s p" . x ]']


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(_TOML_LINES), max_size=3),
    st.lists(
        st.tuples(st.sampled_from(_TOML_HEADERS), st.lists(st.sampled_from(_TOML_LINES))),
        max_size=4,
    ),
)
def test_toml_lines_are_found_for_every_key_of_any_document(
    top: list[str], tables: list[tuple[str, list[str]]]
) -> None:
    text = "\n".join([*top, *(line for h, body in tables for line in (h, *body))]) + "\n"
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # a key or table defined twice
    positions = toml_positions(text)
    assert set(_paths(document)) <= set(positions)
    lines = text.split("\n")
    for path, line in positions.items():
        if path and isinstance(path[-1], str) and path[-1].isidentifier():
            assert path[-1] in lines[line - 1], (path, line)


# -- type expressions -----------------------------------------------------------------


def _spec_with_field(tmp_path: Path, type_text: str) -> Path:
    spec = {
        "app": {"name": "t", "handlers": "handlers.t", "routes": [{"path": "^/$", "target": "C"}]},
        "payloads": {"Post": {"fields": {"id": "int"}}, "Item": {"fields": {"kind": type_text}}},
        "consumers": {"C": {"method_mapping": {"item": "Item"}}},
    }
    file = tmp_path / "t.json"
    file.write_text(json.dumps(spec, indent=2, ensure_ascii=False))
    return file


def _type_error(tmp_path: Path, type_text: str) -> SpecError:
    """The one error of a spec whose field ``kind`` has this type; it is at that field."""
    file = _spec_with_field(tmp_path, type_text)
    with pytest.raises(SpecErrors) as raised:
        load_data_spec(file)
    (error,) = raised.value.errors
    assert error.path == "$.payloads.Item.fields.kind"
    lines = file.read_text().splitlines()
    assert error.location.line == next(n for n, t in enumerate(lines, 1) if '"kind":' in t)
    return error


@pytest.mark.parametrize(
    ("type_text", "message", "hint"),
    [
        (
            "list[int",
            "invalid type 'list[int': the type ends early: expected ']' to close the '['"
            " at column 5",
            "write a type as in Python, e.g. list[Post] | None",
        ),
        ("list[int]]", "invalid type 'list[int]]': unexpected ']' at column 10", "write a type"),
        ("list int", "invalid type 'list int': unexpected 'int' at column 6", "write a type"),
        ("int |", "invalid type 'int |': the type ends early", "write a type"),
        ("", "invalid type '': the type is empty", "write a type, e.g. str"),
        (
            "set[int]",
            "invalid type 'set[int]': unsupported type 'set[int]'",
            "write list[int] instead",
        ),
        ("list[tuple[Post, ...]]", "unsupported type 'tuple[Post, ...]' at column 6", "list[Post]"),
        ("dict[str, Optional[int]]", "'Optional[int]' at column 11", "write int | None instead"),
        ("Dict[str, int]", "unsupported type 'Dict[str, int]'", "write dict[str, int] instead"),
        ("Union[Post, None]", "unsupported type", "write Post | None instead"),
        ("typing.List[int]", "expected a type name, found 'typing.List[int]'", "list[int]"),
        ("list[Post, int]", "list[...] takes 1 type argument(s), got 2", "write list[T]"),
        ("dict[str]", "dict[...] takes 2 type argument(s), got 1", "write dict[str, T]"),
        ("list", "list needs its item type", "write list[T]"),
        ("Literal", "Literal needs its values", 'write Literal["a", "b"]'),
        ("lst[int]", "'lst' takes no type arguments, in 'lst[int]'", "did you mean 'list'?"),
        ('"Post"', "expected a type name, found '\"Post\"'", "without quotes: Post"),
        ("[int]", "expected a type name, found '[int]'", "write list[int]"),
        ("Literal['a', 1.5]", "found '1.5' at column 14", 'Literal["a", 1, true]'),
        # Columns count characters, not the bytes of UTF-8.
        ("Literal['é', None]", "found 'None' at column 14", 'Literal["a", 1, true]'),
        ("Post | list[Pots]", "unknown type 'Pots' in 'Post | list[Pots]' at column 13", "'Post'"),
        ("tuple", "unknown type 'tuple'", "write list[T] instead"),
    ],
)
def test_a_bad_type_expression_says_where_and_what_to_write(
    type_text: str, message: str, hint: str, tmp_path: Path
) -> None:
    error = _type_error(tmp_path, type_text)
    assert message in error.message
    assert hint in error.hint


def test_a_lone_unknown_type_gets_no_column(tmp_path: Path) -> None:
    assert _type_error(tmp_path, "Pots").message == "unknown type 'Pots'"


@pytest.mark.parametrize(
    ("type_text", "expected"),
    [
        ("Literal[-1, +2, true, False, \"x\", 'y']", Literal[-1, 2, True, False, "x", "y"]),
        ("  int |\n  None", int | None),
        ("(int | str) | None", int | str | None),
        ("list[int,]", list[int]),
    ],
)
def test_type_expressions_are_read_as_python_reads_annotations(
    type_text: str, expected: object, tmp_path: Path
) -> None:
    app = load_data_spec(_spec_with_field(tmp_path, type_text))
    item = app.routes[0].target.method_mapping["item"].payload
    assert attrs.fields(item).kind.type == expected
