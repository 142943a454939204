"""Group delivery: what reaches a socket through the channel layer, apart from its I/O.

``Delivery`` (one per socket, ``Connection.delivery``) is the whole interface. Consumers
join and leave groups through it, number the group events they send (``stamp``) and say
which of them the socket may write itself (``forward``); the ASGI side hands it the
socket's ``send``, sets where layer messages go, says when the socket closed and
releases it at the end. Inside, one concept a module:

* ``membership``: ``Delivery``, the groups joined and the interface, over
* ``inbox``: the socket's layer channel and how what arrives on it is delivered;
* ``pump``: reading a channel of a layer without the watch extension;
* ``eager``: a delivery's first step run at once, inside the sender's ``group_send``;
* ``forwarding``: forward tables, shared by the sockets of a room;
* ``gaps`` and ``watermarks``: group events the layer lost, counted and reported.

This package imports only the layer interface and the close codes of the runtime: never
the consumers, the ASGI adapter or the protocol core.
"""

from .eager import NOTHING
from .forwarding import GROUP_EVENT
from .inbox import LayerHandler, Send, Socket
from .membership import Delivery

__all__ = ["GROUP_EVENT", "NOTHING", "Delivery", "LayerHandler", "Send", "Socket"]
