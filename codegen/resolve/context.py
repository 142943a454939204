"""What every check of one app shares: the errors found so far and the name registry.

Payloads, enums, consumers, demultiplexers and the classes generated from them share
one namespace in the generated modules; the registry hands each name out once and says
who holds it when a second claim comes.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import SpecError
from ..spec import Location
from .reserved import reserved_type_reason

__all__ = ["AppContext"]

_TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]*\Z")


class AppContext:
    def __init__(self, spec_root: Path) -> None:
        self.spec_root = spec_root.resolve()
        self.errors: list[SpecError] = []
        self.names: dict[str, tuple[str, Location]] = {}  # generated top-level names

    def error(self, where: Location, path: str, message: str, hint: str = "") -> None:
        self.errors.append(SpecError(where, path, message, hint))

    def claim(self, name: object, what: str, at: Location, path: str) -> bool:
        """Reserve a generated top-level name; report clashes and bad names."""
        if not isinstance(name, str) or not _TYPE_NAME.match(name):
            self.error(
                at,
                path,
                f"{what} name {name!r} is not a valid type name",
                "use PascalCase ASCII letters and digits, e.g. ChatRoom",
            )
            return False
        reason = reserved_type_reason(name)
        if reason:
            self.error(at, path, f"{what} name is reserved: {reason}", "choose another name")
            return False
        if name in self.names:
            other, where = self.names[name]
            self.error(
                at,
                path,
                f"{what} name {name!r} is already used by {other} at {where}",
                "names of payloads, consumers and demultiplexers share one namespace",
            )
            return False
        self.names[name] = (what, at)
        return True

    def relative(self, file: Path) -> str:
        """``file`` as the generated header names it: relative to the spec directory's
        parent when it lies below it, else by its name."""
        try:
            return file.resolve().relative_to(self.spec_root.parent).as_posix()
        except ValueError:
            return file.name
