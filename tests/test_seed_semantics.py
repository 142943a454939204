"""Channels' generic-consumer semantics in chgen: ordering, concurrency, users, sessions.

The seed fixture app is built, then served by uvicorn in-process and driven by websockets
clients. Ordering is observed through the order of replies, never through timings.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from e2e.server import ThreadServer, recv_json

from chgen.build import generate
from chgen.runtime import Router
from chgen.writer import write

FIXTURE = Path(__file__).parent / "fixtures" / "seed"


class User:
    def __init__(self, name: str) -> None:
        self.name = name
        self.is_authenticated = name != "anonymous"

    def __str__(self) -> str:
        return self.name


async def authenticate(scope: dict[str, Any]) -> User | None:
    """Test authenticator: ?user=<name> in the query string; no parameter, no user."""
    query = dict(part.split("=", 1) for part in scope["query_string"].decode().split("&") if part)
    return User(query["user"]) if "user" in query else None


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("seed")
    write(generate(FIXTURE / "specs"), root / "seedgen")
    for entry in (str(root), str(FIXTURE)):
        sys.path.insert(0, entry)
    routing = importlib.import_module("seedgen.seed.routing")
    yield routing
    for entry in (str(root), str(FIXTURE)):
        sys.path.remove(entry)
    for name in [m for m in sys.modules if m.startswith(("seedgen", "seed_handlers"))]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def server(app: Any) -> Iterator[ThreadServer]:
    running = ThreadServer(Router(app.routes, authenticate=authenticate)).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def bare_server(app: Any) -> Iterator[ThreadServer]:
    """The same routes with no authenticator: nothing puts a user in the scope."""
    running = ThreadServer(app.application).start()
    yield running
    running.stop()


def _job(msg_id: int, seconds: float, stream: str | None = None) -> str:
    frame = {"type": "work", "id": msg_id, "data": {"name": f"job{msg_id}", "seconds": seconds}}
    return json.dumps(frame if stream is None else {"stream": stream, "payload": frame})


async def _reply_ids(url: str, jobs: list[tuple[int, float]]) -> list[int]:
    async with websockets.connect(url) as ws:
        for msg_id, seconds in jobs:
            await ws.send(_job(msg_id, seconds))
        return [(await recv_json(ws))["id"] for _ in jobs]


async def test_strict_ordering_answers_in_arrival_order(server: ThreadServer) -> None:
    ids = await _reply_ids(f"{server.base_url()}/ordered/", [(1, 0.3), (2, 0.0), (3, 0.1)])
    assert ids == [1, 2, 3]


async def test_without_strict_ordering_a_fast_reply_overtakes_a_slow_one(
    server: ThreadServer,
) -> None:
    ids = await _reply_ids(f"{server.base_url()}/parallel/", [(1, 0.5), (2, 0.0)])
    assert ids == [2, 1]


async def test_concurrency_is_bounded_and_every_reply_keeps_its_id(server: ThreadServer) -> None:
    seeds = importlib.import_module("seed_handlers")
    seeds.RUNNING.clear()
    # max_concurrency=2: two slow jobs fill the slots, so the fast third waits for one.
    ids = await _reply_ids(f"{server.base_url()}/parallel/", [(1, 0.4), (2, 0.4), (3, 0.0)])
    assert sorted(ids) == [1, 2, 3]
    assert ids.index(3) > 0, ids  # unbounded, the instant job 3 would answer first
    assert max(seeds.RUNNING) <= 2


async def test_login_required_refuses_anonymous_sockets_at_the_handshake(
    server: ThreadServer,
) -> None:
    for query in ("", "?user=anonymous"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"{server.base_url()}/private/{query}"):
                pass
        assert refused.value.response.status_code == 403
    async with websockets.connect(f"{server.base_url()}/private/?user=ada") as ws:
        await ws.send(json.dumps({"type": "whoami", "id": 1, "data": {"name": "x"}}))
        reply = await recv_json(ws)
        assert reply["data"] == {"user": "ada", "visits": 1}


async def test_a_login_required_stream_answers_forbidden_and_the_others_still_work(
    server: ThreadServer, app: Any
) -> None:
    async with websockets.connect(f"{server.base_url()}/mixed/?user=anonymous") as ws:
        ask = {"type": "whoami", "id": 7, "data": {"name": "x"}}
        await ws.send(json.dumps({"stream": "private", "payload": ask}))
        denied = await recv_json(ws)
        assert denied == {
            "stream": "private",
            "payload": {
                "type": "error",
                "id": 7,
                "error": {"code": "forbidden", "message": "login required"},
            },
        }
        await ws.send(json.dumps({"stream": "public", "payload": ask}))
        answered = await recv_json(ws)
        assert answered["payload"]["data"] == {"user": "anonymous", "visits": 1}
    assert not app.application.layer.members("members"), "a refused stream joins no group"


async def test_the_session_lives_as_long_as_the_socket_and_is_shared_by_its_streams(
    server: ThreadServer,
) -> None:
    visits = []
    for _ in range(2):
        async with websockets.connect(f"{server.base_url()}/mixed/?user=ada") as ws:
            for stream in ("private", "public", "private"):
                ask = {"type": "whoami", "id": 1, "data": {"name": "x"}}
                await ws.send(json.dumps({"stream": stream, "payload": ask}))
                visits.append((await recv_json(ws))["payload"]["data"]["visits"])
    assert visits == [1, 2, 3, 1, 2, 3]


async def test_http_user_without_any_authenticator_is_refused_with_a_logged_reason(
    bare_server: ThreadServer, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(f"{bare_server.base_url()}/private/"):
            pass
    assert "AuthMiddlewareStack" in caplog.text


async def _ask(url: str, msg_type: str, **connect: Any) -> Any:
    async with websockets.connect(url, **connect) as ws:
        await ws.send(json.dumps({"type": msg_type, "id": 1, "data": {"name": "ada"}}))
        return await recv_json(ws)


async def test_route_attrs_change_one_route_and_leave_the_class_untouched(
    server: ThreadServer, app: Any
) -> None:
    plain = await _ask(f"{server.base_url()}/ordered/", "greet")
    french = await _ask(f"{server.base_url()}/ordered-fr/", "greet")
    assert plain["data"] == {"name": "hello ada"}
    assert french["data"] == {"name": "bonjour ada"}
    assert importlib.import_module("seed_handlers").Ordered.greeting == "hello"


async def test_spec_decorators_wrap_the_handler_and_may_refuse_with_a_structured_error(
    server: ThreadServer,
) -> None:
    guards = importlib.import_module("seed_guards")
    guards.CALLS.clear()
    refused = await _ask(f"{server.base_url()}/ordered/?user=ada", "audited")
    assert refused["error"] == {"code": "forbidden", "message": "staff only"}
    assert refused["id"] == 1
    allowed = await _ask(f"{server.base_url()}/ordered/?user=staff", "audited")
    assert allowed["data"] == {"name": "ada"}
    assert guards.CALLS == ["audited"], "the inner decorator ran only when the outer let it"


async def test_get_handler_wraps_every_handler(server: ThreadServer, app: Any) -> None:
    seeds = importlib.import_module("seed_handlers")
    seen: list[str] = []

    def get_handler(self: Any, route: Any) -> Any:
        async def wrapped(consumer: Any, data: Any) -> Any:
            seen.append(route.msg_type)
            return await route.call(consumer, data)

        return wrapped

    seeds.Ordered.get_handler = get_handler
    try:
        await _ask(f"{server.base_url()}/ordered/", "greet")
        await _ask(f"{server.base_url()}/ordered/", "work")
    finally:
        del seeds.Ordered.get_handler
    assert seen == ["greet", "work"]


async def test_connect_may_accept_with_a_subprotocol(server: ThreadServer) -> None:
    url = f"{server.base_url()}/ordered/"
    async with websockets.connect(url, subprotocols=["chgen.v1"]) as chosen:
        assert chosen.subprotocol == "chgen.v1"
    async with websockets.connect(url) as plain:
        assert plain.subprotocol is None


async def test_channels_style_layer_messages_reach_typed_layer_handlers(
    server: ThreadServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{server.base_url()}/ordered/"
    async with websockets.connect(url) as sender, websockets.connect(url) as member:
        await sender.send(json.dumps({"type": "notify", "id": 5, "data": {"text": "hi"}}))
        to_sender = [await recv_json(sender), await recv_json(sender)]
        # The invalid and unknown messages were dropped; the connection still answers.
        await member.send(json.dumps({"type": "greet", "id": 6, "data": {"name": "x"}}))
        to_member = [await recv_json(member), await recv_json(member)]
    noticed = {"type": "noticed", "data": {"text": "hi"}}
    assert noticed in to_sender and {"type": "notify", "id": 5, "data": None} in to_sender
    assert to_member == [noticed, {"type": "greet", "id": 6, "data": {"name": "hello x"}}]
    assert "dropped a layer message of unknown type 'unknown.kind'" in caplog.text
    assert "dropped an invalid 'room.notice' layer message: $.data.text" in caplog.text


def test_channel_names_lists_client_and_layer_types(app: Any) -> None:
    ordered = importlib.import_module("seed_handlers").Ordered
    assert ordered.channel_names() == ["audited", "greet", "notify", "work", "room.notice"]


async def test_a_plain_websocket_consumer_speaks_text_and_bytes(server: ThreadServer) -> None:
    url = f"{server.base_url()}/raw/"
    async with websockets.connect(url) as one, websockets.connect(url) as two:
        await one.send("hello")
        to_one = [await asyncio.wait_for(one.recv(), 5) for _ in range(2)]
        to_two = await asyncio.wait_for(two.recv(), 5)
        await two.send(b"\x00\x01\x02")
        reversed_bytes = await asyncio.wait_for(two.recv(), 5)
    assert sorted(to_one) == ["HELLO", "hello (to all)"]
    assert to_two == "hello (to all)"
    assert reversed_bytes == b"\x02\x01\x00"
