"""Group delivery: what reaches a socket through the channel layer, apart from its I/O.

``Delivery`` (one per socket, ``Connection.delivery``) is the whole interface. Consumers
join and leave groups through it, number the group events they send (``stamp``) and say
which of them the socket may write itself (``forward``); the ASGI side hands it the
socket's ``send``, sets where layer messages go, says when the socket closed and
releases it at the end. Inside, one concept a module:

* ``membership``: ``Delivery``, the groups joined and the interface, over
* ``inbox``: the socket's layer channel, how what arrives on it is delivered, and what
  becomes of a socket that stops reading;
* ``relay``: a layer without the watch extension (channels_redis), read once per group
  and process, and its outages; ``pump``: reading one of its channels;
* ``eager``: a delivery's first step run at once, inside the sender's ``group_send``;
* ``forwarding``: forward tables, shared by the sockets of a room;
* ``appevents``: the source of an app event, the key of its positions when it is kept,
  and the count of those no consumer took;
* ``gaps`` and ``watermarks``: group events the layer lost, counted and reported.

This package imports only the layer interface and the close codes of the runtime: never
the consumers, the ASGI adapter or the protocol core.
"""

from .appevents import (
    KEPT,
    AppEventKeepers,
    app_event_message,
    app_event_source,
    ignored,
    ignored_app_events,
)
from .eager import NOTHING
from .forwarding import BY_HANDLER, GROUP_EVENT
from .inbox import SLOW, STALL_TIMEOUT, GapHandler, LayerHandler, Send, Socket
from .membership import Delivery, relay_for
from .relay import LOST, OUTAGE, OUTAGE_TIMEOUT, Relay

__all__ = [
    "BY_HANDLER",
    "GROUP_EVENT",
    "KEPT",
    "LOST",
    "NOTHING",
    "OUTAGE",
    "OUTAGE_TIMEOUT",
    "SLOW",
    "STALL_TIMEOUT",
    "AppEventKeepers",
    "Delivery",
    "GapHandler",
    "LayerHandler",
    "Relay",
    "Send",
    "Socket",
    "app_event_message",
    "app_event_source",
    "ignored",
    "ignored_app_events",
    "relay_for",
]
