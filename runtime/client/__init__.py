"""The typed Python client's machinery: what every generated ``client.py`` imports.

Asyncio, on the ``websockets`` library (``pip install 'chgen[client]'``); it is imported
when a client starts, so that a generated client module imports without it. The wire
protocol is the runtime's own (``chgen.runtime.protocol``), and payloads are encoded and
decoded by the runtime's converters, so both ends agree on every value. docs/client.md
describes the API beside the JavaScript client's.
"""

from __future__ import annotations

from .channel import Channel, ChgenSubscription
from .connection import Connection, ConnectionState
from .errors import ChgenError, ChgenGap
from .listeners import Listener, Unsubscribe
from .options import Auth, ClientOptions, Reconnect
from .recovery import ChgenGroupRecovery, ChgenRecovery
from .typed import ChgenClient, ChgenSocket, ChgenStream, ChgenStreamPart

__all__ = [
    "Auth",
    "Channel",
    "ChgenClient",
    "ChgenError",
    "ChgenGap",
    "ChgenGroupRecovery",
    "ChgenRecovery",
    "ChgenSocket",
    "ChgenStream",
    "ChgenStreamPart",
    "ChgenSubscription",
    "ClientOptions",
    "Connection",
    "ConnectionState",
    "Listener",
    "Reconnect",
    "Unsubscribe",
]
