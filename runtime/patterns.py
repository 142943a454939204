"""The regular expressions both ends run alike: a subset of Python's ``re`` and JavaScript.

A ``Pattern`` constraint is checked by the server (Python's ``re``) and by the generated
JavaScript client (``RegExp`` with the ``u`` flag). The two engines read much of the same
syntax differently: Python's ``\\d`` and ``\\w`` match other scripts' digits and letters,
its ``$`` also matches before a final newline, JavaScript's ``.`` stops at more line
ends, ``\\uD83D\\uDE00`` is one character in JavaScript and two in Python, and so on.
``portable`` accepts only the syntax listed below, and gives each engine its own source
for it, so a pattern means the same on both sides:

- characters stand for themselves, except ``\\ ^ $ . | ? * + ( ) [ ] { }``, which are
  escaped with a backslash to stand for themselves (``/`` may be escaped too);
- ``.`` is any character except a newline (``\\n``);
- ``^`` and ``$`` are the start and the end of the whole string;
- ``\\d \\D \\w \\W`` are ASCII classes (``[0-9]``, ``[A-Za-z0-9_]``) and ``\\b \\B``
  ASCII word boundaries; ``\\n \\t \\r \\f \\v``, ``\\xhh`` and ``\\uhhhh`` (not a
  surrogate) are characters;
- classes ``[a-z_]`` and ``[^...]``, with ranges between single characters; ``-`` is
  literal first, last or escaped; ``]`` and ``[`` are escaped;
- groups ``(...)`` and ``(?:...)``, lookaheads ``(?=...)`` and ``(?!...)``, ``|``;
- quantifiers ``* + ? {n} {n,} {n,m}``, each optionally lazy (``*?``), after a
  character, class or group.
"""

from __future__ import annotations

import re
import warnings
from typing import Final

import attrs

__all__ = ["PatternError", "Portable", "portable"]

_SYNTAX: Final = frozenset("\\^$.|?*+()[]{}")
_CHAR_ESCAPES: Final = {"n": "\\n", "t": "\\t", "r": "\\r", "f": "\\f", "v": "\\v"}
_CLASS_ESCAPES: Final = frozenset("dDwW")
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_QUANTIFIER: Final = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")
_HINT: Final = "chgen patterns use the syntax Python and JavaScript read alike; see docs/spec.md"


class PatternError(ValueError):
    """A pattern outside the portable subset; ``hint`` says what to write instead."""

    def __init__(self, regex: str, position: int, problem: str, hint: str = _HINT) -> None:
        super().__init__(f"{problem} at position {position} of the pattern {regex!r}")
        self.problem = problem
        self.position = position
        self.hint = hint


@attrs.frozen
class Portable:
    """A pattern of the portable subset, as each engine must be given it."""

    regex: str  # as the spec wrote it
    python: str  # for re.compile(python, re.ASCII)
    javascript: str  # for new RegExp(javascript, "u")

    def compile(self) -> re.Pattern[str]:
        return re.compile(self.python, re.ASCII)


def portable(regex: str) -> Portable:
    """Check ``regex`` against the portable subset; raise ``PatternError`` if it is
    outside, else return its Python and JavaScript forms."""
    parser = _Parser(regex)
    parser.alternatives(top=True)
    python, javascript = "".join(parser.py), "".join(parser.js)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a FutureWarning: a meaning about to change
            re.compile(python, re.ASCII)
    except (re.error, FutureWarning) as exc:
        if not isinstance(exc, re.error):
            raise PatternError(regex, 0, f"Python warns: {exc}") from None
        raise PatternError(regex, exc.pos or 0, f"invalid regex: {exc.msg}", "") from None
    return Portable(regex, python, javascript)


class _Parser:
    """A recursive descent over the subset, writing both engines' sources as it goes."""

    def __init__(self, regex: str) -> None:
        self.regex = regex
        self.at = 0
        self.py: list[str] = []
        self.js: list[str] = []

    def fail(self, problem: str, hint: str = _HINT) -> PatternError:
        return PatternError(self.regex, self.at, problem, hint)

    def peek(self, n: int = 1) -> str:
        return self.regex[self.at : self.at + n]

    def emit(self, py: str, js: str | None = None) -> None:
        self.py.append(py)
        self.js.append(py if js is None else js)

    def alternatives(self, top: bool = False) -> None:
        self.sequence()
        while self.peek() == "|":
            self.at += 1
            self.emit("|")
            self.sequence()
        if top and self.at < len(self.regex):
            raise self.fail("unbalanced ')'", "escape it as \\) to match a parenthesis")

    def sequence(self) -> None:
        while self.at < len(self.regex) and self.peek() not in ("|", ")"):
            quantifiable = self.atom()
            if self.quantifier() and not quantifiable:
                raise self.fail(
                    "a quantifier here repeats nothing or an assertion",
                    "quantify a character, a class or a group",
                )

    def atom(self) -> bool:
        """One atom; True if a quantifier may follow it."""
        char = self.peek()
        if char in "*+?{":
            if char == "{" and not _QUANTIFIER.match(self.regex, self.at):
                raise self.fail("'{' outside a quantifier", "escape it as \\{")
            raise self.fail("a quantifier repeats nothing", "escape it with a backslash")
        if char in "]}":
            raise self.fail(f"unescaped {char!r}", f"escape it as \\{char}")
        self.at += 1
        if char == "(":
            return self.group()
        if char == "[":
            self.char_class()
            return True
        if char == "\\":
            return self.escape()
        if char == ".":
            self.emit("[^\\n]")  # Python's "." everywhere; JavaScript's stops at \r too
            return True
        if char == "^":
            self.emit("^")
            return False
        if char == "$":
            self.emit("\\Z", "$")  # Python's "$" also matches before a final "\n"
            return False
        self.literal(char)
        return True

    def literal(self, char: str) -> None:
        if "\ud800" <= char <= "\udfff":
            raise self.fail("a lone surrogate", "write the character itself, not half of it")
        self.emit(char)

    def group(self) -> bool:
        quantifiable = True
        if self.peek() == "?":
            kind = self.peek(2)
            if kind not in ("?:", "?=", "?!"):
                raise self.fail(
                    f"the group syntax ({kind}...)",
                    "use (...), (?:...), (?=...) or (?!...); no flags, names or lookbehind",
                )
            self.at += 2
            self.emit("(" + kind)
            quantifiable = kind == "?:"
        else:
            self.emit("(")
        self.alternatives()
        if self.peek() != ")":
            raise self.fail("missing ')'")
        self.at += 1
        self.emit(")")
        return quantifiable

    def escape(self) -> bool:
        char = self.peek()
        if not char:
            raise self.fail("a trailing backslash", "escape it as \\\\")
        self.at += 1
        if char in _SYNTAX or char == "/":
            self.emit("\\" + char)
            return True
        if char in "bB":
            self.emit("\\" + char)
            return False
        self.char_escape(char, in_class=False)
        return True

    def char_escape(self, char: str, in_class: bool) -> None:
        """An escape that stands for a character or an ASCII class (after the ``\\``)."""
        if char in _CLASS_ESCAPES or char in _CHAR_ESCAPES:
            self.emit("\\" + char)
        elif char == "x":
            self.emit("\\x" + self.hex_digits(2))
        elif char == "u":
            digits = self.hex_digits(4)
            if 0xD800 <= int(digits, 16) <= 0xDFFF:
                raise self.fail(
                    "a surrogate escape (JavaScript joins a pair into one character)",
                    "write the character itself",
                )
            self.emit("\\u" + digits)
        elif char in "sS":
            raise self.fail(
                f"\\{char}: Python and JavaScript count different characters as spaces",
                "list them: [ \\t\\n\\r\\f\\v]",
            )
        elif in_class and char == "-":
            self.emit("\\-")
        else:
            raise self.fail(f"the escape \\{char}")

    def hex_digits(self, n: int) -> str:
        digits = self.peek(n)
        if len(digits) != n or not set(digits) <= _HEX:
            raise self.fail(f"expected {n} hex digits")
        self.at += n
        return digits

    def quantifier(self) -> bool:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.at += 1
            self.emit(char)
        elif char == "{":
            found = _QUANTIFIER.match(self.regex, self.at)
            if found is None:
                raise self.fail("'{' outside a quantifier", "escape it as \\{")
            low, high = found.group(1), found.group(3)
            if high and int(high) < int(low):
                raise self.fail("a quantifier {n,m} with m < n")
            self.at = found.end()
            self.emit(found.group(0))
        else:
            return False
        if self.peek() == "?":
            self.at += 1
            self.emit("?")
        if self.peek() in ("*", "+", "?", "{"):
            raise self.fail("a quantifier after a quantifier", "group it: (?:a+)*")
        return True

    def char_class(self) -> None:
        self.emit("[")
        if self.peek() == "^":
            self.at += 1
            self.emit("^")
        if self.peek() == "]":
            raise self.fail("an empty class, or ']' first", "escape a bracket as \\]")
        first = True
        while self.peek() != "]":
            single = self.class_atom(first)
            first = False
            if self.peek() == "-" and self.peek(2) not in ("-", "-]"):  # a range
                self.at += 1
                if single is None:
                    raise self.fail("a range from a class", "escape the '-' as \\-")
                self.emit("-")
                end = self.class_atom(False)
                if end is None:
                    raise self.fail("a range to a class", "escape the '-' as \\-")
                if end < single:
                    raise self.fail("a range out of order")
        self.at += 1
        self.emit("]")

    def class_atom(self, first: bool) -> str | None:
        """One member of a class; the character it stands for, or None for ``\\d``..."""
        char = self.peek()
        if not char:
            raise self.fail("missing ']'")
        self.at += 1
        if char == "\\":
            escaped = self.peek()
            if not escaped:
                raise self.fail("a trailing backslash")
            self.at += 1
            if escaped in _SYNTAX or escaped == "/":
                self.emit("\\" + escaped)
                return escaped
            if escaped == "b":
                raise self.fail("\\b in a class", "write \\x08 for a backspace")
            start = len(self.py)
            self.char_escape(escaped, in_class=True)
            written = self.py[start]
            if escaped in _CLASS_ESCAPES:
                return None
            return _decoded(written)
        if char == "[":
            raise self.fail("'[' in a class", "escape it as \\[")
        if char in "&~|-" and self.peek() == char:
            # Python reserves these pairs for set operations in classes (and warns).
            escape = f"\\{char}" if char in "-|" else f"\\x{ord(char):02x}"
            raise self.fail(f"{char}{char} in a class", f"write one of them as {escape}")
        if char == "-" and not first and self.peek() != "]":
            raise self.fail("'-' in the middle of a class", "escape it as \\- or put it last")
        self.literal(char)
        return char


def _decoded(escape: str) -> str:
    """The character a written escape (``\\n``, ``\\x41``, ``\\u00e9``) stands for."""
    if escape[1] in "xu":
        return chr(int(escape[2:], 16))
    return {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "-": "-"}[escape[1]]
