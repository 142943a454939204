"""Check loaded specs and turn them into the IR; report every problem at once.

Nothing here touches the disk. Each error names the spec object's file and line, a
``$.`` path inside it, what is wrong and, where a name is close to a known one, a
did-you-mean.

One module per concern, all sharing one ``AppContext`` (the errors and the registry of
generated names) per app: ``routes`` -> ``consumers`` (and their ``handlers``) ->
``payloads``, each asking the next for what its spec objects refer to. ``reserved``
computes the names a spec may not use from what the generated code imports and declares.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import SpecError, SpecErrors
from ..ir import AppIR
from ..loader import LoadedApp
from ..spec import App
from .app import resolve_app
from .reserved import CONSUMER_ATTRIBUTES, RESERVED_TYPES

__all__ = ["CONSUMER_ATTRIBUTES", "RESERVED_TYPES", "resolve"]


def resolve(loaded: Sequence[LoadedApp], spec_root: Path) -> list[AppIR]:
    """The IR of every app, or SpecErrors listing every problem found."""
    errors: list[SpecError] = []
    apps: list[AppIR] = []
    seen: dict[str, App] = {}
    for item in loaded:
        app = item.app
        first = seen.setdefault(app.name, app)
        if first is not app:
            errors.append(
                SpecError(
                    app.defined_at,
                    "$.name",
                    f"app {app.name!r} is also defined at {first.defined_at}",
                    "give each App a unique name: it names the generated package",
                )
            )
            continue
        ir, found = resolve_app(item, spec_root)
        errors.extend(found)
        if ir is not None:
            apps.append(ir)
    if errors:
        raise SpecErrors(list(dict.fromkeys(errors)))  # a module's two apps may share one
    return sorted(apps, key=lambda a: a.name)
