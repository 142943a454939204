"""A route's own ``method_mapping`` -> the ``HandlerIR``s of its message set.

A route to a JSON consumer may replace the consumer's mapping, as Channels'
``as_route(attrs={"method_mapping": ...})`` does. Each message type maps to a
``Handler(...)``, checked like the consumer's own, or to the name of a handler method of
the consumer's mapping, which keeps its payload, reply and decorators. A method no mapping
of the consumer has is added to the consumer's ``route_methods``, so that its base
declares it for the handler class to implement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .. import naming
from ..hints import did_you_mean, python_kind
from ..ir import ConsumerIR, HandlerIR
from ..spec import Handler, JsonWebsocketConsumer, Route
from .consumers import ConsumerChecks
from .context import AppContext
from .handlers import HandlerChecks, member_name_ok
from .payloads import PayloadChecks

__all__ = ["RouteMappings"]


class RouteMappings:
    def __init__(
        self, context: AppContext, payloads: PayloadChecks, consumers: ConsumerChecks
    ) -> None:
        self.context = context
        self.payloads = payloads
        self.consumers = consumers

    def handlers(
        self, route: Route, mapping: Any, target: JsonWebsocketConsumer
    ) -> tuple[HandlerIR, ...] | None:
        """The route's message set, sorted by type; None when any entry is refused."""
        at = route.defined_at
        if not isinstance(mapping, Mapping):
            self.context.error(
                at,
                "$.method_mapping",
                f"expected a dict of message types, got {python_kind(mapping)}",
                'map each type to Handler(Payload) or to a method name: {"say": "post"}',
            )
            return None
        consumer = self.consumers.consumers[target.name]
        helpers = {f"{kind}_{e.name}" for e in consumer.events for kind in ("send", "group_send")}
        helpers |= set(self.consumers.senders)  # the app's job senders
        helpers |= {f"group_send_{name}" for name in self.consumers.app_events}
        checks = HandlerChecks(self.context, self.payloads, target, helpers)
        found: list[HandlerIR] = []
        ok = True
        for msg_type, value in mapping.items():
            path = f"$.method_mapping[{naming.py_str(str(msg_type))}]"
            if isinstance(value, str):
                handler = self._reused(route, consumer, msg_type, value, path)
            elif isinstance(value, Handler):
                handler = checks.handler(msg_type, value)
                handler = handler and self._declared(target.name, handler, value)
            else:
                self.context.error(
                    at,
                    path,
                    f"expected Handler(...) or a method name, got {python_kind(value)}",
                    f"write Handler(PayloadClass) for {msg_type!r}",
                )
                handler = None
            ok = handler is not None and ok
            found += [handler] if handler is not None else []
        if ok and not self._methods_unique(route, found):
            return None
        return tuple(sorted(found, key=lambda h: h.msg_type)) if ok else None

    def _reused(
        self, route: Route, consumer: ConsumerIR, msg_type: Any, method: str, path: str
    ) -> HandlerIR | None:
        """``{"mychannel": "test"}``: the consumer's handler method ``test``, as it is."""
        if not member_name_ok(self.context, msg_type, "message type", route.defined_at, path):
            return None
        own = {h.method: h for h in (*consumer.handlers, *consumer.route_methods)}
        if method not in own:
            known = ", ".join(sorted(own)) or "none"
            self.context.error(
                route.defined_at,
                path,
                f"{consumer.name} has no handler method {method!r} to reuse (it has: {known})",
                did_you_mean(method, own)
                or "write Handler(PayloadClass, method=...) for a method of its own",
            )
            return None
        return attrs.evolve(own[method], msg_type=msg_type)

    def _declared(self, name: str, handler: HandlerIR, spec: Handler) -> HandlerIR | None:
        """``handler``, once its method is known to the consumer's base: the same as a
        handler of the consumer's, or new and then declared there."""
        consumer = self.consumers.consumers[name]
        if handler.method in {h.method for h in consumer.layer_handlers}:
            self.context.error(
                spec.defined_at,
                "$.method",
                f"handler method {handler.method!r} handles a layer message of {consumer.name}",
                "set Handler(..., method=...) to another name",
            )
            return None
        known = (*consumer.handlers, *consumer.route_methods)
        same = next((h for h in known if h.method == handler.method), None)
        if same is None:
            methods = (*consumer.route_methods, handler)
            self.consumers.consumers[consumer.name] = attrs.evolve(
                consumer, route_methods=tuple(sorted(methods, key=lambda h: h.method))
            )
            return handler
        if (same.payload, same.reply, same.decorators) != (
            handler.payload,
            handler.reply,
            handler.decorators,
        ):
            self.context.error(
                spec.defined_at,
                "$.method",
                f"handler method {handler.method!r} of {consumer.name} takes {same.payload} "
                f"and replies {same.reply}; one method cannot take two kinds of message",
                f'reuse it as it is with "{handler.method}", or set Handler(..., method=...)',
            )
            return None
        return handler

    def _methods_unique(self, route: Route, found: list[HandlerIR]) -> bool:
        seen: dict[str, str] = {}
        for handler in found:
            if handler.method in seen:
                self.context.error(
                    route.defined_at,
                    f"$.method_mapping[{naming.py_str(handler.msg_type)}]",
                    f"handler method {handler.method!r} already handles "
                    f"{seen[handler.method]!r} on this route",
                    "each message type needs its own method",
                )
                return False
            seen[handler.method] = handler.msg_type
        return True
