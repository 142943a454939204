"""Structuring a parsed data spec into a ``Document``, entry by entry.

Each entry of each section is structured on its own, so one mistake hides no other; a
faulty entry is structured again without its faulty keys, so the checks after this one
still see the rest of it. cattrs' error trees become located ``Problem``s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from ..hints import data_kind, did_you_mean
from .converter import CONVERTER, Mismatch
from .document import SECTIONS, TOP_KEYS, AppDoc, Document
from .locations import DocPath, Problem

__all__ = ["structure_document", "structure_entry"]


def structure_document(parsed: dict[str, Any]) -> tuple[Document, list[Problem]]:
    """The document classes of a parsed data spec, and every problem on the way."""
    document = Document()
    problems: list[Problem] = []
    for key in parsed:
        if key not in TOP_KEYS:
            hint = did_you_mean(key, TOP_KEYS) or f"known keys: {', '.join(TOP_KEYS)}"
            problems.append(Problem((key,), f"unknown key {key!r}", hint))
    for section, cls in SECTIONS.items():
        _structure_section(document, section, cls, parsed.get(section, {}), problems)
    if "app" not in parsed:
        problems.append(Problem(("app",), "missing required key 'app'", "add an [app] table", True))
    else:
        document.app = structure_entry(parsed["app"], AppDoc, ("app",), problems)
    return document, problems


def _structure_section(
    document: Document, section: str, cls: Any, raw: Any, problems: list[Problem]
) -> None:
    document.sections[section] = {}
    document.names[section] = list(raw) if type(raw) is dict else []
    if type(raw) is not dict:
        problems.append(Problem((section,), f"expected a table, got {data_kind(raw)}"))
        return
    for name, entry in raw.items():
        made = structure_entry(entry, cls, (section, name), problems)
        if made is not None:
            document.sections[section][name] = made


def structure_entry(raw: Any, cls: Any, path: DocPath, problems: list[Problem]) -> Any:
    """``raw`` structured as ``cls``; on errors, what is left without the faulty keys.

    The partial object lets the later checks run, so one wrong key does not hide the
    mistakes around it. The caller never builds an App once there is a problem.
    """
    try:
        return CONVERTER.structure(raw, cls)
    except Exception as exc:
        found = list(_problems(exc, path))
    problems.extend(found)
    if type(raw) is not dict:
        return None
    # Drop just the faulty values (or the tables missing a key), else whole top keys.
    deep = [p.path[len(path) :][: -1 if p.at_parent else None] for p in found]
    top = [p.path[len(path) :][:1] for p in found]
    for faulty in (deep, top):
        try:
            return CONVERTER.structure(_without(raw, faulty), cls)
        except Exception:
            continue
    return None  # a required key is missing or wrong


def _without(raw: Any, paths: list[DocPath]) -> Any:
    """A copy of ``raw`` without the values at ``paths`` (relative key/index paths)."""
    if any(len(p) == 0 for p in paths):
        raise ValueError("nothing left")
    if type(raw) is dict:
        return {
            k: _without(v, [p[1:] for p in paths if p[0] == k])
            for k, v in raw.items()
            if (k,) not in paths
        }
    if type(raw) is list:
        return [
            _without(v, [p[1:] for p in paths if p[0] == i])
            for i, v in enumerate(raw)
            if (i,) not in paths
        ]
    return raw


def _problems(exc: BaseException, path: DocPath = ()) -> Iterator[Problem]:
    """Flatten a cattrs error tree into located problems."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        for sub in exc.exceptions:
            yield from _problems(sub, (*path, *_step(sub)))
    elif isinstance(exc, ForbiddenExtraKeysError):
        allowed = sorted(f.name for f in attrs.fields(exc.cl))
        for key in sorted(exc.extra_fields):
            hint = did_you_mean(key, allowed) or f"known keys: {', '.join(allowed)}"
            yield Problem((*path, key), f"unknown key {key!r}", hint)
    elif isinstance(exc, KeyError):
        missing = path[-1] if path else "?"
        yield Problem(path, f"missing required key {missing!r}", "", at_parent=True)
    elif isinstance(exc, Mismatch):
        yield Problem(path, str(exc))
    else:
        yield Problem(path, f"invalid value: {exc}")


def _step(sub: BaseException) -> DocPath:
    """The key or index a sub-error of a cattrs error is about, from its notes."""
    notes = getattr(sub, "__notes__", [])
    for attribute in ("name", "index"):
        found = [getattr(n, attribute) for n in notes if hasattr(n, attribute)]
        if found:
            return (found[0],)
    return ()
