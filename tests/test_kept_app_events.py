"""App events kept in group history: a client cut off gets the app events it missed, in
their place among its consumers' own events, once each, with their positions.

Real uvicorn (in a thread, or subprocesses on Redis), real ``websockets`` clients whose
TCP connection is aborted under them, and the trading floor with history
(tests/fixtures/kept_events_app.py): ``tick`` is an app event that Orders and Ticker list
and FloorChat does not; a buy's tick comes from the Orders consumer, a sell's from the
Feed worker. The client side is ``Tracker`` (tests/test_recovery.py).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from e2e.server import (
    REPO_ROOT,
    SubprocessServer,
    ThreadServer,
    assert_silent,
    open_ws,
    recv_json,
    run,
    send_json,
)
from redis_server import RedisServer, redis_server
from test_recovery import Tracker
from websockets.asyncio.client import ClientConnection

FIXTURES = REPO_ROOT / "tests" / "fixtures"
STREAMS = ("chat", "orders", "ticker")  # the desk's streams, in the order they recover

_ids = itertools.count(1)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadServer]:
    monkeypatch.syspath_prepend(str(FIXTURES))
    from kept_events_app import make_app

    served = ThreadServer(make_app()).start()
    try:
        yield served
    finally:
        served.stop()


async def trade(orders: ClientConnection, side: str, symbol: str) -> None:
    """Send an order from a plain Orders socket and wait for its reply and for its tick
    (from the consumer for a buy, from the worker for a sell): once it is back, the
    tick was sent to the floor, and the next event comes after it."""
    msg_id = next(_ids)
    data = {"symbol": symbol, "side": side, "quantity": 1, "price": 1.5}
    await send_json(orders, {"type": "order", "id": msg_id, "data": data})
    replied = ticked = False
    for _ in range(20):
        frame = await recv_json(orders)
        replied = replied or frame.get("id") == msg_id
        ticked = ticked or (frame["type"] == "tick" and frame["data"]["symbol"] == symbol)
        if replied and ticked:
            return
    raise AssertionError(f"no reply and tick for {side} {symbol}")


async def say(chat: ClientConnection, text: str) -> None:
    """Post a line from a plain FloorChat socket and wait until it is back."""
    await send_json(chat, {"type": "say", "data": {"text": text}})
    said = await recv_json(chat)
    assert (said["type"], said["data"]) == ("said", {"text": text}), said


async def receive(ws: ClientConnection, tracker: Tracker, count: int) -> list[dict[str, Any]]:
    """The next ``count`` frames as they arrived, tracked."""
    frames = [await recv_json(ws) for _ in range(count)]
    for frame in frames:
        tracker.saw(frame)
    return frames


def events(frames: list[dict[str, Any]], stream: str) -> list[tuple[str, str, int]]:
    """(type, symbol or text, offset) of the events of ``stream`` among desk ``frames``."""
    found = []
    for frame in frames:
        payload = frame.get("payload", frame)
        if frame.get("stream") == stream and payload["type"] != "recovery":
            data = payload["data"]
            found.append((payload["type"], data.get("symbol", data.get("text")), payload["pos"][2]))
    return found


def outcome(frames: list[dict[str, Any]], stream: str) -> dict[str, Any]:
    (found,) = [
        f["payload"]["recovery"]
        for f in frames
        if f.get("stream") == stream and f["payload"]["type"] == "recovery"
    ]
    return dict(found)


async def cut_off_then_back(base: str, floor: str, while_away: Any) -> list[dict[str, Any]]:
    """A desk that saw one buy and one line, is cut off while ``while_away(orders, chat)``
    sends, and comes back: every frame it gets until the socket's recovery frame."""
    tracker = Tracker()
    async with (
        open_ws(f"{base}/orders/{floor}/") as orders,
        open_ws(f"{base}/chat/{floor}/") as chat,
    ):
        desk = await open_ws(tracker.url(base, f"/desk/{floor}/"))
        first = await receive(desk, tracker, 4)
        assert [f.get("stream") for f in first] == [*STREAMS, None], first
        await trade(orders, "buy", "SEEN")
        await say(chat, "seen")
        # filled and tick in orders, tick in ticker, said in chat
        assert len(await receive(desk, tracker, 4)) == 4
        desk.transport.abort()  # the TCP connection drops: no close frame
        await while_away(orders, chat)
        async with open_ws(tracker.url(base, f"/desk/{floor}/")) as again:
            frames: list[dict[str, Any]] = []
            while not frames or frames[-1].get("stream") is not None:
                assert len(frames) < 50, frames
                frames.append(await recv_json(again))
                tracker.saw(frames[-1])
            await trade(orders, "buy", "LIVE")
            live = await receive(again, tracker, 3)
            assert sorted(
                (f["stream"], f["payload"]["type"], f["payload"]["pos"][2]) for f in live
            ) == [("orders", "filled", 8), ("orders", "tick", 9), ("ticker", "tick", 5)], live
            await assert_silent(again)
    return frames


async def away(orders: ClientConnection, chat: ClientConnection) -> None:
    await trade(orders, "buy", "ONE")  # filled and tick from the Orders consumer
    await say(chat, "between")
    await trade(orders, "sell", "TWO")  # the tick from the Feed worker
    await trade(orders, "buy", "THREE")


def check_replay(frames: list[dict[str, Any]]) -> None:
    assert events(frames, "orders") == [
        ("filled", "ONE", 3),
        ("tick", "ONE", 4),
        ("tick", "TWO", 5),
        ("filled", "THREE", 6),
        ("tick", "THREE", 7),
    ], "the app events in their place among the consumer's own, numbered on, once each"
    ticks = [("tick", "ONE", 2), ("tick", "TWO", 3), ("tick", "THREE", 4)]
    assert events(frames, "ticker") == ticks
    assert events(frames, "chat") == [("said", "between", 2)], "no tick, and no hole"
    for stream, replayed in (("chat", 1), ("orders", 5), ("ticker", 3)):
        groups = outcome(frames, stream)["groups"]
        (group,) = groups.values()
        assert (group["recovered"], group["replayed"]) == (True, replayed), (stream, groups)
    assert frames[-1] == {"type": "recovery", "recovery": {"recovered": True}}


def test_a_desk_cut_off_gets_the_app_events_it_missed_among_its_own_events(
    server: ThreadServer,
) -> None:
    frames = run(cut_off_then_back(server.base_url(), "away", away))
    check_replay(frames)


def test_app_events_carry_each_consumer_s_own_position_and_skip_those_that_do_not_list_them(
    server: ThreadServer,
) -> None:
    async def scenario() -> None:
        base = server.base_url()
        async with (
            open_ws(f"{base}/orders/plain/") as orders,
            open_ws(f"{base}/ticker/plain/") as ticker,
            open_ws(f"{base}/chat/plain/") as chat,
        ):
            await trade(orders, "buy", "A")
            await trade(orders, "sell", "B")
            ticks = [await recv_json(ticker) for _ in range(2)]
            assert [(t["data"]["symbol"], t["pos"][::2]) for t in ticks] == [
                ("A", ["floor.plain", 1]),
                ("B", ["floor.plain", 2]),
            ], "a client that does not ask for recovery gets pos too"
            await assert_silent(chat)
            await say(chat, "only mine")
            await assert_silent(ticker)

    run(scenario())


def test_a_socket_of_one_consumer_recovers_the_app_events_it_missed(server: ThreadServer) -> None:
    async def scenario() -> None:
        base, tracker = server.base_url(), Tracker()
        async with open_ws(f"{base}/orders/alone/") as orders:
            ticker = await open_ws(tracker.url(base, "/ticker/alone/"))
            await receive(ticker, tracker, 1)
            await trade(orders, "buy", "SEEN")
            await receive(ticker, tracker, 1)
            ticker.transport.abort()
            await trade(orders, "sell", "WORKER")
            await trade(orders, "buy", "CONSUMER")
            async with open_ws(tracker.url(base, "/ticker/alone/")) as again:
                replay = await receive(again, tracker, 3)
                ticks = [(f["data"]["symbol"], f["pos"][2]) for f in replay[:2]]
                assert ticks == [("WORKER", 2), ("CONSUMER", 3)]
                group = replay[2]["recovery"]["groups"]["floor.alone"]
                assert (replay[2]["recovery"]["recovered"], group["replayed"]) == (True, 2)
                await trade(orders, "sell", "LIVE")
                (live,) = await receive(again, tracker, 1)
                assert (live["data"]["symbol"], live["pos"][2]) == ("LIVE", 4)
                await assert_silent(again)

    run(scenario())


def test_app_events_sent_during_the_replay_come_after_it_once_each(server: ThreadServer) -> None:
    async def scenario() -> None:
        base, tracker = server.base_url(), Tracker()
        async with open_ws(f"{base}/orders/busy/") as orders:
            desk = await open_ws(tracker.url(base, "/desk/busy/"))
            await receive(desk, tracker, 4)
            await desk.close()
            for n in range(10):
                await trade(orders, "buy" if n % 3 else "sell", f"AWAY{n}")

            async def keep_trading() -> None:
                for n in range(15):
                    await trade(orders, "buy" if n % 3 else "sell", f"DURING{n}")

            trading = asyncio.create_task(keep_trading())
            async with open_ws(tracker.url(base, "/desk/busy/")) as again:
                await trading
                # orders: filled and tick a buy, tick a sell; ticker: tick each
                buys = sum(1 for n in range(10) if n % 3) + sum(1 for n in range(15) if n % 3)
                frames = await receive(again, tracker, 25 + buys + 25 + 3 + 1)
                for stream, count in (("orders", 25 + buys), ("ticker", 25)):
                    offsets = [o for _, _, o in events(frames, stream)]
                    assert offsets == list(range(1, count + 1)), (stream, offsets)
                symbols = [s for _, s, _ in events(frames, "ticker")]
                assert symbols == [f"AWAY{n}" for n in range(10)] + [
                    f"DURING{n}" for n in range(15)
                ], "in send order"
                assert outcome(frames, "ticker")["recovered"] is True
                await assert_silent(again)

    run(scenario())


# -- Redis: two server processes, the history in Redis Streams ------------------------


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def test_a_desk_cut_off_from_one_process_recovers_its_app_events_on_the_other(
    redis: RedisServer,
) -> None:
    paths = [str(FIXTURES), str(FIXTURES / "djangoproject"), str(REPO_ROOT)]
    env = {
        "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
        "CHGEN_REDIS_URL": redis.url,
        "CHGEN_REDIS_PREFIX": f"kept-{uuid.uuid4().hex[:8]}:",
    }
    servers = [SubprocessServer("kept_events_redis_app:application", env=env) for _ in (0, 1)]
    try:
        for server in servers:
            server.start()
        first, second = (s.base_url() for s in servers)

        async def scenario() -> list[dict[str, Any]]:
            floor = f"two-{uuid.uuid4().hex[:8]}"
            tracker = Tracker()
            async with (
                open_ws(f"{first}/orders/{floor}/") as orders,
                open_ws(f"{first}/chat/{floor}/") as chat,
            ):
                desk = await open_ws(tracker.url(first, f"/desk/{floor}/"))
                await receive(desk, tracker, 4)
                await trade(orders, "buy", "SEEN")
                await say(chat, "seen")
                assert len(await receive(desk, tracker, 4)) == 4
                desk.transport.abort()
                await away(orders, chat)
                async with open_ws(tracker.url(second, f"/desk/{floor}/")) as again:
                    frames = await receive(again, tracker, 9 + 4)
                    await assert_silent(again)
                    return frames

        check_replay(run(scenario(), timeout=40))
    except BaseException:
        for number, server in enumerate(servers):
            print(f"--- process {number} ---\n{server.output()[-4000:]}")
        raise
    finally:
        for server in servers:
            server.close()


def test_a_chgen_worker_process_keeps_the_app_events_it_sends(redis: RedisServer) -> None:
    """The worker runs in a ``chgen worker`` process of its own, which learns from the
    app's routing which consumers keep ``tick``, and keeps it in the servers' Redis."""
    from test_workers_redis import WorkerProcess

    paths = [str(FIXTURES), str(FIXTURES / "djangoproject"), str(REPO_ROOT)]
    prefix = f"kept-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
        "CHGEN_REDIS_URL": redis.url,
        "CHGEN_REDIS_PREFIX": prefix,
        "CHGEN_KEPT_WORKER": "0",
    }
    server = SubprocessServer("kept_events_redis_app:application", env=env)
    args = ["chgen", "worker", "kept_floor", "--redis", redis.url, "--prefix", prefix]
    worker = None
    try:
        server.start()
        worker = WorkerProcess(REPO_ROOT, env, args, "reads channel 'feed'")
        base, floor, tracker = server.base_url(), f"w-{uuid.uuid4().hex[:8]}", Tracker()

        async def scenario() -> None:
            async with open_ws(f"{base}/orders/{floor}/") as orders:
                ticker = await open_ws(tracker.url(base, f"/ticker/{floor}/"))
                await receive(ticker, tracker, 1)
                await trade(orders, "sell", "SEEN")
                await receive(ticker, tracker, 1)
                ticker.transport.abort()
                await trade(orders, "sell", "AWAY")
                async with open_ws(tracker.url(base, f"/ticker/{floor}/")) as again:
                    tick, recovery = await receive(again, tracker, 2)
                    assert (tick["data"]["symbol"], tick["pos"][2]) == ("AWAY", 2), tick
                    assert recovery["recovery"]["recovered"] is True, recovery
                    await assert_silent(again)

        run(scenario(), timeout=40)
        assert "not kept" not in worker.output()
    except BaseException:
        print(f"--- server ---\n{server.output()[-4000:]}")
        if worker is not None:
            print(f"--- worker ---\n{worker.output()[-4000:]}")
        raise
    finally:
        if worker is not None:
            worker.close()
        server.close()
