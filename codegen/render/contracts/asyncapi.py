"""The AsyncAPI 3.0 document of one app: the server's side of every route.

Operations are the server's: a client's message is an operation the server
``receive``s, answered by a ``reply`` on the same channel and correlated by the
message's ``id``; an event is one it ``send``s. Every message's payload is the frame as
it travels, the stream envelope included. The payload schemas are JSON Schema (see
``schema``) under ``components.schemas``.

``x-chgen-*`` extensions say what chgen knows beyond AsyncAPI (the route regex, the
target, which message of which stream a message is), so that ``chgen compat`` can read an
old document back. The document names the spec file, never a line: a data spec and the
Python spec it mirrors must generate the same files.
"""

from __future__ import annotations

import json
from typing import Any, Final

import attrs

from ...config import ApiSettings
from ...ir import AppIR
from .examples import Examples
from .schema import component_ref, enum_schema, payload_schema
from .surface import Channel, Event, Message, Stream, channels
from .wire import (
    ERROR_SCHEMA,
    GAP_SCHEMA,
    envelope,
    error_example,
    event_frame,
    gap_example,
    message_frame,
    protocol_schemas,
    reply_frame,
)

__all__ = ["ASYNCAPI_VERSION", "GENERATED_KEY", "document", "dumps", "info"]

ASYNCAPI_VERSION: Final = "3.0.0"
GENERATED_KEY: Final = "x-generated-by"  # what marks a JSON file as chgen's (the writer)
UNVERSIONED: Final = "unversioned"
EXAMPLE_ID: Final = 1

Doc = dict[str, Any]


def dumps(doc: Doc) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def info(app: AppIR, api: ApiSettings) -> Doc:
    """``info`` from ``[tool.chgen.api]``; the title defaults to the app's name."""
    found: Doc = {
        "title": api.title.replace("{app}", app.name) if api.title else app.name,
        "version": api.version or UNVERSIONED,
    }
    if api.description:
        found["description"] = api.description
    if api.contact:
        found["contact"] = dict(api.contact)
    return found


def document(app: AppIR, api: ApiSettings) -> Doc:
    """The AsyncAPI document of ``app`` as JSON data."""
    views = channels(app)
    builder = _Builder(app, views)
    doc: Doc = {
        GENERATED_KEY: f"chgen from {app.spec_file}. DO NOT EDIT.",
        "asyncapi": ASYNCAPI_VERSION,
        "info": info(app, api),
    }
    if api.servers:
        doc["servers"] = {
            s.name: {
                "host": s.host,
                "protocol": s.protocol,
                **({"pathname": s.pathname} if s.pathname else {}),
                **({"description": s.description} if s.description else {}),
            }
            for s in api.servers
        }
    doc["defaultContentType"] = "application/json"
    doc["channels"] = {c.id: builder.channel(c) for c in views}
    doc["operations"] = builder.operations
    doc["components"] = {
        "schemas": builder.schemas(),
        "messages": builder.messages,
        "correlationIds": {
            "frame": {"description": "The id of the frame", "location": "$message.payload#/id"},
            "envelope": {
                "description": "The id of the frame inside the stream envelope",
                "location": "$message.payload#/payload/id",
            },
        },
    }
    doc["x-chgen-app"] = {"name": app.name, "spec": app.spec_file}
    if app.events:
        doc["x-chgen-app"]["events"] = _app_events(app)
    return doc


def _app_events(app: AppIR) -> Doc:
    """Each app event: its payload, and the consumers whose clients receive it."""
    return {
        e.name: {
            "payload": {"$ref": component_ref(e.payload)},
            "receivedBy": [c.name for c in app.consumers if e.name in c.app_events],
        }
        for e in app.events
    }


class _Builder:
    def __init__(self, app: AppIR, views: tuple[Channel, ...]) -> None:
        self.app = app
        self.examples = Examples(app)
        self.payloads = {p.name: p for p in app.payloads}
        self.messages: Doc = {}
        self.operations: Doc = {}

    # -- components ---------------------------------------------------------------------

    def schemas(self) -> Doc:
        enums = {e.name: e for e in self.app.enums}
        found: Doc = {}
        for payload in sorted(self.app.payloads, key=lambda p: p.name):
            schema = payload_schema(payload, enums, component_ref)
            schema["examples"] = [self.examples.payload(payload.name)]
            found[payload.name] = schema
        for enum in self.app.enums:
            found[enum.name] = enum_schema(enum)
        found.update(protocol_schemas(component_ref))
        return dict(sorted(found.items()))

    def _data_required(self, payload: str) -> bool:
        return any(f.default is None for f in self.payloads[payload].fields)

    def _doc(self, payload: str | None) -> str:
        return self.payloads[payload].doc if payload is not None else ""

    def _message(self, key: str, body: Doc) -> str:
        """Add a component message once (routes to one target share them); its ref."""
        self.messages.setdefault(key, body)
        return f"#/components/messages/{key}"

    # -- channels -----------------------------------------------------------------------

    def channel(self, view: Channel) -> Doc:
        route = view.route
        found: Doc = {"address": view.address}
        found["title"] = view.demux or view.streams[0].consumer
        found["description"] = _channel_description(view)
        if view.params and view.address is not None:
            found["parameters"] = {
                p.name: {
                    "description": f"Matches the regular expression `{p.pattern}`.",
                    "examples": [p.example],
                }
                for p in view.params
            }
        messages: Doc = {}
        for stream in view.streams:
            messages.update(self._stream(view, stream))
        if any(s.kind == "json" for s in view.streams):
            messages["error"] = {"$ref": self._error(view, None)}
        found["messages"] = messages
        found["x-chgen-route"] = {
            "pattern": route.pattern,
            "target": route.target,
            "demultiplexer": view.demux is not None,
            "attrs": dict(route.attrs),
        }
        return found

    def _stream(self, view: Channel, stream: Stream) -> Doc:
        """The channel's messages of one stream; adds its operations and components."""
        if stream.kind == "plain":
            return self._plain(view, stream)
        on = _On(view, stream)
        found: Doc = {}
        error = self._error(view, stream)
        if stream.name is not None:
            found[on.key("error")] = {"$ref": error}
        found.update(self._gap(on))
        for m in stream.messages:
            found.update(self._request(on, m))
        for e in stream.events:
            found.update(self._event(on, e))
        return found

    def _request(self, on: _On, m: Message) -> Doc:
        data = self.examples.payload(m.payload)
        frame = message_frame(m.type, m.payload, self._data_required(m.payload), component_ref)
        request = {
            "name": m.type,
            "title": on.key(m.type),
            "summary": f"{m.payload} → {m.reply or 'null'}",
            **_described(self._doc(m.payload)),
            "payload": on.wrap(frame),
            "correlationId": on.correlation(),
            "examples": [
                {
                    "name": m.type,
                    "payload": on.box({"type": m.type, "id": EXAMPLE_ID, "data": data}),
                }
            ],
            "x-chgen-message": on.mark(m.type, "request", m.payload),
        }
        answer = self.examples.payload(m.reply) if m.reply is not None else None
        reply = {
            "name": f"{m.type}.reply",
            "title": f"{on.key(m.type)} (reply)",
            "summary": f"The reply to {m.type}: {m.reply or 'null (an acknowledgement)'}",
            **_described(self._doc(m.reply)),
            "payload": on.wrap(reply_frame(m.type, m.reply, component_ref)),
            "correlationId": on.correlation(),
            "examples": [
                {
                    "name": f"{m.type}.reply",
                    "payload": on.box({"type": m.type, "id": EXAMPLE_ID, "data": answer}),
                }
            ],
            "x-chgen-message": on.mark(m.type, "reply", m.reply),
        }
        request_key, reply_key = on.key(f"{m.type}.request"), on.key(f"{m.type}.reply")
        self.operations[f"{on.view.id}.{on.key(m.type)}.receive"] = {
            "action": "receive",
            "channel": {"$ref": on.channel},
            "title": on.key(m.type),
            "summary": f"A client sends {m.type}; one with an id gets exactly one answer.",
            "messages": [{"$ref": on.message(request_key)}],
            "reply": {
                "channel": {"$ref": on.channel},
                "messages": [{"$ref": on.message(reply_key)}, {"$ref": on.message(on.error)}],
            },
        }
        return {
            request_key: {"$ref": self._message(on.component(f"{m.type}.request"), request)},
            reply_key: {"$ref": self._message(on.component(f"{m.type}.reply"), reply)},
        }

    def _event(self, on: _On, e: Event) -> Doc:
        example = on.box({"type": e.name, "data": self.examples.payload(e.payload)})
        event = {
            "name": e.name,
            "title": f"{on.key(e.name)} (event)",
            "summary": f"{'An app event' if e.app_wide else 'An event'} carrying {e.payload}",
            **_described(self._doc(e.payload)),
            "payload": on.wrap(event_frame(e.name, e.payload, component_ref)),
            "examples": [{"name": e.name, "payload": example}],
            "x-chgen-message": {
                **on.mark(e.name, "event", e.payload),
                **({"appEvent": True} if e.app_wide else {}),
            },
        }
        key = on.key(f"{e.name}.event")
        summary = f"The server sends the event {e.name}, to this socket or to a group."
        if e.app_wide:
            summary = (
                f"The server sends the app event {e.name}, to this socket or to a group; "
                "any consumer of the app may send it."
            )
        self.operations[f"{on.view.id}.{on.key(e.name)}.send"] = {
            "action": "send",
            "channel": {"$ref": on.channel},
            "title": on.key(e.name),
            "summary": summary,
            "messages": [{"$ref": on.message(key)}],
        }
        return {key: {"$ref": self._message(on.component(f"{e.name}.event"), event)}}

    def _gap(self, on: _On) -> Doc:
        """The gap report: group events that never reached the socket, on this stream."""
        body = {
            "name": "gap",
            "title": f"{on.key('gap')} (gap report)",
            "summary": "Group events meant for this socket never reached it.",
            "payload": on.wrap({"$ref": component_ref(GAP_SCHEMA)}),
            "examples": [{"name": "gap", "payload": on.box(gap_example())}],
            "x-chgen-message": {"role": "gap", "stream": on.stream.name},
        }
        key = on.key("gap")
        self.operations[f"{on.view.id}.{key}.send"] = {
            "action": "send",
            "channel": {"$ref": on.channel},
            "title": key,
            "summary": "The server reports group events lost on their way, once per incident.",
            "messages": [{"$ref": on.message(key)}],
        }
        return {key: {"$ref": self._message(on.component("gap"), body)}}

    def _error(self, view: Channel, stream: Stream | None) -> str:
        """The error message of a stream (wrapped in its envelope), or of the socket."""
        target = view.demux or view.streams[0].consumer
        if stream is None or stream.name is None:
            key = f"{target}.error"
            payload: Doc = {"$ref": component_ref(ERROR_SCHEMA)}
            example = error_example(EXAMPLE_ID)
            what = "An error no stream owns: bad JSON, a malformed envelope, an unknown stream."
            if view.demux is None:
                what = "An error; it carries the id of the message it answers, if that had one."
        else:
            key = f"{target}.{stream.name}.error"
            payload = envelope(stream.name, {"$ref": component_ref(ERROR_SCHEMA)})
            example = {"stream": stream.name, "payload": error_example(EXAMPLE_ID)}
            what = f"An error about a frame on the stream {stream.name}."
        body = {
            "name": "error",
            "title": f"{stream.name}.error" if stream is not None and stream.name else "error",
            "summary": what,
            "payload": payload,
            "examples": [{"name": "error", "payload": example}],
            "x-chgen-message": {"role": "error", "stream": stream.name if stream else None},
        }
        return self._message(key, body)

    def _plain(self, view: Channel, stream: Stream) -> Doc:
        target = stream.consumer
        text = self._message(
            f"{target}.text",
            {
                "name": "text",
                "title": "text frame",
                "summary": "A text frame; the consumer gives it no schema.",
                "contentType": "text/plain",
                "payload": {"type": "string"},
                "x-chgen-message": {"role": "text", "stream": None},
            },
        )
        binary = self._message(
            f"{target}.bytes",
            {
                "name": "bytes",
                "title": "binary frame",
                "summary": "A binary frame; the consumer gives it no schema.",
                "contentType": "application/octet-stream",
                "payload": {"type": "string", "format": "binary"},
                "x-chgen-message": {"role": "bytes", "stream": None},
            },
        )
        channel_ref = f"#/channels/{view.id}"
        refs = [{"$ref": f"{channel_ref}/messages/text"}, {"$ref": f"{channel_ref}/messages/bytes"}]
        for action in ("receive", "send"):
            self.operations[f"{view.id}.frames.{action}"] = {
                "action": action,
                "channel": {"$ref": channel_ref},
                "title": f"frames ({action})",
                "messages": refs,
            }
        return {"text": {"$ref": text}, "bytes": {"$ref": binary}}


@attrs.frozen
class _On:
    """Names and frames of one stream on one channel: keys inside the channel prefixed
    by the stream, components by the target, frames in the envelope on a stream."""

    view: Channel
    stream: Stream

    @property
    def channel(self) -> str:
        return f"#/channels/{self.view.id}"

    @property
    def error(self) -> str:
        return self.key("error") if self.stream.name is not None else "error"

    def key(self, name: str) -> str:
        return f"{self.stream.name}.{name}" if self.stream.name is not None else name

    def component(self, name: str) -> str:
        return f"{self.view.demux or self.stream.consumer}.{self.key(name)}"

    def message(self, key: str) -> str:
        return f"{self.channel}/messages/{key}"

    def wrap(self, frame: Doc) -> Doc:
        return envelope(self.stream.name, frame) if self.stream.name is not None else frame

    def box(self, frame: Doc) -> Doc:
        return {"stream": self.stream.name, "payload": frame} if self.stream.name else frame

    def correlation(self) -> Doc:
        where = "envelope" if self.stream.name is not None else "frame"
        return {"$ref": f"#/components/correlationIds/{where}"}

    def mark(self, name: str, role: str, payload: str | None) -> Doc:
        return {
            "role": role,
            "stream": self.stream.name,
            "consumer": self.stream.consumer,
            "type": name,
            "payload": payload,
        }


def _described(doc: str) -> Doc:
    return {"description": doc} if doc else {}


def _channel_description(view: Channel) -> str:
    route = view.route
    lines = [f"The route `{route.pattern}`."]
    if view.address is None:
        lines.append(
            "Its regular expression has no single URL shape: a client builds the URL itself."
        )
    if view.demux is not None:
        names = ", ".join(s.name or "" for s in view.streams)
        lines.append(
            f"The demultiplexer {view.demux} carries the streams {names}; every frame travels "
            'in the envelope {"stream": S, "payload": frame}.'
        )
    elif view.streams[0].kind == "plain":
        lines.append(
            f"The consumer {view.streams[0].consumer} speaks text and binary frames with no schema."
        )
    else:
        lines.append(f"The consumer {view.streams[0].consumer} alone.")
    return " ".join(lines)
