"""Every spec string that lands in generated source goes through this module.

Names, docstrings, enum values, patterns, defaults and file paths come from user specs,
and a spec string that could close a literal, comment or docstring early would let a
spec inject code into the generated Python or TypeScript. Keeping every encoder and
every naming rule in one place means there is one thing to audit: templates never
quote or escape anything themselves, they call the function for the context they are
writing into.

All encoders are pure and deterministic, and the Python ones produce text that black
leaves unchanged, so regenerating is byte-stable.
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import re

__all__ = [
    "PYTHON_BUILTINS",
    "PYTHON_KEYWORDS",
    "PYTHON_SOFT_KEYWORDS",
    "TS_RESERVED",
    "is_python_identifier",
    "pascal_to_snake",
    "py_comment",
    "py_docstring",
    "py_str",
    "reserved_reason",
    "snake_to_pascal",
    "ts_doc",
    "ts_property",
    "ts_str",
]

PYTHON_KEYWORDS: frozenset[str] = frozenset(keyword.kwlist)

# Spelled out as well as read from ``keyword`` so that "type" (soft keyword only from
# Python 3.12) is rejected whichever interpreter runs the generator.
PYTHON_SOFT_KEYWORDS: frozenset[str] = frozenset(keyword.softkwlist) | {
    "_",
    "case",
    "match",
    "type",
}

# ``site`` adds help/exit/... to builtins, but not under ``python -S``; naming them
# keeps the set the same however the generator is started. "_" is only a builtin in
# the interactive interpreter and is already a soft keyword.
PYTHON_BUILTINS: frozenset[str] = (
    frozenset(dir(builtins)) | {"copyright", "credits", "exit", "help", "license", "quit"}
) - {"_"}

# JavaScript reserved words, then strict-mode reserved words, then TypeScript names that
# are keywords in type positions or have special meaning to the compiler or runtime.
TS_RESERVED: frozenset[str] = frozenset(
    {
        *("break", "case", "catch", "class", "const", "continue", "debugger", "default"),
        *("delete", "do", "else", "enum", "export", "extends", "false", "finally", "for"),
        *("function", "if", "import", "in", "instanceof", "new", "null", "return"),
        *("super", "switch", "this", "throw", "true", "try", "typeof", "var", "void"),
        *("while", "with"),
        *("as", "implements", "interface", "let", "package", "private", "protected"),
        *("public", "static", "yield"),
        *("any", "boolean", "number", "string", "symbol", "type", "from", "of", "get"),
        *("set", "async", "await", "declare", "module", "namespace", "require"),
        *("undefined", "never", "unknown", "object", "bigint", "readonly", "keyof"),
        *("infer", "is", "asserts", "abstract", "constructor", "arguments", "eval"),
    }
)

# Characters that end a line for Python or JavaScript, or that are invisible or
# reorder text (Trojan Source). ``str.isprintable()`` already rejects all of them; the
# explicit list keeps the guarantee independent of the interpreter's Unicode tables.
_ALWAYS_ESCAPE = frozenset(
    "\x85\u2028\u2029\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)

_JS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _is_visible(ch: str) -> bool:
    """Whether ``ch`` may appear as itself in generated source."""
    return ch.isprintable() and ch not in _ALWAYS_ESCAPE


def _py_escape(ch: str) -> str:
    # Lower-case hex because black rewrites escapes to lower case.
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _js_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    # ``\u{...}`` needs an ES2015 target; a surrogate pair works everywhere.
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def _visible_text(text: str) -> str:
    """``text`` with invisible characters spelled as escapes, for comments.

    Comments have no escape syntax; the point is only that a reviewer sees them.
    """
    return "".join(ch if _is_visible(ch) else _py_escape(ch) for ch in text)


def _check_indent(indent: str) -> None:
    if indent.strip(" \t"):
        raise ValueError(f"indent must be spaces or tabs, got {indent!r}")


# --- names ---------------------------------------------------------------------------


def is_python_identifier(name: str) -> bool:
    """Whether ``name`` can be written as a Python identifier in generated code.

    Non-ASCII identifiers are refused: they are legal Python, but they hurt
    readability and do not map one-to-one onto TypeScript.
    """
    return name.isidentifier() and name.isascii() and not keyword.iskeyword(name)


def reserved_reason(name: str) -> str | None:
    """Why ``name`` cannot name something in both generated Python and TypeScript.

    Returns None when the name is usable. Checks are case-sensitive.
    """
    if not name.isidentifier():
        return f"{name!r} is not a valid identifier"
    if not name.isascii():
        return f"{name!r} is not an ASCII identifier"
    if name in PYTHON_KEYWORDS:
        return f"{name!r} is a Python keyword"
    if name in PYTHON_SOFT_KEYWORDS:
        return f"{name!r} is a Python soft keyword"
    if name in TS_RESERVED:
        return f"{name!r} is a TypeScript reserved word"
    if name in PYTHON_BUILTINS:
        return f"{name!r} is a Python builtin"
    return None


def snake_to_pascal(name: str) -> str:
    """``post_message`` -> ``PostMessage``; the rest of each word is kept as written."""
    return "".join(word[:1].upper() + word[1:] for word in name.split("_"))


def pascal_to_snake(name: str) -> str:
    """``HTTPServer`` -> ``http_server``, ``ChatRoom`` -> ``chat_room``."""
    # An acronym ends where a capitalised word starts: "HTTPServer" -> "HTTP_Server".
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    # A word ends where a lower-case letter or digit meets a capital: "chatRoom".
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


# --- Python ----------------------------------------------------------------------------

_PY_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def py_str(value: str) -> str:
    """A Python string literal that evaluates to exactly ``value``.

    Double quotes unless ``value`` holds more double than single quotes: that is
    black's rule, so black leaves the literal as it is.
    """
    quote = "'" if value.count('"') > value.count("'") else '"'
    parts = [quote]
    for ch in value:
        if ch in _PY_SHORT_ESCAPES:
            parts.append(_PY_SHORT_ESCAPES[ch])
        elif ch == quote:
            parts.append("\\" + ch)
        elif _is_visible(ch):
            parts.append(ch)
        else:
            parts.append(_py_escape(ch))
    parts.append(quote)
    return "".join(parts)


def _doc_lines(text: str) -> list[str]:
    """The lines of a docstring, normalised so that ``inspect.cleandoc`` keeps them.

    ``splitlines`` breaks on every line separator (including U+2028, U+2029 and U+0085),
    so none of them survives into a docstring or comment. Lines lose trailing
    whitespace, tabs are expanded, outer blank lines and common indentation go.
    """
    joined = "\n".join(line.rstrip() for line in text.splitlines())
    cleaned = inspect.cleandoc(joined)
    # cleandoc never dedents the first line, but after dropping leading blank lines
    # the line that is now first may have been measured with the rest. A second pass
    # reaches the form that every tool reading the docstring back (cleandoc again)
    # leaves unchanged.
    cleaned = inspect.cleandoc(cleaned)
    return cleaned.split("\n") if cleaned else []


def _py_doc_line(line: str, opens_doc: bool, closes_doc: bool) -> str:
    """Escape one docstring line; the flags say whether it touches the quotes."""
    parts: list[str] = []
    last = len(line) - 1
    for i, ch in enumerate(line):
        if ch == "\\":
            parts.append("\\\\")
        elif ch == '"' and closes_doc and i == last:
            # black pads a quote before the closing """ with a space, which would change
            # the text; a hex escape is left alone.
            parts.append("\\x22")
        elif ch == '"' and (line[i + 1 : i + 2] == '"' or (opens_doc and i == 0)):
            # A quote followed by a quote is escaped so that three never meet; one right
            # after the opening """ so that black does not pad it.
            parts.append('\\"')
        elif _is_visible(ch):
            parts.append(ch)
        else:
            parts.append(_py_escape(ch))
    return "".join(parts)


def py_docstring(text: str, indent: str) -> str:
    """A complete docstring literal for ``text``, to be written at ``indent``.

    The content is normalised like ``inspect.cleandoc`` (trailing whitespace, outer
    blank lines and common indentation removed, tabs expanded), so
    ``inspect.cleandoc(ast.literal_eval(result))`` gives the normalised text back.
    Returns "" when there is nothing to document, so the caller omits the docstring.
    """
    _check_indent(indent)
    raw_lines = _doc_lines(text)
    if not raw_lines:
        return ""
    # A one-line docstring closes on the same line; longer ones close on their own line.
    one_line = len(raw_lines) == 1
    lines = [
        _py_doc_line(line, opens_doc=i == 0, closes_doc=one_line)
        for i, line in enumerate(raw_lines)
    ]
    if one_line:
        return f'"""{lines[0]}"""'
    rest = [indent + line if line else "" for line in lines[1:]]
    return '"""' + "\n".join([lines[0], *rest, indent + '"""'])


# PEP 263: "coding:" or "coding=" in a comment on line 1 or 2 sets the file's encoding.
_CODING_COOKIE = re.compile(r"coding([:=])")


def py_comment(text: str) -> str:
    """``text`` made safe to follow ``# `` on a single line of generated Python.

    Line breaks and tabs become spaces and other invisible characters are spelled as
    escapes, so the comment can never end early. "coding:" is broken up so that a
    comment near the top of a file can never act as an encoding declaration.
    """
    lines = [line.strip() for line in text.replace("\t", " ").splitlines()]
    visible = _visible_text(" ".join(line for line in lines if line))
    return _CODING_COOKIE.sub(r"coding \1", visible)


# --- TypeScript ------------------------------------------------------------------------

_TS_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def ts_str(value: str) -> str:
    """A double-quoted TypeScript/JavaScript string literal evaluating to ``value``.

    ``</`` and ``<!--`` are escaped as well, so the literal can also sit inside an
    inline ``<script>`` without ending it.
    """
    parts = ['"']
    for ch in value:
        if ch in _TS_SHORT_ESCAPES:
            parts.append(_TS_SHORT_ESCAPES[ch])
        elif _is_visible(ch):
            parts.append(ch)
        else:
            parts.append(_js_escape(ch))
    parts.append('"')
    # Safe to do after escaping: escapes never produce "<" or "/".
    return "".join(parts).replace("</", "<\\/").replace("<!--", "<\\!--")


def _ts_doc_line(line: str) -> str:
    # "*/" anywhere would close the comment; TSDoc reads "\/" as an escaped "/".
    return _visible_text(line).replace("*/", "*\\/")


def ts_doc(text: str, indent: str) -> str:
    """A ``/** ... */`` TSDoc comment for ``text``, to be written at ``indent``.

    One line of text gives ``/** text */``; more give one `` * `` line each. The text
    is normalised as for ``py_docstring``. Returns "" when there is nothing to say.
    """
    _check_indent(indent)
    lines = [_ts_doc_line(line) for line in _doc_lines(text)]
    if not lines:
        return ""
    if len(lines) == 1:
        return f"/** {lines[0]} */"
    body = "\n".join(f"{indent} * {line}" if line else f"{indent} *" for line in lines)
    return f"/**\n{body}\n{indent} */"


def ts_property(name: str) -> str:
    """``name`` as an interface property or object-literal key.

    Reserved words are fine as property names, so only non-identifiers are quoted.
    ``__proto__`` is refused: as a literal key, bare or quoted, it sets the object's
    prototype instead of creating a property.
    """
    if name == "__proto__":
        raise ValueError("'__proto__' cannot be used as a property name")
    if _JS_IDENTIFIER.fullmatch(name):
        return name
    return ts_str(name)
