"""App events end to end: the trading floor (specs/trading.py) over real uvicorn and sockets.

``tick`` is an app event. Orders sends it to a floor whose members run Ticker, Orders
and FloorChat on their own routes, and all three behind the Desk demultiplexer: every
member whose consumer lists ``tick`` gets it in its own stream (a desk twice, once per
stream that lists it), FloorChat's sockets get nothing, and the server counts them. The
same holds across two processes on one Redis server, and through the generated TS and
Python clients.
A worker sends an app event with its own typed helper (tests/fixtures/appevents).
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Awaitable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from e2e.server import (
    RECV_TIMEOUT,
    REPO_ROOT,
    SubprocessServer,
    ThreadServer,
    assert_silent,
    open_ws,
    recv_json,
    recv_many,
    run,
    send_json,
)
from redis_server import RedisServer, redis_server

import chgen.runtime
from chgen.build import generate
from chgen.cli import main
from chgen.runtime import JsonWebsocketConsumer
from chgen.writer import write
from generated.trading import routing as trading_routing
from generated.trading.client import DeskClient, OrdersSocket, desk_url, orders_url
from generated.trading.payloads import Order, Tick
from prereq import require_executable
from tsc import tsc

_floors = itertools.count(1)


def _floor() -> str:
    return f"floor-{next(_floors)}"


def order(msg_id: int, symbol: str, price: float) -> dict[str, Any]:
    data = {"symbol": symbol, "side": "buy", "quantity": 5, "price": price}
    return {"type": "order", "id": msg_id, "data": data}


def tick(symbol: str, price: float) -> dict[str, Any]:
    return {"type": "tick", "data": {"symbol": symbol, "price": price}}


def in_stream(stream: str, frame: dict[str, Any]) -> dict[str, Any]:
    return {"stream": stream, "payload": frame}


async def _one_sender_three_consumers(base: str) -> None:
    floor = _floor()
    async with (
        open_ws(f"{base}/ticker/{floor}/") as ticker,
        open_ws(f"{base}/orders/{floor}/") as orders,
        open_ws(f"{base}/chat/{floor}/") as chat,
        open_ws(f"{base}/desk/{floor}/") as desk,
        open_ws(f"{base}/ticker/elsewhere-{floor}/") as other_floor,
    ):
        await send_json(orders, order(1, "ACME", 9.5))
        frames = await recv_many(orders, 3)
        assert tick("ACME", 9.5) in frames, frames
        assert await recv_json(ticker) == tick("ACME", 9.5)
        at_desk = await recv_many(desk, 3)
        assert in_stream("ticker", tick("ACME", 9.5)) in at_desk, at_desk
        assert in_stream("orders", tick("ACME", 9.5)) in at_desk, at_desk
        assert [f["payload"]["type"] for f in at_desk].count("filled") == 1, at_desk
        # FloorChat does not list tick, and its own events still arrive in order after.
        await send_json(chat, {"type": "say", "data": {"text": "quiet day"}})
        assert await recv_json(chat) == {"type": "said", "data": {"text": "quiet day"}}
        assert in_stream("chat", {"type": "said", "data": {"text": "quiet day"}}) == (
            await recv_json(desk)
        )
        await assert_silent(other_floor)
        await assert_silent(ticker)


def test_an_app_event_reaches_every_member_whose_consumer_lists_it() -> None:
    server = SubprocessServer("generated.trading.routing:application").start()
    try:
        run(_one_sender_three_consumers(server.base_url()))
    finally:
        server.close()


async def _ignored_by_chat(base: str, chats: int) -> None:
    floor = _floor()
    async with open_ws(f"{base}/orders/{floor}/") as orders:
        sockets = [open_ws(f"{base}/chat/{floor}/") for _ in range(chats)]
        opened = [await s.__aenter__() for s in sockets]
        try:
            for msg_id in (1, 2):
                await send_json(orders, order(msg_id, "ACME", 10.0 + msg_id))
                await recv_many(orders, 3)  # filled, tick and the reply
            for chat in opened:
                await assert_silent(chat, 0.1)
        finally:
            for s in sockets:
                await s.__aexit__(None, None, None)


def test_members_that_do_not_list_an_app_event_ignore_it_and_are_counted() -> None:
    before = chgen.runtime.ignored_app_events().get("tick", 0)
    server = ThreadServer(trading_routing.application).start()
    try:
        run(_ignored_by_chat(server.base_url(), chats=3))
    finally:
        server.stop()
    # Two ticks, each ignored by three FloorChat sockets; the Orders socket took both.
    assert chgen.runtime.ignored_app_events().get("tick", 0) - before == 6


class HookedTicker(trading_routing.Ticker):
    """A Ticker with a delivery hook of its own, so the socket cannot forward its events."""

    def deliver_group_event(self, message: dict[str, Any]) -> Awaitable[None]:
        return super().deliver_group_event(message)


class HookedDesk(trading_routing.Desk):
    """The desk, its ticker stream with a hook, its orders stream forwarding as before."""

    consumers: ClassVar[Mapping[str, type[JsonWebsocketConsumer]]] = {
        **trading_routing.Desk.consumers,
        "ticker": HookedTicker,
    }


async def _ticks_at_a_hooked_desk(base: str) -> None:
    floor = _floor()
    async with (
        open_ws(f"{base}/desk/{floor}/") as desk,
        open_ws(f"{base}/orders/{floor}/") as orders,
    ):
        await send_json(orders, order(1, "ACME", 9.5))
        await recv_many(orders, 3)
        at_desk = await recv_many(desk, 3)
        assert in_stream("ticker", tick("ACME", 9.5)) in at_desk, at_desk
        assert in_stream("orders", tick("ACME", 9.5)) in at_desk, at_desk
        await assert_silent(desk)


def test_an_app_event_reaches_a_stream_with_a_hook_beside_one_that_forwards() -> None:
    """Two streams of a socket list tick: the one that forwards must not take it alone."""
    app = chgen.runtime.Router(
        [
            chgen.runtime.route("^/desk/(?P<floor>[a-z0-9-]+)/$", HookedDesk),
            chgen.runtime.route("^/orders/(?P<floor>[a-z0-9-]+)/$", trading_routing.Orders),
        ]
    )
    server = ThreadServer(app).start()
    try:
        run(_ticks_at_a_hooked_desk(server.base_url()))
    finally:
        server.stop()


def _errors(tmp_path: Path, body: str) -> list[str]:
    """The ``Error:`` lines and hints of a build of a small spec module; nothing written."""
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "app.py").write_text(_SPEC_HEAD + textwrap.dedent(body))
    result = CliRunner().invoke(main, ["build", str(specs), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert not (tmp_path / "out").exists()
    return [line.strip() for line in result.output.splitlines() if line[:1] in (" ", "E")]


_SPEC_HEAD = """\
from chgen.spec import App, JsonWebsocketConsumer, payload, route

@payload
class Tick:
    price: float

@payload
class Quote:
    price: float
"""


def test_a_consumer_sending_an_app_event_with_another_payload_is_refused(tmp_path: Path) -> None:
    lines = _errors(
        tmp_path,
        """
        ticker = JsonWebsocketConsumer("Ticker", sends={"tick": Quote})
        app = App("demo", routes=[route("^/$", ticker)], handlers="h", events={"tick": Tick})
        """,
    )
    assert '$.sends["tick"]' in lines[0], lines
    assert "'tick' is an app event with payload Tick, but Ticker sends it with Quote" in lines[0]
    assert lines[1] == "send it with Tick, or give this event another name"


def test_an_app_event_no_consumer_lists_is_refused_with_the_line_to_add(tmp_path: Path) -> None:
    lines = _errors(
        tmp_path,
        """
        ticker = JsonWebsocketConsumer("Ticker", sends={"quote": Quote})
        app = App("demo", routes=[route("^/$", ticker)], handlers="h", events={"tick": Tick})
        """,
    )
    assert '$.events["tick"]' in lines[0], lines
    assert "no consumer lists app event 'tick' in its sends" in lines[0]
    assert lines[1] == 'add "tick": Tick to the sends of the consumers whose clients receive it'


def test_an_app_event_is_named_like_any_event(tmp_path: Path) -> None:
    lines = _errors(
        tmp_path,
        """
        ticker = JsonWebsocketConsumer("Ticker", sends={"tick": Tick})
        app = App("demo", routes=[route("^/$", ticker)], handlers="h",
                  events={"Tick": Tick, "tick": Tick, "frame": Quote})
        """,
    )
    text = "\n".join(lines)
    assert "$.events[\"Tick\"]: event 'Tick' is not a valid name" in text, text
    assert "$.events[\"frame\"]: event 'frame' would generate group_send_frame()" in text, text
    assert "'tick'" not in text, text


@pytest.fixture(scope="module", params=["client.js", "client.ts"])
def trading_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The trading client the Node test imports: shipped client.js, or client.ts via tsc."""
    if request.param == "client.js":
        return "generated/trading/client.js"
    out = tmp_path_factory.mktemp("trading-ts")
    compiled = tsc(
        "--target", "ES2022", "--module", "ES2022", "--moduleResolution", "bundler",
        "--skipLibCheck", "--outDir", str(out), "generated/trading/client.ts",
        cwd=REPO_ROOT,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (out / "package.json").write_text('{"type": "module"}\n')
    return str(out / "client.js")


def test_the_typescript_client_gets_an_app_event_in_each_stream_that_lists_it(
    trading_client: str,
) -> None:
    node = require_executable("node", "Node.js runs the generated client's end-to-end tests")
    if not (REPO_ROOT / "node_modules" / "ws" / "package.json").is_file():
        message = "node_modules/ws is missing (run npm ci)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI must provide it", pytrace=False)
        pytest.skip(message)
    server = SubprocessServer("generated.trading.routing:application").start()
    try:
        completed = subprocess.run(
            [node, "--test", "--test-reporter=spec", "tests/client/app_events_e2e.test.mjs"],
            cwd=REPO_ROOT,
            env={**os.environ, "CHGEN_URL": server.base_url(), "CHGEN_CLIENT": trading_client},
            capture_output=True,
            text=True,
            timeout=45,
        )
    finally:
        server.close()
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


async def _across_processes(first: str, second: str) -> None:
    floor = _floor()
    async with (
        open_ws(f"{first}/orders/{floor}/") as orders,  # process 0 sends
        open_ws(f"{second}/ticker/{floor}/") as ticker,  # process 1
        open_ws(f"{second}/desk/{floor}/") as desk,  # process 1
        open_ws(f"{second}/chat/{floor}/") as chat,  # process 1
    ):
        await send_json(orders, order(1, "ACME", 12.25))
        assert tick("ACME", 12.25) in await recv_many(orders, 3)
        assert await recv_json(ticker) == tick("ACME", 12.25)
        at_desk = await recv_many(desk, 3)
        assert in_stream("ticker", tick("ACME", 12.25)) in at_desk, at_desk
        assert in_stream("orders", tick("ACME", 12.25)) in at_desk, at_desk
        await assert_silent(chat)


@pytest.mark.parametrize("kind", ["core", "pubsub"])
def test_an_app_event_crosses_processes_through_redis(redis: RedisServer, kind: str) -> None:
    fixture = REPO_ROOT / "tests" / "fixtures" / "djangoproject"
    env = {
        "PYTHONPATH": os.pathsep.join([str(fixture), str(REPO_ROOT)]),
        "CHGEN_REDIS_URL": redis.url,
        "CHGEN_REDIS_LAYER": kind,
        "CHGEN_REDIS_PREFIX": f"appevents-{kind}-{uuid.uuid4().hex[:8]}:",
    }
    servers = [SubprocessServer("trading_redis_app:application", env=env) for _ in range(2)]
    try:
        for server in servers:
            server.start()
        run(_across_processes(servers[0].base_url(), servers[1].base_url()))
    except BaseException:
        print("\n".join(s.output()[-5_000:] for s in servers))
        raise
    finally:
        for server in servers:
            server.close()


FEED = REPO_ROOT / "tests" / "fixtures" / "appevents"


@pytest.fixture(scope="module")
def feed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The fixture app of tests/fixtures/appevents, generated into a temporary package:
    its ``application`` runs the Feed worker beside the sockets."""
    root = tmp_path_factory.mktemp("feed")
    write(generate(FEED / "specs"), root / "feedgen")
    for entry in (str(root), str(FEED)):
        sys.path.insert(0, entry)
    try:
        yield importlib.import_module("feedgen.feed.routing").application
    finally:
        for entry in (str(root), str(FEED)):
            sys.path.remove(entry)
        for name in [m for m in sys.modules if m.startswith(("feedgen", "feed_handlers"))]:
            del sys.modules[name]


async def _worker_sends_a_tick(base: str) -> None:
    floor = _floor()
    async with (
        open_ws(f"{base}/desk/{floor}/") as desk,
        open_ws(f"{base}/chat/{floor}/") as chat,
    ):
        quote = {"floor": floor, "symbol": "ACME", "price": 7.5}
        await send_json(desk, in_stream("ticker", {"type": "publish", "id": 1, "data": quote}))
        frames = await recv_many(desk, 2)  # the reply, then the worker's tick
        assert in_stream("ticker", {"type": "publish", "id": 1, "data": None}) in frames
        assert in_stream("ticker", tick("ACME", 7.5)) in frames, frames
        await assert_silent(desk)  # the desk's chat stream does not list tick
        await assert_silent(chat)


def test_a_worker_sends_an_app_event_with_its_typed_helper(feed_app: Any) -> None:
    before = chgen.runtime.ignored_app_events().get("tick", 0)
    server = ThreadServer(feed_app).start()
    try:
        run(_worker_sends_a_tick(server.base_url()))
    finally:
        server.stop()
    assert chgen.runtime.ignored_app_events().get("tick", 0) - before == 1  # the chat socket


async def _through_the_python_client(base: str) -> None:
    floor = _floor()
    async with (
        OrdersSocket(orders_url(base, floor=floor)) as orders,
        DeskClient(desk_url(base, floor=floor)) as desk,
    ):
        at_ticker, at_orders = desk.ticker.events.tick(), desk.orders.events.tick()
        await asyncio.wait_for(desk.opened(), RECV_TIMEOUT)
        order = Order(symbol="ACME", side="sell", quantity=2, price=4.25)
        await asyncio.wait_for(orders.request.order(order), RECV_TIMEOUT)
        expected = Tick(symbol="ACME", price=4.25)
        assert await asyncio.wait_for(anext(at_ticker), RECV_TIMEOUT) == expected
        assert await asyncio.wait_for(anext(at_orders), RECV_TIMEOUT) == expected


def test_the_python_client_gets_an_app_event_in_each_stream_that_lists_it() -> None:
    server = SubprocessServer("generated.trading.routing:application").start()
    try:
        run(_through_the_python_client(server.base_url()))
    finally:
        server.close()
