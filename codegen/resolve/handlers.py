"""A consumer's mappings -> ``HandlerIR``: message types, methods, payloads, decorators.

``method_mapping`` maps client message types to handlers (with optional replies);
``layer_mapping`` maps channel-layer message types (Channels style ``chat.message``),
which have nobody to reply to, and so does a worker's ``mapping`` of job types.
"""

from __future__ import annotations

import re
from collections.abc import Set
from typing import Any

from chgen.runtime.consumer import GROUP_EVENT

from .. import naming
from ..hints import python_kind
from ..ir import HandlerIR
from ..spec import Handler, JsonWebsocketConsumer, Location, WebsocketConsumer, Worker
from .context import AppContext
from .payloads import PayloadChecks
from .reserved import CONSUMER_ATTRIBUTES, RESERVED_TYPES

__all__ = ["HandlerChecks", "member_name_ok"]

AnyConsumer = JsonWebsocketConsumer | WebsocketConsumer

_LAYER_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\Z")
_MEMBER_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def member_name_ok(
    context: AppContext,
    name: Any,
    what: str,
    at: Location,
    path: str,
    reserved: Set[str] = CONSUMER_ATTRIBUTES,
) -> bool:
    """A message type, event or method name: lowercase, and not hiding the API of the
    class it becomes a member of (a consumer's, unless ``reserved`` says otherwise)."""
    if not isinstance(name, str) or not _MEMBER_NAME.match(name):
        context.error(
            at,
            path,
            f"{what} {name!r} is not a valid name",
            "use lowercase ASCII letters, digits and underscores, starting with a letter",
        )
        return False
    # Only Python keywords matter: on the TypeScript side these are property names,
    # where reserved words are legal (`chat.send.delete(...)`).
    reason = f"{name!r} is a Python keyword" if name in naming.PYTHON_KEYWORDS else None
    if reason is None and name in RESERVED_TYPES:
        reason = f"{name!r} is the protocol's error frame type"
    if reason is None and name in reserved:
        kind = "consumer" if reserved is CONSUMER_ATTRIBUTES else "worker"
        reason = f"{name!r} is a method of every {kind}"
    if reason:
        context.error(at, path, f"{what} name is reserved: {reason}", "choose another name")
        return False
    return True


class HandlerChecks:
    """The handlers of one consumer (or worker); methods must be unique across its tables."""

    def __init__(
        self,
        context: AppContext,
        payloads: PayloadChecks,
        spec: AnyConsumer | Worker,
        taken: set[str],
        reserved: Set[str] = CONSUMER_ATTRIBUTES,
    ) -> None:
        self.context = context
        self.payloads = payloads
        self.spec = spec
        self.taken = taken  # generated send helpers
        self.reserved = reserved  # the attributes every instance has
        self.methods: dict[str, str] = {}  # method -> the message type it handles

    def table(self, table: str) -> tuple[HandlerIR, ...]:
        """Handlers of ``method_mapping``, ``layer_mapping`` or a worker's ``mapping``, by
        message type."""
        handlers = []
        for msg_type, handler in getattr(self.spec, table, {}).items():
            found = self._handler(msg_type, handler, table)
            if found is not None:
                handlers.append(found)
        return tuple(sorted(handlers, key=lambda h: h.msg_type))

    def handler(self, msg_type: Any, handler: Handler) -> HandlerIR | None:
        """One client message type's handler (of a route's own mapping), checked as one
        of the consumer's ``method_mapping``; None if refused."""
        return self._handler(msg_type, handler, "method_mapping")

    def _handler(self, msg_type: Any, handler: Any, table: str) -> HandlerIR | None:
        layer = table != "method_mapping"  # a layer message or a job: no reply
        path = f"$.{table}[{naming.py_str(str(msg_type))}]"
        at = handler.defined_at if isinstance(handler, Handler) else self.spec.defined_at
        if not self._type_ok(msg_type, table, at, path):
            return None
        if not isinstance(handler, Handler):
            self.context.error(
                self.spec.defined_at,
                path,
                f"expected Handler(...), got {python_kind(handler)}",
                f"write Handler(PayloadClass) for {msg_type!r}",
            )
            return None
        method = handler.method or msg_type.replace(".", "_")
        if not self._method_ok(method, msg_type, handler, layer):
            return None
        if layer and handler.reply is not None:
            message = f"a {'job' if table == 'mapping' else 'layer message'} has nobody to reply to"
            self.context.error(handler.defined_at, "$.reply", message, "remove reply=")
            return None
        return self._typed(msg_type, method, handler)

    def _type_ok(self, msg_type: Any, table: str, at: Location, path: str) -> bool:
        if table == "method_mapping":
            return member_name_ok(self.context, msg_type, "message type", at, path)
        if not isinstance(msg_type, str) or not _LAYER_TYPE.match(msg_type):
            ok = False
        else:
            ok = msg_type != GROUP_EVENT
        if not ok:
            self.context.error(
                at,
                path,
                f"{'job' if table == 'mapping' else 'layer message'} type {msg_type!r} "
                "is not usable",
                'use lowercase names with dots, e.g. "resize" or "image.resize"'
                if table == "mapping"
                else 'use lowercase names with dots, like Channels\' "chat.message"',
            )
        return ok

    def _method_ok(self, method: str, msg_type: str, handler: Handler, layer: bool) -> bool:
        at = handler.defined_at
        named = handler.method is not None or layer
        if named and not member_name_ok(
            self.context, method, "handler method", at, "$.method", self.reserved
        ):
            return False
        if method in self.taken:
            self.context.error(
                at,
                "$.method",
                f"handler method {method!r} clashes with a generated send helper",
                "set Handler(..., method=...) to another name",
            )
            return False
        if method in self.methods:
            self.context.error(
                at,
                "$.method",
                f"handler method {method!r} already handles {self.methods[method]!r}",
                "each message type needs its own method",
            )
            return False
        self.methods[method] = msg_type
        return True

    def _typed(self, msg_type: str, method: str, handler: Handler) -> HandlerIR | None:
        at = handler.defined_at
        payload = self.payloads.ref(handler.payload, at, "$.payload")
        reply = None
        if handler.reply is not None:
            reply = self.payloads.ref(handler.reply, at, "$.reply")
        decorators = self._decorators(handler)
        if payload is None or (handler.reply is not None and reply is None):
            return None
        return HandlerIR(msg_type, method, payload, reply, decorators)

    def _decorators(self, handler: Handler) -> tuple[str, ...]:
        found = []
        for i, path in enumerate(handler.decorators):
            parts = path.split(".") if isinstance(path, str) else []
            if len(parts) < 2 or not all(naming.is_python_identifier(p) for p in parts):
                self.context.error(
                    handler.defined_at,
                    f"$.decorators[{i}]",
                    f"{path!r} is not a dotted path to a decorator",
                    'name the module and the function, e.g. "myapp.guards.staff_only"',
                )
            else:
                found.append(path)
        return tuple(found)
