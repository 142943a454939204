"""Encoders of spec strings into HTML: text, attribute values, fragment ids, comments.

Like ``chgen.naming`` for Python and TypeScript, every spec string reaches api.html
through one of these (the page's template escapes every value it prints, and these build
the few pieces it prints as they are). No spec string can close an element, an
attribute, a comment or a ``<script>``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from markupsafe import Markup

__all__ = ["Markup", "anchor", "comment", "html", "json_block", "link"]

_ESCAPES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_SPECIAL: Final = re.compile("[&<>\"']")
_NOT_ID: Final = re.compile(r"[^A-Za-z0-9_.-]")


def html(text: str) -> Markup:
    """``text`` as HTML text or a quoted attribute value: every markup character escaped."""
    return Markup(_SPECIAL.sub(lambda m: _ESCAPES[m.group()], text))


def anchor(*parts: str) -> str:
    """A fragment id from names: characters outside ``[A-Za-z0-9_.-]`` become ``_`` and
    the parts are joined by ``--`` (which no part contains after that)."""
    return "--".join(_NOT_ID.sub("_", part).replace("--", "-_") for part in parts)


def link(target: str, label: str) -> Markup:
    """``<a href="#target">label</a>``, both escaped."""
    return Markup(f'<a href="#{html(target)}">{html(label)}</a>')


def comment(text: str) -> str:
    """``text`` made safe inside ``<!-- ... -->``: no ``--`` and no ``>`` right after the
    opening, so the comment cannot end early."""
    return re.sub("-(?=-)", "- ", text).replace(">", "&gt;").rstrip("-")


def json_block(value: Any) -> str:
    """``value`` as indented JSON, for a ``<pre>``; the template escapes it as text."""
    return json.dumps(value, indent=2, ensure_ascii=False)
