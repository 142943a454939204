"""Reading a data spec file: UTF-8 text, parsed by tomllib or json, with its key lines.

A file that cannot be read as a data spec (not UTF-8, invalid TOML or JSON) is one error
at the line the decoder or parser names; nothing else is checked then.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..spec import Location
from .jsonpos import json_positions
from .locations import DocPath, render_path
from .tomlpos import toml_positions

__all__ = ["DATA_SUFFIXES", "read_data_file"]

DATA_SUFFIXES = (".toml", ".json")

_Read = tuple[
    Any, dict[DocPath, int], list[SpecError]
]  # parsed value (None: unreadable), lines, errors


def read_data_file(file: Path) -> _Read:
    """The parsed document and the line of each key, or a located syntax error."""
    data = file.read_bytes()
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"the data spec is not UTF-8 text: {exc.reason} at byte {exc.start}"
        return None, {}, [SpecError(Location(str(file), line), "$", message, "save it as UTF-8")]
    if file.suffix == ".json":
        return _read_json(str(file), text)
    return _read_toml(str(file), text)


def _read_json(where: str, text: str) -> _Read:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"invalid JSON: {exc.msg} (column {exc.colno})"
        return None, {}, [SpecError(Location(where, exc.lineno), "$", message, "")]
    positions, duplicates = json_positions(text)
    errors = [
        SpecError(
            Location(where, line),
            render_path(path),
            f"duplicate key {path[-1]!r}",
            "JSON keeps only the last value; remove one",
        )
        for path, line in duplicates
    ]
    return parsed, positions, errors


def _read_toml(where: str, text: str) -> _Read:
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)$", str(exc))
        line = int(found.group(1)) if found else 1
        message = re.sub(r" \(at (line \d+, column \d+|end of document)\)$", "", str(exc))
        column = f" (column {found.group(2)})" if found else ""
        return None, {}, [SpecError(Location(where, line), "$", f"invalid TOML: {message}{column}")]
    return parsed, toml_positions(text), []
