"""The two sides of ``chgen compat``: a spec directory, a spec directory at a git
revision (``git:REV:path``), or an AsyncAPI document chgen wrote.

A spec directory is loaded and checked like a build, and each app's AsyncAPI document is
rendered in memory, with the spec file and line of every route, message, payload and
field added, so that every finding can name them.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config import ApiSettings
from ..errors import UsageError
from ..ir import AppIR
from ..loader import LoadedApp, load_specs
from ..render.contracts.asyncapi import document
from ..sourcelines import class_source
from ..spec import (
    JsonWebsocketConsumer,
    Location,
    WebsocketDemultiplexer,
    field_location,
    is_payload,
)
from .model import AppSurface, Surface, read_document

__all__ = ["load_side"]

Doc = dict[str, Any]


def load_side(source: str, repo: Path) -> Surface:
    """The surface of ``source``: ``git:REV:path``, a ``.json`` document, or a spec
    directory. Raises UsageError naming what is wrong with it."""
    if source.startswith("git:"):
        rev, _, path = source[4:].partition(":")
        if not rev or not path:
            raise UsageError(f"{source!r}: write git:REV:PATH, e.g. git:main:specs/")
        with tempfile.TemporaryDirectory(prefix="chgen-compat-") as tmp:
            root = _checkout(repo, rev, path.rstrip("/"), Path(tmp))
            return _from_specs(root / path.rstrip("/"), source)
    where = Path(source)
    if where.suffix == ".json" and where.is_file():
        return _from_document(where)
    if where.is_dir():
        return _from_specs(where, source)
    raise UsageError(f"{source!r} is neither a spec directory, git:REV:PATH nor a .json document")


def _checkout(repo: Path, rev: str, path: str, into: Path) -> Path:
    """Write ``path`` as it is at ``rev`` into ``into``; the root it is under."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", rev, "--", path],
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"git archive {rev} -- {path} failed: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise UsageError(f"git:{rev}:{path}: {message or 'git archive failed'}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into


def _from_document(path: Path) -> Surface:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        app = read_document(doc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: cannot read it as a chgen AsyncAPI document: {exc}") from None
    return Surface({app.name: app}, str(path))


def _from_specs(spec_dir: Path, label: str) -> Surface:
    from ..resolve import resolve

    if not spec_dir.is_dir():
        raise UsageError(f"{label!r}: no such spec directory")
    loaded, _ = load_specs(spec_dir)
    apps = resolve(loaded, spec_dir)
    by_name = {item.app.name: item for item in loaded}
    root = spec_dir.resolve().parent
    surfaces: dict[str, AppSurface] = {}
    for app in apps:
        doc = document(app, ApiSettings())
        _locate(doc, app, by_name[app.name], root)
        surfaces[app.name] = read_document(doc)
    return Surface(surfaces, label)


# -- where each part of a document comes from ---------------------------------------------


def _shown(location: Location, root: Path) -> str:
    try:
        file = Path(location.file).resolve().relative_to(root).as_posix()
    except ValueError:
        file = Path(location.file).name
    return f"{file}:{location.line}"


def _consumers(loaded: LoadedApp) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for route in loaded.app.routes:
        target = route.target
        if isinstance(target, WebsocketDemultiplexer):
            for consumer in target.consumers.values():
                found.setdefault(consumer.name, consumer)
        found.setdefault(target.name, target)
    return found


def _payload_classes(loaded: LoadedApp, consumers: dict[str, Any]) -> Iterator[type[Any]]:
    yield from loaded.module_payloads
    for consumer in consumers.values():
        if isinstance(consumer, JsonWebsocketConsumer):
            for handler in consumer.method_mapping.values():
                yield from (c for c in (handler.payload, handler.reply) if is_payload(c))
            yield from (c for c in consumer.sends.values() if is_payload(c))


def _locate(doc: Doc, app: AppIR, loaded: LoadedApp, root: Path) -> None:
    """Add ``x-chgen-location`` to every route, message, payload, enum and field of
    ``doc``."""
    doc["x-chgen-app"]["location"] = _shown(loaded.app.defined_at, root)
    schemas = doc["components"]["schemas"]
    places = [(p.name, p.location) for p in app.payloads] + [
        (e.name, e.location) for e in app.enums
    ]
    for name, location in places:
        schemas[name]["x-chgen-location"] = _shown(location, root)
    for channel, route in zip(doc["channels"].values(), loaded.app.routes, strict=False):
        channel["x-chgen-location"] = _shown(route.defined_at, root)
    consumers = _consumers(loaded)
    for message in doc["components"]["messages"].values():
        mark = message.get("x-chgen-message", {})
        consumer = consumers.get(mark.get("consumer", ""))
        if consumer is None:
            continue
        message["x-chgen-stream-location"] = _shown(consumer.defined_at, root)
        handler = getattr(consumer, "method_mapping", {}).get(mark.get("type"))
        at = handler.defined_at if mark.get("role") != "event" and handler else consumer.defined_at
        message["x-chgen-location"] = _shown(at, root)
    for cls in _payload_classes(loaded, consumers):
        schema = schemas.get(cls.__name__)
        if schema is None:
            continue
        for name, field in schema.get("properties", {}).items():
            line = _field_line(cls, name)
            if line is not None:
                file = schema.get("x-chgen-location", "?:0").rpartition(":")[0]
                field["x-chgen-location"] = f"{file}:{line}"


def _field_line(cls: type[Any], name: str) -> int | None:
    given = field_location(cls, name)
    if given is not None:
        return given.line
    try:
        lines, start = class_source(cls)
    except (OSError, TypeError):
        return None
    pattern = re.compile(rf"\s+{re.escape(name)}\s*:")
    return next((start + i for i, line in enumerate(lines) if pattern.match(line)), None)
