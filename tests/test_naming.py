"""The encoders must survive hostile spec strings: each output is parsed back by the
language it is written for (Python via ``ast``/``compile``, TypeScript via Node) and
must give back the original value without anything leaking into the surrounding code.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import random
import subprocess
import tokenize
from io import BytesIO

import pytest

from chgen.naming import (
    PYTHON_BUILTINS,
    PYTHON_KEYWORDS,
    PYTHON_SOFT_KEYWORDS,
    TS_RESERVED,
    is_python_identifier,
    pascal_to_snake,
    py_comment,
    py_docstring,
    py_str,
    reserved_reason,
    snake_to_pascal,
    ts_doc,
    ts_property,
    ts_str,
)
from prereq import require_executable

HOSTILE = [
    "",
    "plain text",
    '"',
    "'",
    '""',
    '"""',
    "'''",
    '""""',
    '"""""',
    'ends with "',
    'ends with ""',
    '"starts with quote',
    "\\",
    "trailing backslash\\",
    "\\\\",
    '\\"',
    "\\'",
    "\\n is not a newline",
    "\\u2028 \\x00 \\N{BULLET}",
    "\n",
    "\r\n",
    "\r",
    "line one\nline two",
    "\n\n  leading and trailing blank lines  \n\n",
    "first\n    indented\n  less indented\n",
    "*/",
    "/*",
    "/* nested */ */ */",
    "**/",
    "a*\n/b",
    "\u2028",
    "\u2029",
    "before\u2028after\u2029end",
    "\x85",
    "next\x85line",
    "\x00",
    "\x00" + "1",
    "${injected}",
    "`${x}`",
    "</script><script>alert(1)</script>",
    "</SCRIPT >",
    "<!--",
    "access\u202e\u2066 // admin\u2069\u2066",
    "zero\u200bwidth\u200c\u200d\u200e\u200f",
    "\ufeffbom",
    "\t",
    "tab\tseparated\tvalues",
    "\v\f\x1c\x1d\x1e\x1f",
    "\x1b[31mred\x1b[0m",
    "\x7f\x80\x9f",
    "\xa0nbsp\xa0",
    "emoji 😀 family 👨\u200d👩\u200d👧",
    "café 中文 ñ",
    "\ud800 lone surrogate",
    "tag \U000e0001 char",
    "-*- coding: latin-1 -*-",
    "vim: set fileencoding=utf-7 :",
    '"""; import os; os.system("x"); """',
    "'''; import os; '''",
    "x = 1\nimport os",
    "\\\nline continuation",
    "# not a comment\n# another",
]

_FUZZ_ALPHABET = [
    *('"', "'", "\\", "\n", "\r", "\t", " ", "*", "/", "<", "!", "-", "$", "{", "}"),
    *("#", "a", "b", "x", "u", "N", "0", "7", ":", "=", "\x00", "\x1f", "\x7f"),
    *("\x85", "\xa0", "\u2028", "\u2029", "\u202e", "\u2066", "\u200b", "\ufeff"),
    *("\f", "\v", "\x1c", "é", "中", "😀", "\ud800", "\udfff", "\U000e0001"),
    *('"""', "'''", "*/", "/*", "</script", "<!--", "coding:", "${", "\r\n", "    "),
]


def _fuzz_strings(count: int = 500) -> list[str]:
    rng = random.Random(1234)
    strings = []
    for _ in range(count):
        length = rng.randint(0, 24)
        strings.append("".join(rng.choice(_FUZZ_ALPHABET) for _ in range(length)))
    return strings


FUZZ = _fuzz_strings()
ALL_INPUTS = HOSTILE + FUZZ


def _normalised_doc(text: str) -> str:
    """What a docstring for ``text`` must read back as.

    Lines rstripped, then ``inspect.cleandoc`` until it changes nothing: tools that read
    a docstring apply cleandoc, so only one of its fixed points reads back unchanged.
    """
    doc = "\n".join(line.rstrip() for line in text.splitlines())
    while (cleaned := inspect.cleandoc(doc)) != doc:
        doc = cleaned
    return doc


def _utf16_units(value: str) -> list[int]:
    raw = value.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]


# --- Node ------------------------------------------------------------------------------

# Runs each script in its own strict-mode context; a string completion value comes back
# as UTF-16 code units so lone surrogates survive the trip.
_NODE_RUNNER = r"""
const vm = require("vm");
const scripts = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = scripts.map((source) => {
  try {
    const value = vm.runInNewContext(source, {}, { timeout: 1000 });
    if (typeof value !== "string") return { ok: true, value: String(value) };
    const units = [];
    for (let i = 0; i < value.length; i++) units.push(value.charCodeAt(i));
    return { ok: true, units };
  } catch (err) {
    return { ok: false, error: String(err) };
  }
});
process.stdout.write(JSON.stringify(results));
"""


def _run_node(scripts: list[str]) -> list[dict[str, object]]:
    node = require_executable("node", "Node.js 20 runs the TypeScript encoder checks")
    completed = subprocess.run(
        [node, "-e", _NODE_RUNNER],
        input=json.dumps(scripts),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    results: list[dict[str, object]] = json.loads(completed.stdout)
    assert len(results) == len(scripts)
    return results


@functools.cache
def _node_string_results() -> dict[str, dict[str, object]]:
    """Every input's ``ts_str`` literal evaluated by one Node process."""
    scripts = [f'"use strict";\nconst v = {ts_str(value)};\nv' for value in ALL_INPUTS]
    return dict(zip(ALL_INPUTS, _run_node(scripts), strict=True))


def _doc_script(doc: str) -> str:
    # Anything escaping the comment would be a syntax error or would change the count.
    return (
        '"use strict";\n'
        "let count = 0;\n"
        "class C {\n"
        f"  {doc}\n"
        "  m() { return 1; }\n"
        "}\n"
        f"{doc}\n"
        "count += new C().m();\n"
        "count\n"
    )


@functools.cache
def _node_doc_results() -> dict[str, dict[str, object]]:
    texts = [text for text in ALL_INPUTS if ts_doc(text, "  ")]
    return dict(zip(texts, _run_node([_doc_script(ts_doc(t, "  ")) for t in texts]), strict=True))


# --- black -----------------------------------------------------------------------------


def _assert_black_stable(source: str) -> None:
    black = pytest.importorskip("black")
    assert black.format_str(source, mode=black.Mode()) == source


# --- py_str ----------------------------------------------------------------------------


def _check_py_str(value: str) -> str:
    literal = py_str(value)
    assert ast.literal_eval(literal) == value
    assert all(ch.isprintable() for ch in literal)
    module = ast.parse(f"x = {literal}\n")
    assert len(module.body) == 1
    assert isinstance(module.body[0], ast.Assign)
    return literal


@pytest.mark.parametrize("value", HOSTILE)
def test_py_str_round_trips(value: str) -> None:
    literal = _check_py_str(value)
    _assert_black_stable(f"x = {literal}\n")


def test_py_str_fuzz() -> None:
    literals = [_check_py_str(value) for value in FUZZ]
    _assert_black_stable("".join(f"x = {literal}\n" for literal in literals))


def test_py_str_style() -> None:
    assert py_str("hello") == '"hello"'
    assert py_str("it's") == '"it\'s"'
    assert py_str('say "hi"') == "'say \"hi\"'"
    assert py_str("a\nb\tc\\") == '"a\\nb\\tc\\\\"'
    assert py_str("\x00\x85\u2028\U000e0001") == '"\\x00\\x85\\u2028\\U000e0001"'
    assert py_str("café 😀") == '"café 😀"'


# --- py_docstring ----------------------------------------------------------------------


def _check_py_docstring(text: str, indent: str) -> str:
    """Returns the module source embedding the docstring ("" if there is none)."""
    doc = py_docstring(text, indent)
    expected = _normalised_doc(text)
    if not expected:
        assert doc == ""
        return ""
    assert all(ch.isprintable() for line in doc.split("\n") for ch in line)
    assert inspect.cleandoc(ast.literal_eval(doc)) == expected
    if indent:
        source = f"def f():\n{indent}{doc}\n{indent}return 1\n"
        function = ast.parse(source).body[0]
        assert isinstance(function, ast.FunctionDef)
        assert len(function.body) == 2
        assert ast.get_docstring(function) == expected
    else:
        source = f"{doc}\n\nx = 1\n"
        module = ast.parse(source)
        assert len(module.body) == 2
        assert ast.get_docstring(module) == expected
    return source


@pytest.mark.parametrize("indent", ["", "    ", "        "])
@pytest.mark.parametrize("text", HOSTILE)
def test_py_docstring_round_trips(text: str, indent: str) -> None:
    source = _check_py_docstring(text, indent)
    if source and len(indent) == 4:
        _assert_black_stable(source)


def test_py_docstring_fuzz() -> None:
    sources = [_check_py_docstring(text, "    ") for text in FUZZ]
    functions = [source for source in sources if source]
    _assert_black_stable("\n\n".join(functions))


def test_py_docstring_layout() -> None:
    assert py_docstring("One line.", "    ") == '"""One line."""'
    assert py_docstring("  \n\t\n", "    ") == ""
    text = "Summary.  \n\n    Details,\n      indented.\n"
    expected = '"""Summary.\n\n    Details,\n      indented.\n    """'
    assert py_docstring(text, "    ") == expected
    assert py_docstring('Say "hi"', "  ") == '"""Say "hi\\x22"""'
    assert py_docstring('"quoted" start', "") == '"""\\"quoted" start"""'
    assert py_docstring('a """ b', "") == '"""a \\"\\"" b"""'
    assert py_docstring("back\\slash\\", "") == '"""back\\\\slash\\\\"""'


def test_doc_normalisation() -> None:
    # Indentation relative to the first line survives only where cleandoc keeps it.
    spec_style = "\n    Summary.\n\n    Details:\n        indented.\n    "
    assert py_docstring(spec_style, "") == '"""Summary.\n\nDetails:\n    indented.\n"""'
    assert py_docstring("\n  first\n    second", "") == '"""first\nsecond\n"""'
    assert ts_doc(spec_style, "") == "/**\n * Summary.\n *\n * Details:\n *     indented.\n */"


def test_py_docstring_rejects_non_whitespace_indent() -> None:
    with pytest.raises(ValueError):
        py_docstring("text", '"""\n')


# --- py_comment ------------------------------------------------------------------------


def _check_py_comment(text: str) -> str:
    comment = py_comment(text)
    assert all(ch.isprintable() for ch in comment)
    source = f"x = 1  # {comment}\n"
    assert len(source.splitlines()) == 1
    module = ast.parse(source)
    assert len(module.body) == 1
    statement = module.body[0]
    assert isinstance(statement, ast.Assign)
    assert ast.literal_eval(statement.value) == 1
    # On the first line a comment could declare the file's encoding; it must not.
    header = f"# {comment}\nx = 1\n".encode()
    assert tokenize.detect_encoding(BytesIO(header).readline)[0] == "utf-8"
    compile(header, "<generated>", "exec")
    return source


@pytest.mark.parametrize("text", HOSTILE)
def test_py_comment_stays_on_one_line(text: str) -> None:
    source = _check_py_comment(text)
    if py_comment(text):
        _assert_black_stable(source)


def test_py_comment_fuzz() -> None:
    sources = [_check_py_comment(text) for text in FUZZ]
    _assert_black_stable("".join(source for source in sources if not source.endswith("# \n")))


def test_py_comment_content() -> None:
    assert py_comment("Generated from specs/chat.py") == "Generated from specs/chat.py"
    assert py_comment("two\r\nlines\u2028three") == "two lines three"
    assert py_comment("  Summary.\n\n    Details.\t(tab)\n") == "Summary. Details. (tab)"
    assert py_comment("\u202eevil\x00") == "\\u202eevil\\x00"
    assert py_comment("-*- coding: latin-1 -*-") == "-*- coding : latin-1 -*-"


# --- ts_str ----------------------------------------------------------------------------


def _check_ts_str_shape(value: str) -> None:
    literal = ts_str(value)
    assert literal.startswith('"') and literal.endswith('"')
    assert all(ch.isprintable() for ch in literal)
    assert "</" not in literal
    assert "<!--" not in literal


@pytest.mark.parametrize("value", HOSTILE)
def test_ts_str_round_trips(value: str) -> None:
    _check_ts_str_shape(value)
    result = _node_string_results()[value]
    assert result.get("ok"), result
    assert result["units"] == _utf16_units(value)


def test_ts_str_fuzz() -> None:
    results = _node_string_results()
    for value in FUZZ:
        _check_ts_str_shape(value)
        result = results[value]
        assert result.get("ok"), (value, result)
        assert result["units"] == _utf16_units(value), value


def test_ts_str_style() -> None:
    assert ts_str("hello") == '"hello"'
    assert ts_str('a"b\\c') == '"a\\"b\\\\c"'
    assert ts_str("${x}") == '"${x}"'
    assert ts_str("</script>") == '"<\\/script>"'
    assert ts_str("\u2028\x00") == '"\\u2028\\x00"'
    assert ts_str("\U000e0001") == '"\\udb40\\udc01"'
    assert ts_str("😀") == '"😀"'


# --- ts_doc ----------------------------------------------------------------------------


def _check_ts_doc_shape(text: str, indent: str) -> None:
    doc = ts_doc(text, indent)
    if not _normalised_doc(text):
        assert doc == ""
        return
    # A block comment ends at the first "*/": the closing one must be the only one.
    assert doc.startswith("/**")
    assert doc.endswith("*/")
    assert doc.count("*/") == 1
    assert all(ch.isprintable() for line in doc.split("\n") for ch in line)


@pytest.mark.parametrize("indent", ["", "  "])
@pytest.mark.parametrize("text", HOSTILE)
def test_ts_doc_cannot_close_early(text: str, indent: str) -> None:
    _check_ts_doc_shape(text, indent)
    if indent and ts_doc(text, indent):
        assert _node_doc_results()[text] == {"ok": True, "value": "1"}


def test_ts_doc_fuzz() -> None:
    results = _node_doc_results()
    for text in FUZZ:
        _check_ts_doc_shape(text, "  ")
        if ts_doc(text, "  "):
            assert results[text] == {"ok": True, "value": "1"}, text


def test_ts_doc_layout() -> None:
    assert ts_doc("One line.", "  ") == "/** One line. */"
    assert ts_doc("\n \n", "  ") == ""
    assert ts_doc("Summary.\n\nDetails */ here.\u2028More.", "  ") == (
        "/**\n   * Summary.\n   *\n   * Details *\\/ here.\n   * More.\n   */"
    )


# --- ts_property -----------------------------------------------------------------------


PROPERTY_NAMES = [
    "name",
    "$ref",
    "_private",
    "a1",
    "class",
    "delete",
    "constructor",
    "a-b",
    "1abc",
    "with space",
    "café",
    "",
    "trailing\n",
    '"quoted"',
    "</script>",
]


def test_ts_property() -> None:
    assert ts_property("name") == "name"
    assert ts_property("class") == "class"
    assert ts_property("$ref") == "$ref"
    assert ts_property("a-b") == '"a-b"'
    assert ts_property("trailing\n") == '"trailing\\n"'
    with pytest.raises(ValueError):
        ts_property("__proto__")


def test_ts_property_keys_in_node() -> None:
    scripts = [
        f'"use strict";\nconst o = {{ {ts_property(name)}: 1 }};\nObject.keys(o)[0]'
        for name in PROPERTY_NAMES
    ]
    for name, result in zip(PROPERTY_NAMES, _run_node(scripts), strict=True):
        assert result == {"ok": True, "units": _utf16_units(name)}, name


# --- names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("chat_room", None),
        ("Class", None),
        ("message_id", None),
        ("class", "'class' is a Python keyword"),
        ("None", "'None' is a Python keyword"),
        ("match", "'match' is a Python soft keyword"),
        ("type", "'type' is a Python soft keyword"),
        ("_", "'_' is a Python soft keyword"),
        ("delete", "'delete' is a TypeScript reserved word"),
        ("interface", "'interface' is a TypeScript reserved word"),
        ("object", "'object' is a TypeScript reserved word"),
        ("list", "'list' is a Python builtin"),
        ("print", "'print' is a Python builtin"),
        ("exit", "'exit' is a Python builtin"),
        ("__debug__", "'__debug__' is a Python builtin"),
        ("café", "'café' is not an ASCII identifier"),
        ("1abc", "'1abc' is not a valid identifier"),
        ("", "'' is not a valid identifier"),
        ("a-b", "'a-b' is not a valid identifier"),
        ("a\nb", "'a\\nb' is not a valid identifier"),
        ("a$", "'a$' is not a valid identifier"),
    ],
)
def test_reserved_reason(name: str, reason: str | None) -> None:
    assert reserved_reason(name) == reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("chat_room", True),
        ("_private", True),
        ("match", True),
        ("list", True),
        ("class", False),
        ("None", False),
        ("café", False),
        ("1abc", False),
        ("", False),
        ("a b", False),
    ],
)
def test_is_python_identifier(name: str, expected: bool) -> None:
    assert is_python_identifier(name) is expected


def test_reserved_sets() -> None:
    assert {"class", "None", "async", "lambda"} <= PYTHON_KEYWORDS
    assert {"match", "case", "type", "_"} <= PYTHON_SOFT_KEYWORDS
    assert {"list", "id", "print", "help"} <= PYTHON_BUILTINS
    assert "_" not in PYTHON_BUILTINS
    expected_ts = """
        break case catch class const continue debugger default delete do else enum
        export extends false finally for function if import in instanceof new null
        return super switch this throw true try typeof var void while with as
        implements interface let package private protected public static yield any
        boolean number string symbol type from of get set async await declare module
        namespace require undefined never unknown object bigint readonly keyof infer is
        asserts abstract constructor arguments eval
    """
    assert frozenset(expected_ts.split()) == TS_RESERVED


@pytest.mark.parametrize(
    ("snake", "pascal"),
    [
        ("post_message", "PostMessage"),
        ("chat_room", "ChatRoom"),
        ("http_server", "HttpServer"),
        ("room", "Room"),
        ("v2_api", "V2Api"),
    ],
)
def test_snake_pascal_round_trip(snake: str, pascal: str) -> None:
    assert snake_to_pascal(snake) == pascal
    assert pascal_to_snake(pascal) == snake


@pytest.mark.parametrize(
    ("pascal", "snake"),
    [
        ("HTTPServer", "http_server"),
        ("ChatRoom", "chat_room"),
        ("getHTTPResponseCode", "get_http_response_code"),
        ("Version2Beta", "version2_beta"),
        ("ID", "id"),
        ("already_snake", "already_snake"),
    ],
)
def test_pascal_to_snake(pascal: str, snake: str) -> None:
    assert pascal_to_snake(pascal) == snake
