"""Which consumers keep an app event (``AppEventHistory``), and sending one that is kept.

The end-to-end behaviour is in tests/test_kept_app_events.py; these pin the table built
from consumer classes, the positions a kept app event carries, that nothing is sent when
the store fails, and that a worker not told which consumers keep app events says so.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import pytest

from chgen.runtime import JsonWebsocketConsumer, Router, route
from chgen.runtime.appretention import AppEventHistory, send_kept_app_event
from chgen.runtime.history import HistoryUnavailable, Position, Retention
from chgen.runtime.history.memory import MemoryHistory
from chgen.runtime.layers import InMemoryChannelLayer, LayerUnavailable
from chgen.runtime.retention import stream_key
from chgen.runtime.worker import WorkerConsumer


class Ticker(JsonWebsocketConsumer):
    consumer_name = "Ticker"
    app_events: ClassVar[frozenset[str]] = frozenset({"tick", "halt"})
    group_history = (("floor.{floor}", 50, 60.0),)


class BrieflyKeptTicker(Ticker):
    """Another class of the same consumer: the first class's rules speak for the name."""

    group_history = ((None, 5, 1.0),)


class Orders(JsonWebsocketConsumer):
    consumer_name = "Orders"
    app_events: ClassVar[frozenset[str]] = frozenset({"tick"})
    group_history = ((None, 10, 5.0),)


class Unkept(JsonWebsocketConsumer):
    consumer_name = "Unkept"
    app_events: ClassVar[frozenset[str]] = frozenset({"tick"})


class Chat(JsonWebsocketConsumer):
    consumer_name = "Chat"
    group_history = ((None, 10, 5.0),)


def test_the_table_lists_the_consumers_that_list_an_event_and_keep_the_group() -> None:
    table = AppEventHistory.of([Ticker, BrieflyKeptTicker, Orders, Unkept, Chat])
    assert table.events() == ["halt", "tick"]
    assert table.keepers("tick", "floor.a") == [
        ("Ticker", Retention(50, 60.0)),
        ("Orders", Retention(10, 5.0)),
    ]
    assert table.keepers("tick", "lobby") == [("Orders", Retention(10, 5.0))], (
        "Ticker keeps only its floor groups"
    )
    assert table.keepers("halt", "lobby") == []
    assert table.keepers("said", "floor.a") == [], "not an app event anyone keeps"


def test_an_app_without_kept_app_events_has_an_empty_table_and_the_router_none() -> None:
    assert not AppEventHistory.of([Unkept, Chat])
    assert Router([route("^/$", Unkept)]).app_history is None
    router = Router([route("^/t/$", Ticker), route("^/c/$", Chat)])
    assert router.app_history is not None
    assert router.app_history.events() == ["halt", "tick"]


def test_a_kept_app_event_is_appended_to_each_stream_then_sent_once_with_each_position() -> None:
    async def scenario() -> None:
        store = MemoryHistory()
        await store.append(stream_key("Orders", "floor.a"), {"frame": "{}"}, Retention(10, 5))
        sent: list[tuple[str, dict[str, Any]]] = []

        async def group_send(group: str, message: dict[str, Any]) -> None:
            sent.append((group, message))

        table = AppEventHistory.of([Ticker, Orders])
        message = {"type": "chgen.event", "source": "@tick", "frame": '{"type":"tick"}'}
        await send_kept_app_event(
            store, group_send, "floor.a", message, table.keepers("tick", "floor.a")
        )
        ((group, out),) = sent
        ticker = await store.top(stream_key("Ticker", "floor.a"), Retention(50, 60))
        orders = await store.top(stream_key("Orders", "floor.a"), Retention(10, 5))
        assert group == "floor.a"
        assert out["kept"] == {
            "Ticker": [ticker.epoch, 1],
            "Orders": [orders.epoch, 2],
        }, "each consumer's own stream, numbered on"
        assert out["frame"] == '{"type":"tick"}', "the frame stays without pos: each adds its own"
        missed = await store.since(
            stream_key("Ticker", "floor.a"), Position(ticker.epoch, 0), Retention(50, 60)
        )
        assert [e.message for e in missed.entries] == [{"frame": '{"type":"tick"}'}]  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_a_kept_app_event_whose_store_fails_is_not_sent() -> None:
    class Down(MemoryHistory):
        async def append(self, stream: str, message: dict[str, Any], retention: Retention) -> Any:
            raise HistoryUnavailable("redis down")

    async def scenario() -> None:
        sent: list[Any] = []

        async def group_send(group: str, message: dict[str, Any]) -> None:
            sent.append(message)

        keepers = [("Ticker", Retention(5, 1.0))]
        message = {"frame": "{}"}
        with pytest.raises(LayerUnavailable, match="redis down"):
            await send_kept_app_event(Down(), group_send, "g", message, keepers)
        with pytest.raises(LayerUnavailable, match="no history store"):
            await send_kept_app_event(None, group_send, "g", message, keepers)
        assert sent == []

    asyncio.run(scenario())


class Feed(WorkerConsumer):
    consumer_name = "Feed"
    channel = "feed"


def test_a_worker_not_told_which_consumers_keep_app_events_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer()
        told = Feed(layer, app_history=AppEventHistory.of([]))
        await told.group_send_app_event("g", "tick", {})
        assert caplog.records == []
        untold = Feed(layer)
        for _ in range(3):
            await untold.group_send_app_event("g", "tick", {})

    with caplog.at_level(logging.WARNING, logger="chgen.runtime.worker"):
        asyncio.run(scenario())
    (record,) = caplog.records
    assert "Feed sends app events without keeping them in group history" in record.message
