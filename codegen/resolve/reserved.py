"""The names a spec may not use, computed from what the generated code imports and declares.

Nothing here is a list kept by hand beside the templates: the Python names come from the
import vocabulary the Python renderer is held to (``render.vocabulary``), the TypeScript
names from the client core and templates themselves, and the consumer's (and worker's)
own attributes from the runtime class that generated consumers (and workers) subclass.
"""

from __future__ import annotations

from chgen.runtime.consumer import JsonWebsocketConsumer as RuntimeConsumer
from chgen.runtime.worker import WorkerConsumer

from .. import naming
from ..render import vocabulary

__all__ = [
    "CONSUMER_ATTRIBUTES",
    "RESERVED_TYPES",
    "ROUTE_FIXED_ATTRIBUTES",
    "WORKER_ATTRIBUTES",
    "field_shadow_reason",
    "reserved_type_reason",
]

# Message types become handler methods; they must not hide the consumer's own API.
CONSUMER_ATTRIBUTES = frozenset(n for n in dir(RuntimeConsumer) if not n.startswith("__"))
# Job types become a worker's handler methods, which must not hide the worker's own API.
WORKER_ATTRIBUTES = frozenset(n for n in dir(WorkerConsumer) if not n.startswith("__"))
# Message and event types the protocol itself uses (error replies, gap reports,
# recovery outcomes).
RESERVED_TYPES = frozenset({"error", "gap", "recovery"})
# Class attributes the generated code sets from the spec; a route's attrs can't change them.
ROUTE_FIXED_ATTRIBUTES = vocabulary.GENERATED_CLASS_ATTRIBUTES


def reserved_type_reason(name: str) -> str | None:
    """Why a payload, enum, consumer or demultiplexer (or a name derived from one) may
    not be called ``name``; None when it may."""
    reason = naming.reserved_reason(name)
    if reason is None and name in vocabulary.python_module_names():
        reason = f"{name!r} is a name the generated Python imports or defines"
    if reason is None and name in vocabulary.client_type_names():
        reason = f"{name!r} is a name the generated TypeScript client uses"
    return reason


def field_shadow_reason(name: str) -> str | None:
    """Why a payload field may not be called ``name``: inside the generated class body it
    would hide a name that the annotations and defaults of later fields use."""
    if name in vocabulary.python_module_names() or name in vocabulary.ANNOTATION_BUILTINS:
        return f"field name {name!r} would hide the type {name} inside the generated class"
    return None
