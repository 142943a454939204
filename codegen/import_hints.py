"""What to tell the author of a spec module that failed to import.

Python 3.11 computes its "Did you mean" suggestions only when it prints a traceback,
so a message built from the exception loses them; ``python_suggestion`` recomputes
them. ``api_hint`` explains a call to a spec class whose arguments do not match it, as
a spec written for an earlier version of chgen does (``App`` without ``handlers=``).
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import Any

import attrs

from . import spec
from .hints import did_you_mean

__all__ = ["api_hint", "python_suggestion"]

# What each argument a spec class may be missing is for, in the words of the docs.
_ARGUMENTS = {
    "handlers": 'the module holding one handler class per consumer, e.g. handlers="handlers.chat"',
    "routes": 'the app\'s routes, e.g. routes=[route(r"^/ws/$", chat)]',
    "name": "the name of what it defines",
}
_SPEC_CLASSES: dict[str, type[Any]] = {
    "App": spec.App,
    "Handler": spec.Handler,
    "JsonWebsocketConsumer": spec.JsonWebsocketConsumer,
    "WebsocketConsumer": spec.WebsocketConsumer,
    "WebsocketDemultiplexer": spec.WebsocketDemultiplexer,
    "Route": spec.Route,
}
_MISSING = re.compile(r"(\w+)\.__init__\(\) missing \d+ required (?:\w+ )*arguments?: (.+)")
_UNEXPECTED = re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")
_FROM_IMPORT = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")


def python_suggestion(exc: BaseException) -> str:
    """Python's own "did you mean" for a NameError, AttributeError or failed
    ``from m import x``; "" when there is none (or it is in the message already)."""
    if "Did you mean" in "".join(traceback.format_exception_only(exc)):
        return ""  # Python 3.12 and later put it there themselves
    name, known = _misspelled(exc)
    return did_you_mean(name, known) if name else ""


def _misspelled(exc: BaseException) -> tuple[str, list[str]]:
    if isinstance(exc, NameError) and isinstance(exc.name, str):
        frame = _innermost_frame(exc)
        scope = {} if frame is None else {**frame.f_globals, **frame.f_locals}
        return exc.name, [*scope, *dir(__builtins__)]
    if isinstance(exc, AttributeError) and isinstance(exc.name, str):
        return exc.name, dir(exc.obj)
    found = _FROM_IMPORT.search(str(exc)) if isinstance(exc, ImportError) else None
    if found and found.group(2) in sys.modules:
        return found.group(1), dir(sys.modules[found.group(2)])
    return "", []


def _innermost_frame(exc: BaseException) -> Any:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return None if tb is None else tb.tb_frame


def api_hint(exc: BaseException) -> str:
    """For a spec class called with arguments it does not take: what it takes."""
    if not isinstance(exc, TypeError):
        return ""
    text = str(exc)
    missing = _MISSING.search(text)
    if missing and missing.group(1) in _SPEC_CLASSES:
        names = re.findall(r"'(\w+)'", missing.group(2))
        said = [f"{n}=: {_ARGUMENTS.get(n, 'see docs/spec.md')}" for n in names]
        return f"{missing.group(1)}(...) needs " + "; ".join(said)
    unexpected = _UNEXPECTED.search(text)
    if unexpected and unexpected.group(1) in _SPEC_CLASSES:
        cls = _SPEC_CLASSES[unexpected.group(1)]
        known = [f.name for f in attrs.fields(cls) if f.name != "defined_at"]
        close = did_you_mean(unexpected.group(2), known)
        return close or f"{cls.__name__}(...) takes: {', '.join(known)}"
    return ""
