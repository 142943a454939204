"""What ``chgen compat`` compares: each app's routes, streams, messages and events, read
from an AsyncAPI document chgen wrote (from disk, or rendered just now from specs).

Locations come from the document's ``x-chgen-location`` extensions: a document rendered
from specs for the comparison carries one on every route, message, payload and field
(``sources`` adds them); one written by ``chgen build`` has them on payloads and enums,
and the app's spec file for the rest.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["AppSurface", "Message", "RouteSurface", "StreamSurface", "Surface", "read_document"]

Doc = dict[str, Any]


@attrs.frozen
class Message:
    """A client message type (with its reply schema) or an event, on one stream."""

    name: str
    schema: Doc  # the data's schema: a $ref into the document's components
    reply: Doc | None  # requests only: the reply data's schema; None for events
    location: str
    app_wide: bool = False  # events only: an app event, which any consumer may send


@attrs.frozen
class StreamSurface:
    key: str  # the stream name, or "" when the route serves the consumer alone
    consumer: str
    plain: bool  # text and bytes frames, no schema
    requests: dict[str, Message]
    events: dict[str, Message]
    location: str


@attrs.frozen
class RouteSurface:
    pattern: str
    address: str | None
    target: str
    demultiplexer: bool
    streams: dict[str, StreamSurface]
    location: str


@attrs.frozen
class AppSurface:
    name: str
    spec: str
    routes: tuple[RouteSurface, ...]
    schemas: Doc  # components.schemas, for $refs
    location: str  # where the App is defined (or its spec file)

    def resolve(self, schema: Doc) -> tuple[Doc, str | None]:
        """``schema`` with a top-level ``$ref`` followed, and the name it referred to."""
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rpartition("/")[2]
            return self.schemas[name], name
        return schema, None


@attrs.frozen
class Surface:
    apps: dict[str, AppSurface]
    label: str  # how the user named this side: a path, git:REV:path, a document


def read_document(doc: Doc) -> AppSurface:
    """An app's surface from its AsyncAPI document; raises ValueError if chgen did not
    write it (no ``x-chgen-app``)."""
    app = doc.get("x-chgen-app")
    if not isinstance(app, dict):
        raise ValueError("not an AsyncAPI document written by chgen (no x-chgen-app)")
    spec = str(app.get("spec", "?"))
    messages = doc.get("components", {}).get("messages", {})
    routes = []
    for channel in doc.get("channels", {}).values():
        route = channel["x-chgen-route"]
        streams: dict[str, StreamSurface] = {}
        for ref in channel.get("messages", {}).values():
            message = messages[ref["$ref"].rpartition("/")[2]]
            _add(streams, message, channel, spec)
        routes.append(
            RouteSurface(
                pattern=route["pattern"],
                address=channel.get("address"),
                target=route["target"],
                demultiplexer=bool(route["demultiplexer"]),
                streams=streams,
                location=channel.get("x-chgen-location", spec),
            )
        )
    schemas = doc.get("components", {}).get("schemas", {})
    location = str(app.get("location", spec))
    return AppSurface(str(app["name"]), spec, tuple(routes), schemas, location)


def _add(streams: dict[str, StreamSurface], message: Doc, channel: Doc, spec: str) -> None:
    mark = message.get("x-chgen-message", {})
    role = mark.get("role")
    if role in ("text", "bytes"):
        streams.setdefault(
            "", StreamSurface("", "", True, {}, {}, channel.get("x-chgen-location", spec))
        )
        return
    if role not in ("request", "reply", "event"):
        return
    key = mark["stream"] or ""
    stream = streams.setdefault(
        key,
        StreamSurface(
            key, mark["consumer"], False, {}, {}, message.get("x-chgen-stream-location", spec)
        ),
    )
    data = _data_schema(message["payload"], mark["stream"])
    location = message.get("x-chgen-location", spec)
    name = mark["type"]
    if role == "event":
        stream.events[name] = Message(name, data, None, location, bool(mark.get("appEvent")))
    elif role == "request":
        known = stream.requests.get(name)
        stream.requests[name] = Message(name, data, known.reply if known else None, location)
    else:
        known = stream.requests.get(name)
        request = known or Message(name, {}, None, location)
        stream.requests[name] = attrs.evolve(request, reply=data)


def _data_schema(frame: Doc, stream: str | None) -> Doc:
    """The schema of a frame's ``data``, out of the envelope on a stream."""
    if stream is not None:
        frame = frame["properties"]["payload"]
    data: Doc = frame["properties"]["data"]
    return data
