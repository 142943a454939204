"""One App -> ``AppIR``: its name, handler module and routes, through the checks of each
concern, with every problem of the app collected in its ``AppContext``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chgen.runtime.origins import OriginPolicy

from .. import naming
from ..errors import SpecError
from ..ir import AppIR
from ..loader import LoadedApp
from ..spec import App, Location
from .consumers import ConsumerChecks
from .context import AppContext
from .events import app_events, unreceived_events
from .payloads import PayloadChecks
from .routes import RouteChecks
from .workers import WorkerChecks

__all__ = ["resolve_app"]

_APP_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def resolve_app(loaded: LoadedApp, spec_root: Path) -> tuple[AppIR | None, list[SpecError]]:
    """The app's IR, or None, and every problem found in it."""
    app, module_file = loaded.app, loaded.module_file
    context = AppContext(spec_root)
    payloads = PayloadChecks(context)
    events = app_events(context, payloads, app)
    workers = WorkerChecks(context, payloads, events)
    workers.all(app.workers, app.defined_at)  # first: consumers get their job senders
    consumers = ConsumerChecks(context, payloads, workers.senders, events)
    routes = RouteChecks(context, consumers, payloads)
    _check_name(context, app)
    _check_module_path(context, app.handlers, app.defined_at, "$.handlers")
    origins = _allowed_origins(context, app)
    found = [routes.route(r, app.defined_at, f"$.routes[{i}]") for i, r in enumerate(app.routes)]
    if not app.routes:
        message = "the app has no routes"
        context.error(app.defined_at, "$.routes", message, "add route(path, consumer) entries")
    received = {name for c in consumers.consumers.values() for name in c.app_events}
    unreceived_events(context, app, events, received)
    for cls in loaded.module_payloads:
        payloads.check_unused(cls)
    _check_field_names(context, payloads)
    _check_decorator_modules(context, consumers, workers)
    ordered = payloads.ordered()
    if context.errors:
        return None, context.errors
    ir = AppIR(
        name=app.name,
        spec_file=context.relative(module_file),
        handlers_module=app.handlers,
        enums=tuple(payloads.enums[n] for n in sorted(payloads.enums)),
        payloads=ordered,
        consumers=tuple(consumers.consumers[n] for n in sorted(consumers.consumers)),
        demuxes=tuple(consumers.demuxes[n] for n in sorted(consumers.demuxes)),
        routes=tuple(r for r in found if r is not None),
        allowed_origins=origins,
        workers=tuple(workers.workers[n] for n in sorted(workers.workers)),
        events=tuple(events[name] for name in sorted(events)),
    )
    return ir, []


def _check_name(context: AppContext, app: App) -> None:
    if not isinstance(app.name, str) or not _APP_NAME.match(app.name):
        context.error(
            app.defined_at,
            "$.name",
            f"app name {app.name!r} is not a valid package name",
            "use lowercase letters, digits and underscores, starting with a letter",
        )
        return
    reason = naming.reserved_reason(app.name)
    if reason:
        message = f"app name is reserved: {reason}"
        context.error(app.defined_at, "$.name", message, "choose another name")


def _allowed_origins(context: AppContext, app: App) -> tuple[str, ...]:
    """The app's origin patterns, each checked as the runtime will read it."""
    patterns = app.allowed_origins
    if isinstance(patterns, str) or not all(isinstance(p, str) for p in patterns):
        message = f"allowed_origins must be a list of strings, got {patterns!r}"
        context.error(app.defined_at, "$.allowed_origins", message, 'e.g. ["https://example.com"]')
        return ()
    try:
        OriginPolicy(patterns)
    except ValueError as exc:
        where, _, message = str(exc).partition(": ")
        context.error(app.defined_at, f"$.{where}", message)
        return ()
    return tuple(patterns)


def _check_module_path(context: AppContext, value: Any, at: Location, path: str) -> None:
    parts = value.split(".") if isinstance(value, str) else [""]
    if not all(naming.is_python_identifier(p) for p in parts):
        context.error(
            at,
            path,
            f"{value!r} is not a dotted module path",
            'name the module holding the handler classes, e.g. "handlers.chat"',
        )


def _check_field_names(context: AppContext, payloads: PayloadChecks) -> None:
    """A field named like a payload or enum of the app would hide that type inside the
    generated class, from the annotations of the fields after it."""
    for payload in payloads.payloads.values():
        for field in payload.fields:
            if field.name in context.names:
                context.error(
                    payload.location,
                    f"$.{field.name}",
                    f"field name {field.name!r} would hide the type {field.name} inside "
                    "the generated class",
                    "rename the field",
                )


def _check_decorator_modules(
    context: AppContext, consumers: ConsumerChecks, workers: WorkerChecks
) -> None:
    """``import myapp.guards`` binds ``myapp`` in the generated consumers module, so the
    top package of a decorator (or of a multiplexer class, in the routing module) must
    not be named like a generated class."""
    for demux in consumers.demuxes.values():
        top = (demux.multiplexer_class or "").partition(".")[0]
        if top in context.names:
            what, where = context.names[top]
            context.error(
                where,
                "$.name",
                f"{what} name {top!r} is also the package of multiplexer class "
                f"{demux.multiplexer_class!r}, used by {demux.name}",
                "rename one of them",
            )
    owners = [(c.name, (*c.all_handlers, *c.route_methods)) for c in consumers.consumers.values()]
    owners += [(w.name, w.handlers) for w in workers.workers.values()]
    for owner, handlers in owners:
        for handler in handlers:
            for path in handler.decorators:
                top = path.partition(".")[0]
                if top in context.names:
                    what, where = context.names[top]
                    context.error(
                        where,
                        "$.name",
                        f"{what} name {top!r} is also the package of decorator {path!r}, "
                        f"used by {owner}.{handler.method}",
                        "rename one of them",
                    )
