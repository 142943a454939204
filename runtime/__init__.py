"""chgen's ASGI runtime: the small library generated apps import.

It depends on attrs, cattrs, annotated-types and orjson only; never on the generator.
"""

from .codec import CONVERTER, Pattern, decoder, encoder
from .connection import Connection
from .consumer import JsonWebsocketConsumer
from .demux import Multiplexer, WebsocketDemultiplexer
from .dispatch import DispatchTable, MessageRoute, unimplemented
from .layers import ChannelFull, ChannelLayer, InMemoryChannelLayer
from .protocol import Detail, Message, ProtocolError
from .routing import HandlersMissing, Route, Router, route

__all__ = [
    "CONVERTER",
    "ChannelFull",
    "ChannelLayer",
    "Connection",
    "Detail",
    "DispatchTable",
    "HandlersMissing",
    "InMemoryChannelLayer",
    "JsonWebsocketConsumer",
    "Message",
    "MessageRoute",
    "Multiplexer",
    "Pattern",
    "ProtocolError",
    "Route",
    "Router",
    "WebsocketDemultiplexer",
    "decoder",
    "encoder",
    "route",
    "unimplemented",
]
