"""Inbound rate limits: per consumer, set in the spec, with a retry-after, and 1008 for floods.

The guarded fixture app (tests/fixtures/guarded) sets them in its spec: ``Pinger`` allows
5 messages a second in bursts of 3 and closes a socket after one second of flooding,
``Free`` has no limit. The rules run in-process (chgen.runtime.testing); the end-to-end
tests show the same over real sockets in uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from e2e.server import ThreadServer, open_ws, recv_json, send_json
from guarded_app import guarded_routing
from websockets.exceptions import ConnectionClosed

import chgen.runtime.consumer
from chgen.runtime import Router
from chgen.runtime.testing import WebsocketClient
from generated.chat.routing import routes as chat_routes


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    with guarded_routing(Path(tmp_path_factory.mktemp("guarded-limits"))) as routing:
        yield routing


def ping(msg_id: Any, n: int = 1) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "ping", "data": {"n": n}}
    if msg_id is not None:
        frame["id"] = msg_id
    return frame


async def answers(client: WebsocketClient, count: int) -> list[dict[str, Any]]:
    return [await client.receive() for _ in range(count)]


async def test_a_burst_is_served_and_the_next_message_told_when_to_come_back(
    guarded: ModuleType,
) -> None:
    async with WebsocketClient(guarded.application, "/ping/") as client:
        for i in range(4):
            await client.send_json(ping(i))
        got = await answers(client, 4)
        assert [f["type"] for f in got] == ["ping", "ping", "ping", "error"], got
        refused = got[3]
        assert refused["id"] == 3 and refused["error"]["code"] == "rate_limited"
        retry_after = refused["error"]["retry_after_ms"]
        assert 1 <= retry_after <= 200, refused  # one token every 200 ms
        await asyncio.sleep(retry_after / 1000)
        await client.send_json(ping("again"))
        assert (await client.receive())["id"] == "again"


async def test_a_message_without_an_id_over_the_limit_gets_an_error_without_one(
    guarded: ModuleType,
) -> None:
    async with WebsocketClient(guarded.application, "/ping/") as client:
        for _ in range(3):
            await client.send_json(ping(None))
        await client.send_json(ping(None))
        error = await client.receive()
        assert error["type"] == "error" and "id" not in error, error
        assert error["error"]["code"] == "rate_limited"
        await client.expect_nothing()


@pytest.mark.scenario_timeout(15)
async def test_a_sustained_flood_is_closed_with_1008_and_one_log_line(
    guarded: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chgen")
    async with WebsocketClient(guarded.application, "/ping/", timeout=5) as client:
        deadline = time.monotonic() + 5
        sent = 0
        while client.close_code is None and time.monotonic() < deadline:
            await client.send_json(ping(sent))
            sent += 1
            # About 100 a second, against a limit of 5; frames that come back are kept.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client.closed(), 0.01)
        assert client.close_code == 1008, f"still open after {sent} messages"
    lines = [r for r in caplog.records if "with 1008" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None, caplog.text
    assert "messages refused" in lines[0].getMessage()


@pytest.mark.scenario_timeout(15)
async def test_a_client_that_backs_off_after_a_burst_is_never_closed(
    guarded: ModuleType,
) -> None:
    async with WebsocketClient(guarded.application, "/ping/") as client:
        for round_ in range(3):  # three bursts over more than the 1 s flood limit
            for i in range(6):
                await client.send_json(ping(f"{round_}-{i}"))
            got = await answers(client, 6)
            assert sum(f["type"] == "error" for f in got) >= 3, got
            await asyncio.sleep(1.2)
        await client.send_json(ping("still here"))
        assert (await client.receive())["id"] == "still here"
        assert client.close_code is None


async def test_no_limit_when_the_spec_says_none(guarded: ModuleType) -> None:
    async with WebsocketClient(guarded.application, "/free/") as client:
        for i in range(500):
            await client.send_json(ping(i))
        got = await answers(client, 500)
        assert all(f["type"] == "ping" for f in got)


async def test_each_stream_has_its_own_limit_and_stray_frames_count_for_the_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The example app keeps the default: 100 a second, bursts of 300, per stream. The
    # buckets' clock stands still, so no token comes back however slowly a loaded machine
    # runs the bursts, and the counts are exact.
    monkeypatch.setattr(chgen.runtime.consumer, "monotonic", lambda: 1000.0)
    app = Router(chat_routes)
    async with WebsocketClient(app, "/ws/limits/", timeout=5) as client:
        for i in range(320):
            await client.send("say", {"text": "x"}, stream="echo", id=i)
        got = await answers(client, 320)
        refused = [f for f in got if f["payload"]["type"] == "error"]
        assert all(f["stream"] == "echo" for f in got)
        assert len(refused) == 20, len(refused)
        assert {f["payload"]["error"]["code"] for f in refused} == {"rate_limited"}
        # The chat stream's budget is untouched by the echo stream's.
        assert "id" in await client.request("post", {"text": "hi"}, stream="chat")
        await client.event("posted", stream="chat")
        for _ in range(320):  # frames that belong to no stream
            await client.send_text("not json")
        stray = await answers(client, 320)
        codes = [f["error"]["code"] for f in stray if "error" in f]
        assert (codes.count("bad_json"), codes.count("rate_limited")) == (300, 20), codes[-5:]


# -- end to end --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_server(guarded: ModuleType) -> Iterator[ThreadServer]:
    server = ThreadServer(guarded.application).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.scenario_timeout(15)
async def test_over_a_real_socket_the_specs_limit_answers_then_closes_a_flood(
    guarded_server: ThreadServer,
) -> None:
    async with open_ws(f"{guarded_server.base_url()}/ping/") as ws:
        for i in range(4):
            await send_json(ws, ping(i))
        got = [await recv_json(ws) for _ in range(4)]
        assert got[3]["error"]["code"] == "rate_limited" and got[3]["id"] == 3, got
        deadline = time.monotonic() + 5
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() < deadline:
                await send_json(ws, ping("flood"))
                await asyncio.sleep(0.01)
                while True:  # drain what came back, without waiting
                    try:
                        await asyncio.wait_for(ws.recv(), 0.001)
                    except TimeoutError:
                        break
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
