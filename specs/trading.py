"""The example trading floor: app-wide events across the consumers of one floor.

A ``tick`` is an app event: the Orders consumer sends one to the floor's group whenever
an order trades, and every member of the group whose consumer lists ``tick`` in its
sends receives it, the Ticker's sockets as well as the Orders'. The floor's Chat does
not list it, so its sockets ignore ticks (and the runtime counts them).
"""

from typing import Annotated, Literal

from annotated_types import Gt, MaxLen, MinLen

from chgen.spec import App, Handler, JsonWebsocketConsumer, WebsocketDemultiplexer, payload, route

Symbol = Annotated[str, MinLen(1), MaxLen(12)]


@payload
class Tick:
    """The last trade of a symbol on the floor."""

    symbol: Symbol
    price: float


@payload
class Order:
    """An order to trade, filled at once at its limit price."""

    symbol: Symbol
    side: Literal["buy", "sell"]
    quantity: Annotated[int, Gt(0)]
    price: Annotated[float, Gt(0)]


@payload
class Filled:
    """An order of the floor was filled."""

    order: int
    symbol: Symbol
    quantity: int
    price: float


@payload
class OrderAck:
    """The server filled the order and gave it this id."""

    order: int


@payload
class Say:
    """A line typed into the floor's chat."""

    text: Annotated[str, MinLen(1), MaxLen(500)]


@payload
class Said:
    """A line of the floor's chat, as everyone on the floor sees it."""

    text: str


FLOOR = "floor.{floor}"

ticker = JsonWebsocketConsumer("Ticker", sends={"tick": Tick}, connection_groups=[FLOOR])

orders = JsonWebsocketConsumer(
    "Orders",
    method_mapping={"order": Handler(Order, reply=OrderAck)},
    sends={"filled": Filled, "tick": Tick},
    connection_groups=[FLOOR],
)

chat = JsonWebsocketConsumer(
    "FloorChat",
    method_mapping={"say": Handler(Say)},
    sends={"said": Said},
    connection_groups=[FLOOR],
)

desk = WebsocketDemultiplexer("Desk", consumers={"ticker": ticker, "orders": orders, "chat": chat})

FLOOR_PATH = "(?P<floor>[a-z0-9-]+)/$"

app = App(
    "trading",
    routes=[
        route(f"^/desk/{FLOOR_PATH}", desk),
        ticker.as_route(f"^/ticker/{FLOOR_PATH}"),
        orders.as_route(f"^/orders/{FLOOR_PATH}"),
        chat.as_route(f"^/chat/{FLOOR_PATH}"),
    ],
    handlers="handlers.trading",
    events={"tick": Tick},
)
