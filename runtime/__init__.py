"""chgen's ASGI runtime: the small library generated apps import.

It depends on attrs, cattrs, annotated-types and orjson only; never on the generator.
Importing the package loads none of its modules: ``chgen.spec`` reads ``Pattern`` and the
defaults from here, and a spec module should not pay for the whole runtime. The names
below load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_attributes

if TYPE_CHECKING:
    from .base import BaseConsumer
    from .codec import CONVERTER, Pattern, decoder, encoder
    from .connection import Connection
    from .consumer import JsonWebsocketConsumer
    from .delivery import ignored_app_events
    from .demux import Multiplexer, WebsocketDemultiplexer
    from .dispatch import DispatchTable, MessageRoute, unimplemented
    from .layers import ChannelFull, ChannelLayer, InMemoryChannelLayer
    from .outbound import InvalidPayload
    from .protocol import Detail, Message, ProtocolError
    from .routing import Route, Router, route
    from .startup import HandlersMissing, require_handlers
    from .values import BigInt
    from .websocket import WebsocketConsumer
    from .worker import WorkerConsumer
    from .workerpool import WorkerPool

__all__ = [
    "CONVERTER",
    "BaseConsumer",
    "BigInt",
    "ChannelFull",
    "ChannelLayer",
    "Connection",
    "Detail",
    "DispatchTable",
    "HandlersMissing",
    "InMemoryChannelLayer",
    "InvalidPayload",
    "JsonWebsocketConsumer",
    "Message",
    "MessageRoute",
    "Multiplexer",
    "Pattern",
    "ProtocolError",
    "Route",
    "Router",
    "WebsocketConsumer",
    "WebsocketDemultiplexer",
    "WorkerConsumer",
    "WorkerPool",
    "decoder",
    "encoder",
    "ignored_app_events",
    "require_handlers",
    "route",
    "unimplemented",
]

_HOMES = {
    "BaseConsumer": ".base",
    "BigInt": ".values",
    "CONVERTER": ".codec",
    "ChannelFull": ".layers",
    "ChannelLayer": ".layers",
    "Connection": ".connection",
    "Detail": ".protocol",
    "DispatchTable": ".dispatch",
    "HandlersMissing": ".startup",
    "InMemoryChannelLayer": ".layers",
    "InvalidPayload": ".outbound",
    "JsonWebsocketConsumer": ".consumer",
    "Message": ".protocol",
    "MessageRoute": ".dispatch",
    "Multiplexer": ".demux",
    "Pattern": ".codec",
    "ProtocolError": ".protocol",
    "Route": ".routing",
    "Router": ".routing",
    "WebsocketConsumer": ".websocket",
    "WebsocketDemultiplexer": ".demux",
    "WorkerConsumer": ".worker",
    "WorkerPool": ".workerpool",
    "ignored_app_events": ".delivery",
    "decoder": ".codec",
    "encoder": ".codec",
    "require_handlers": ".startup",
    "route": ".routing",
    "unimplemented": ".dispatch",
}


__getattr__, __dir__ = lazy_attributes(globals(), _HOMES)
