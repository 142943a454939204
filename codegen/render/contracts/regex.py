"""A spec's ``Pattern`` as a JSON Schema ``pattern`` that every engine reads alike.

JSON Schema's patterns are ECMAScript regular expressions, yet validators run them in
their own engine (Python's ``jsonschema`` in ``re``, without flags). The server reads a
pattern of chgen's portable subset with ASCII classes and ``$`` as the very end
(``chgen.runtime.patterns``). The few pieces that engines read differently are spelled
out here so that the text means the same in all of them: ``\\d`` becomes ``[0-9]``,
``\\w`` ``[A-Za-z0-9_]``, ``\\b`` a pair of lookarounds, ``.`` ``[^\\n]`` and ``$``
``(?![\\s\\S])``. Everything else is copied as it is.
"""

from __future__ import annotations

from typing import Final

__all__ = ["schema_pattern"]

_WORD: Final = "A-Za-z0-9_"
_OUTSIDE: Final = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "b": f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))",
    "B": f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))",
}
# Inside a class: the members of \d and \w. (\D and \W are not rewritten there: no
# portable spelling exists inside a class; they differ only on non-ASCII digits and
# letters.)
_INSIDE: Final = {"d": "0-9", "w": _WORD}


def schema_pattern(regex: str) -> str:
    """``regex`` (of the portable subset) spelled alike for Python and ECMAScript."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(regex):
        char = regex[i]
        if char == "\\" and i + 1 < len(regex):
            escaped = regex[i + 1]
            table = _INSIDE if in_class else _OUTSIDE
            out.append(table.get(escaped, "\\" + escaped))
            i += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
            if regex[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
        elif char == ".":
            out.append("[^\\n]")
        elif char == "$":
            out.append("(?![\\s\\S])")
        else:
            out.append(char)
        i += 1
    return "".join(out)
