"""chgen's ASGI runtime: the small library generated apps import.

It depends on attrs, cattrs, annotated-types and orjson only; never on the generator.
"""

from .base import BaseConsumer
from .codec import CONVERTER, Pattern, decoder, encoder
from .connection import Connection
from .consumer import JsonWebsocketConsumer
from .demux import Multiplexer, WebsocketDemultiplexer
from .dispatch import DispatchTable, MessageRoute, unimplemented
from .layers import ChannelFull, ChannelLayer, InMemoryChannelLayer
from .protocol import Detail, Message, ProtocolError
from .routing import HandlersMissing, Route, Router, route
from .websocket import WebsocketConsumer

__all__ = [
    "CONVERTER",
    "BaseConsumer",
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
    "WebsocketConsumer",
    "WebsocketDemultiplexer",
    "decoder",
    "encoder",
    "route",
    "unimplemented",
]
