"""Handlers of the example trading floor (spec: specs/trading.py)."""

import itertools

from generated.trading.consumers import FloorChatBase, OrdersBase, TickerBase
from generated.trading.payloads import Filled, Order, OrderAck, Said, Say, Tick

# Order ids are per process; an app that scales out would take them from its store.
_order_ids = itertools.count(1)


class Ticker(TickerBase):
    """Receives the floor's ticks; its clients send nothing."""


class Orders(OrdersBase):
    async def order(self, data: Order) -> OrderAck:
        order_id = next(_order_ids)
        floor = f"floor.{self.kwargs['floor']}"
        filled = Filled(
            order=order_id, symbol=data.symbol, quantity=data.quantity, price=data.price
        )
        await self.group_send_filled(floor, filled)
        # An app event: every member of the floor whose consumer lists tick gets it.
        await self.group_send_tick(floor, Tick(symbol=data.symbol, price=data.price))
        return OrderAck(order=order_id)


class FloorChat(FloorChatBase):
    async def say(self, data: Say) -> None:
        await self.group_send_said(f"floor.{self.kwargs['floor']}", Said(text=data.text))
