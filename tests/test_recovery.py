"""Recovery end to end: a client whose connection is cut gets exactly the group events it
missed, in order, then live ones; when it cannot, it is told why, per stream and group.

Real uvicorn (in a thread, or a subprocess for restarts), real ``websockets`` clients whose
TCP connection is aborted under them, and the chat app with group history
(tests/fixtures/recovery_app.py) on the in-memory layer and its in-process store. The
client side is ``Tracker``: what any client that follows docs/protocol.md keeps.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Iterator
from typing import Any

import orjson
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
from websockets.asyncio.client import ClientConnection

from chgen.runtime.positions import MAX_TOKEN

FIXTURES = REPO_ROOT / "tests" / "fixtures"


class Tracker:
    """A client's positions: per stream and group, the epoch and offset of the last event
    seen, from events' ``pos`` and ``recovery`` frames; and the token that presents them."""

    def __init__(self) -> None:
        self.positions: dict[str, dict[str, list[Any]]] = {}

    def token(self) -> str:
        if not self.positions:
            return ""
        data = orjson.dumps(self.positions)
        return "1." + base64.urlsafe_b64encode(data).decode().rstrip("=")

    def url(self, base: str, path: str) -> str:
        return f"{base}{path}?recover={self.token()}"

    def saw(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Track ``frame`` (as it arrived); return its payload."""
        stream = frame.get("stream", "")
        payload: dict[str, Any] = frame["payload"] if "stream" in frame else frame
        if "pos" in payload:
            group, epoch, offset = payload["pos"]
            old = self.positions.setdefault(stream, {}).get(group)
            if old is None or old[0] != epoch or old[1] < offset:  # the highest of an epoch
                self.positions[stream][group] = [epoch, offset]
        groups = payload.get("recovery", {}).get("groups")
        if payload["type"] == "recovery" and groups is not None:
            old = self.positions.get(stream, {})
            self.positions[stream] = {
                g: [o["epoch"], o["offset"]] if "epoch" in o else old[g] for g, o in groups.items()
            }
        return payload


async def receive(ws: ClientConnection, tracker: Tracker, count: int) -> list[dict[str, Any]]:
    return [tracker.saw(await recv_json(ws)) for _ in range(count)]


async def post(ws: ClientConnection, text: str, stream: str | None = "chat") -> None:
    """Post ``text`` and wait for its ack (skipping the events that come meanwhile)."""
    message = {"type": "post", "id": text, "data": {"text": text}}
    await send_json(ws, message if stream is None else {"stream": stream, "payload": message})
    for _ in range(100):
        frame = await recv_json(ws)
        payload = frame["payload"] if stream is not None else frame
        if payload.get("id") == text:
            assert payload["type"] == "post", payload
            return
    raise AssertionError(f"no ack for {text!r}")


def texts(payloads: list[dict[str, Any]]) -> list[str]:
    return [p["data"]["text"] for p in payloads if p["type"] == "posted"]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadServer]:
    monkeypatch.syspath_prepend(str(FIXTURES))
    from recovery_app import make_app

    served = ThreadServer(make_app()).start()
    try:
        yield served
    finally:
        served.stop()


async def joined(base: str, path: str, tracker: Tracker, frames: int = 2) -> ClientConnection:
    """A client asking for recovery, past its recovery frames (2 on the lobby)."""
    ws = await open_ws(tracker.url(base, path))
    first = await receive(ws, tracker, frames)
    assert [p["type"] for p in first] == ["recovery"] * frames, first
    return ws


def test_a_client_cut_off_gets_exactly_the_events_it_missed_in_order_then_live_ones(
    server: ThreadServer,
) -> None:
    async def scenario() -> None:
        base, tracker = server.base_url(), Tracker()
        async with open_ws(f"{base}/ws/cut/") as sender:
            ws = await joined(base, "/ws/cut/", tracker)
            for n in range(3):
                await post(sender, f"before {n}")
            assert texts(await receive(ws, tracker, 3)) == [f"before {n}" for n in range(3)]
            ws.transport.abort()  # the TCP connection drops: no close frame
            missed = [f"away {n}" for n in range(7)]
            for text in missed:
                await post(sender, text)

            async with open_ws(tracker.url(base, "/ws/cut/")) as again:
                replay = await receive(again, tracker, 9)
                assert texts(replay) == missed
                offsets = [p["pos"][2] for p in replay[:7]]
                assert offsets == list(range(4, 11)), "each in its stream, numbered on"
                outcome = replay[7]["recovery"]
                assert outcome == {
                    "recovered": True,
                    "groups": {
                        "room.cut": {
                            "recovered": True,
                            "epoch": tracker.positions["chat"]["room.cut"][0],
                            "offset": 10,
                            "replayed": 7,
                        }
                    },
                }
                assert replay[8] == {"type": "recovery", "recovery": {"recovered": True}}
                await post(sender, "live")
                assert texts(await receive(again, tracker, 1)) == ["live"]
                await assert_silent(again)

    run(scenario())


def test_events_sent_during_the_replay_come_after_it_once_each(server: ThreadServer) -> None:
    async def scenario() -> None:
        base, tracker = server.base_url(), Tracker()
        async with open_ws(f"{base}/ws/busy/") as sender:
            ws = await joined(base, "/ws/busy/", tracker)
            await ws.close()
            for n in range(20):
                await post(sender, f"away {n}")

            async def keep_posting() -> None:
                for n in range(30):
                    await post(sender, f"during {n}")

            posting = asyncio.create_task(keep_posting())
            async with open_ws(tracker.url(base, "/ws/busy/")) as again:
                await posting
                frames = await receive(again, tracker, 52)
                events = [p for p in frames if p["type"] == "posted"]
                assert [p["pos"][2] for p in events] == list(range(1, 51)), (
                    "every offset once, in order: no duplicate, no gap, no reordering"
                )
                kinds = [p["type"] for p in frames]
                replayed = frames[kinds.index("recovery")]["recovery"]["groups"]["room.busy"]
                assert replayed["recovered"] is True
                cut = replayed["replayed"]
                assert kinds[cut : cut + 2] == ["recovery", "recovery"], "outcome after replay"
                assert all(k == "posted" for k in kinds[cut + 2 :]), "then live events"
                await assert_silent(again)

    run(scenario())


def test_after_the_ttl_recovery_fails_cleanly_and_says_why(server: ThreadServer) -> None:
    async def scenario() -> None:
        base, tracker = server.base_url(), Tracker()
        async with open_ws(f"{base}/short/ttl/") as sender:
            ws = await joined(base, "/short/ttl/", tracker, frames=1)
            ws.transport.abort()
            await post(sender, "gone by now", stream=None)
            await asyncio.sleep(1.5)  # the route keeps events 1 s
            async with open_ws(tracker.url(base, "/short/ttl/")) as again:
                (outcome,) = await receive(again, tracker, 1)
                assert outcome["type"] == "recovery", outcome
                assert outcome["recovery"]["recovered"] is False
                group = outcome["recovery"]["groups"]["room.ttl"]
                assert group["reason"] == "too_old"
                assert group["offset"] == 1, "the position to follow from now on"
                await post(sender, "after", stream=None)
                assert texts(await receive(again, tracker, 1)) == ["after"]
                await assert_silent(again)

    run(scenario())


def test_a_token_naming_a_group_the_socket_does_not_join_is_refused(server: ThreadServer) -> None:
    async def scenario() -> None:
        base, tracker = server.base_url(), Tracker()
        ws = await joined(base, "/ws/mine/", tracker)
        await ws.close()
        epoch = tracker.positions["chat"]["room.mine"][0]
        tracker.positions["chat"]["room.theirs"] = [epoch, 0]
        async with open_ws(tracker.url(base, "/ws/mine/")) as again:
            error, stream_outcome, outcome = [await recv_json(again) for _ in range(3)]
            assert error["type"] == "error" and "stream" not in error, error
            assert error["error"]["code"] == "forbidden"
            assert "room.theirs" in error["error"]["message"]
            groups = stream_outcome["payload"]["recovery"]["groups"]
            assert set(groups) == {"room.mine"}, "nothing of the other group"
            assert groups["room.mine"]["reason"] == "new", "the whole token is refused"
            assert outcome == {"type": "recovery", "recovery": {"recovered": False}}

    run(scenario())


def test_events_sent_while_a_new_socket_joins_still_reach_it_after_its_position(
    server: ThreadServer,
) -> None:
    async def scenario() -> None:
        base, tracker = server.base_url(), Tracker()
        async with open_ws(tracker.url(base, "/greet/hello/")) as ws:
            outcome, greeting = await receive(ws, tracker, 2)
            assert outcome["recovery"]["groups"]["room.hello"]["reason"] == "new"
            assert outcome["recovery"]["groups"]["room.hello"]["offset"] == 1
            assert greeting["data"]["text"] == "joined", "its own connect()'s event"
            assert greeting["pos"][2] == 1
            assert tracker.positions[""]["room.hello"][1] == 1
            await assert_silent(ws)

    run(scenario())


@pytest.mark.parametrize(
    "token, message",
    [
        ("2.e30", "version 1"),
        ("1.!!!", "base64"),
        ("1." + base64.b64encode(b'{"chat": {"room.x": ["e", -1]}}').decode(), "[epoch, offset]"),
        ("1." + "A" * MAX_TOKEN, "at most"),
        ("1." + base64.b64encode(b'{"nope": {}}').decode(), "stream"),
    ],
    ids=["version", "not-base64", "bad-offset", "oversized", "unknown-stream"],
)
def test_a_malformed_or_oversized_token_is_refused_with_a_structured_error(
    server: ThreadServer, token: str, message: str
) -> None:
    async def scenario() -> None:
        url = f"{server.base_url()}/ws/bad/?recover={token.replace('+', '%2B')}"
        async with open_ws(url) as ws, open_ws(f"{server.base_url()}/ws/bad/") as sender:
            error = await recv_json(ws)
            assert error["type"] == "error", error
            assert error["error"]["code"] == "bad_token"
            assert message in error["error"]["message"]
            assert len(error["error"]["message"]) < 200, "the token is never echoed back"
            outcomes = [await recv_json(ws) for _ in range(2)]
            assert [f.get("payload", f)["type"] for f in outcomes] == ["recovery", "recovery"]
            await post(sender, "still served")
            assert (await recv_json(ws))["payload"]["data"]["text"] == "still served"

    run(scenario())


def test_a_client_that_does_not_ask_is_served_as_before_but_for_pos(server: ThreadServer) -> None:
    async def scenario() -> None:
        base = server.base_url()
        async with open_ws(f"{base}/ws/plain/") as ws, open_ws(f"{base}/ws/plain/") as sender:
            await post(sender, "hello")
            frame = await recv_json(ws)
            assert frame["payload"]["type"] == "posted"
            assert frame["payload"]["pos"][::2] == ["room.plain", 1]
            await assert_silent(ws)

    run(scenario())


def test_a_restarted_process_changes_the_epoch_and_the_client_is_told() -> None:
    env = {"PYTHONPATH": os.pathsep.join([str(FIXTURES), str(REPO_ROOT)])}
    server = SubprocessServer("recovery_app:application", env=env).start()
    try:

        async def before() -> Tracker:
            tracker = Tracker()
            ws = await joined(server.base_url(), "/ws/restart/", tracker)
            async with open_ws(f"{server.base_url()}/ws/restart/") as sender:
                await post(sender, "one")
                await receive(ws, tracker, 1)
            await ws.close()
            return tracker

        tracker = run(before())
        server.stop()
        server.start()

        async def after() -> None:
            async with open_ws(tracker.url(server.base_url(), "/ws/restart/")) as ws:
                outcome = (await recv_json(ws))["payload"]["recovery"]
                group = outcome["groups"]["room.restart"]
                assert (outcome["recovered"], group["reason"]) == (False, "epoch_changed")
                assert group["epoch"] != tracker.positions["chat"]["room.restart"][0]

        run(after())
    finally:
        server.close()
