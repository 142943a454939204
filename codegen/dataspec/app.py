"""The App of a data spec: its consumers, demultiplexers, routes and workers as spec
objects.

Names in the document become the objects they name (a handler's payload, a stream's
consumer, a route's target); every other key is passed to the spec class as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..hints import did_you_mean
from ..spec import App, Handler, Route, WebsocketDemultiplexer, Worker
from .context import BuildContext
from .document import CONSUMER_KINDS, HandlerDoc, handler_mappings
from .locations import DocPath
from .payloads import Payloads

__all__ = ["build_app"]


def build_app(context: BuildContext) -> App | None:
    """The App, or None when anything was wrong (the context holds every error)."""
    payloads = Payloads(context)
    payloads.build()
    return _AppBuilder(context, payloads).build()


class _AppBuilder:
    def __init__(self, context: BuildContext, payloads: Payloads) -> None:
        self.ctx = context
        self.payloads = payloads
        self.consumers: dict[str, Any] = {}
        self.demuxes: dict[str, WebsocketDemultiplexer] = {}
        self.consumer_names = [n for s in CONSUMER_KINDS for n in context.doc.names[s]]

    def build(self) -> App | None:
        self._consumers()
        self._demuxes()
        app = self.ctx.doc.app
        if app is None:
            return None
        routes = self._routes(app)
        workers = self._workers()
        events = {
            event: self.payloads.ref(payload, ("app", "events", event))
            for event, payload in app.events.items()
        }
        if self.ctx.errors:
            return None
        special = {"routes": routes, "workers": workers, "events": events}
        return App(**_options(app, special), defined_at=self.ctx.at(("app",)))

    # -- consumers and demultiplexers -------------------------------------------------

    def _consumers(self) -> None:
        for section, spec_cls in CONSUMER_KINDS.items():
            for name, doc in self.ctx.doc.sections[section].items():
                if name in self.consumers:
                    self.ctx.error(
                        (section, name),
                        f"consumer {name!r} is defined twice",
                        "consumer names are unique across kinds of consumers",
                    )
                self.consumers[name] = self._consumer(section, spec_cls, name, doc)

    def _consumer(self, section: str, spec_cls: type[Any], name: str, doc: Any) -> Any:
        path: DocPath = (section, name)
        special: dict[str, Any] = {"name": name}
        for field in handler_mappings(spec_cls):
            special[field] = {
                msg_type: self._handler(entry, (*path, field, msg_type))
                for msg_type, entry in getattr(doc, field).items()
            }
        if "sends" in attrs.fields_dict(spec_cls):
            special["sends"] = {
                event: self.payloads.ref(payload, (*path, "sends", event))
                for event, payload in doc.sends.items()
            }
        return spec_cls(**_options(doc, special), defined_at=self.ctx.at(path))

    def _handler(self, entry: Any, path: DocPath) -> Handler:
        if isinstance(entry, str):
            entry, where = HandlerDoc(payload=entry), path
        else:
            where = (*path, "payload")
        payload = self.payloads.ref(entry.payload, where)
        reply = None
        if entry.reply is not None:
            reply = self.payloads.ref(entry.reply, (*path, "reply"))
        special = {"payload": payload, "reply": reply}
        return Handler(**_options(entry, special), defined_at=self.ctx.at(path))

    def _demuxes(self) -> None:
        for name, demux in self.ctx.doc.sections["demultiplexers"].items():
            self.demuxes[name] = self._demux(name, demux)
        for name in sorted(set(self.consumer_names) & set(self.demuxes)):
            self.ctx.error(
                ("demultiplexers", name),
                f"{name!r} names both a consumer and a demultiplexer",
                "routes name their target, so give each a unique name",
            )

    def _demux(self, name: str, doc: Any) -> WebsocketDemultiplexer:
        path: DocPath = ("demultiplexers", name)
        streams: dict[str, Any] = {}
        for stream, consumer in doc.consumers.items():
            found = self.consumers.get(consumer)
            if found is None and consumer not in self.consumer_names:
                self.ctx.error(
                    (*path, "consumers", stream),
                    f"no consumer named {consumer!r}",
                    did_you_mean(consumer, self.consumer_names)
                    or f"consumers: {', '.join(self.consumer_names) or 'none'}",
                )
                continue
            streams[stream] = found
        special = {"name": name, "consumers": streams}
        return WebsocketDemultiplexer(**_options(doc, special), defined_at=self.ctx.at(path))

    def _workers(self) -> list[Worker]:
        workers = []
        for name, doc in self.ctx.doc.sections["workers"].items():
            path: DocPath = ("workers", name)
            mapping = {
                job: self._handler(entry, (*path, "mapping", job))
                for job, entry in doc.mapping.items()
            }
            special = {"name": name, "mapping": mapping}
            workers.append(Worker(**_options(doc, special), defined_at=self.ctx.at(path)))
        return workers

    # -- routes -----------------------------------------------------------------------

    def _routes(self, app: Any) -> list[Route]:
        routes = []
        targets = [*self.consumer_names, *self.ctx.doc.names["demultiplexers"]]
        for index, route in enumerate(app.routes):
            path: DocPath = ("app", "routes", index)
            target: Any = self.consumers.get(route.target) or self.demuxes.get(route.target)
            if target is None and route.target not in targets:
                self.ctx.error(
                    (*path, "target"),
                    f"no consumer or demultiplexer named {route.target!r}",
                    did_you_mean(route.target, targets)
                    or f"defined: {', '.join(targets) or 'none'}",
                )
                continue
            routes.append(
                Route(**_options(route, {"target": target}), defined_at=self.ctx.at(path))
            )
        return routes


def _options(doc: Any, special: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for a spec class: the document's own values, with ``special``."""
    values = {f.name: getattr(doc, f.name) for f in attrs.fields(type(doc))}
    values.update(special)
    return values
