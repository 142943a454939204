"""Turn a route regex into a URL template, so clients can build paths from parameters.

Only regexes made of literal text and named groups (optionally anchored with ``^`` and
``$``) become templates: ``^/ws/(?P<room>[a-z0-9-]+)/$`` -> ``/ws/{room}/``. Anything
else (alternation, optional parts, classes outside a group) has no single URL shape, so
clients of such a route take a full URL instead.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import attrs

with warnings.catch_warnings():
    # The regex parser is only public under its old, deprecated names; it is stable.
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_parse
    from sre_constants import AT, AT_BEGINNING, AT_END, LITERAL, SUBPATTERN

__all__ = ["Param", "UrlPart", "url_template"]


@attrs.frozen
class Param:
    name: str


UrlPart = str | Param


def url_template(pattern: str) -> tuple[UrlPart, ...] | None:
    """Literal text and parameters in order, or None when the regex is not that simple."""
    compiled = re.compile(pattern)
    names = {index: name for name, index in compiled.groupindex.items()}
    items: list[Any] = list(sre_parse.parse(pattern).data)
    if items and items[0] == (AT, AT_BEGINNING):
        items = items[1:]
    if items and items[-1] == (AT, AT_END):
        items = items[:-1]
    parts: list[UrlPart] = []
    for opcode, argument in items:
        if opcode is LITERAL:
            _append_text(parts, chr(argument))
        elif opcode is SUBPATTERN and argument[0] in names:
            parts.append(Param(names[argument[0]]))
        else:
            return None
    if not parts or not isinstance(parts[0], str) or not parts[0].startswith("/"):
        return None
    return tuple(parts)


def _append_text(parts: list[UrlPart], text: str) -> None:
    if parts and isinstance(parts[-1], str):
        parts[-1] += text
    else:
        parts.append(text)
