"""End to end: what a client sees when it sends something wrong, or a handler fails.

Protocol errors use the example chat app in a uvicorn subprocess (``chat_server``). Handler
failures use the fixture app tests/fixtures/faulty, served in-process (``faulty_server``)
so the tests can check server-side state: the log, group membership, disconnect calls.
"""

from __future__ import annotations

import asyncio
import logging
import random
import string
import uuid
from typing import Any, NamedTuple

import orjson
import pytest
from e2e.server import (
    FaultyApp,
    SubprocessServer,
    ThreadServer,
    assert_silent,
    eventually,
    open_ws,
    recv_json,
    recv_many,
    send_json,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus


def wrapped(stream: str, frame: Any) -> dict[str, Any]:
    return {"stream": stream, "payload": frame}


def chat_room() -> str:
    return f"err-{uuid.uuid4().hex[:8]}"


def letters_room() -> str:
    """A fresh room name for the faulty app, whose routes accept [a-z]+ only."""
    return "".join(random.choices(string.ascii_lowercase, k=12))


def error_paths(frame: dict[str, Any]) -> list[str]:
    return [d["path"] for d in frame["error"].get("details", [])]


async def assert_socket_works(ws: ClientConnection, tag: str) -> None:
    """Both streams still answer: an echo ``say`` and a chat ``post`` get their replies."""
    say = {"type": "say", "id": f"{tag}-say", "data": {"text": tag}}
    await send_json(ws, wrapped("echo", say))
    assert await recv_json(ws) == wrapped("echo", say)

    post_frame = {"type": "post", "id": f"{tag}-post", "data": {"text": tag}}
    await send_json(ws, wrapped("chat", post_frame))
    frames = await recv_many(ws, 2)  # the ack and our own broadcast, in either order
    by_type = {f["payload"]["type"]: f for f in frames}
    assert set(by_type) == {"post", "posted"}, frames
    assert all(f["stream"] == "chat" for f in frames), frames
    message_id = by_type["post"]["payload"]["data"]["id"]
    assert by_type["post"]["payload"] == {
        "type": "post",
        "id": f"{tag}-post",
        "data": {"id": message_id},
    }
    assert by_type["posted"]["payload"] == {
        "type": "posted",
        "data": {"id": message_id, "text": tag},
    }


# -- protocol errors on the multiplexed example app ------------------------------------

LONG = "z" * 2001


def say(data: Any, msg_id: Any = "s1") -> str:
    return _json(wrapped("echo", {"type": "say", "id": msg_id, "data": data}))


def post(data: Any, msg_id: Any = "p1") -> str:
    return _json(wrapped("chat", {"type": "post", "id": msg_id, "data": data}))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class Bad(NamedTuple):
    """A bad input and the error it must give."""

    sent: str | bytes  # the frame, sent as is (bytes: a binary frame)
    code: str
    stream: str | None = None  # the stream the error comes wrapped in; None: top level
    id: Any = None  # the id the error must carry; None: no id at all
    paths: tuple[str, ...] | None = None  # detail paths that must be present; None: any


def envelope(stream: Any, payload: Any) -> str:
    return _json(wrapped(stream, payload))


BAD_INPUTS: dict[str, Bad] = {
    # Errors that belong to no stream come back unwrapped.
    "invalid-json": Bad('{"stream": "echo", "payload": ', "bad_json"),
    "not-json-at-all": Bad("hello?", "bad_json"),
    "array-envelope": Bad("[]", "bad_frame", paths=("$",)),
    "string-envelope": Bad('"chat"', "bad_frame", paths=("$",)),
    "envelope-without-payload": Bad('{"stream": "chat"}', "bad_frame", paths=("$.payload",)),
    "envelope-without-stream": Bad(
        '{"payload": {"type": "say", "data": {"text": "x"}}}', "bad_frame", paths=("$.stream",)
    ),
    "envelope-stream-not-string": Bad(
        '{"stream": 1, "payload": {}}', "bad_frame", paths=("$.stream",)
    ),
    "envelope-extra-key": Bad(
        '{"stream": "echo", "payload": {}, "x": 1}', "bad_frame", paths=("$",)
    ),
    "unknown-stream": Bad(
        envelope("nope", {"type": "say", "id": 3, "data": {"text": "x"}}),
        "unknown_stream",
        paths=("$.stream",),
    ),
    "binary-frame": Bad(b'{"stream": "echo", "payload": {}}', "bad_frame"),
    # A malformed message inside a valid envelope is that stream's error.
    "payload-not-object": Bad(envelope("echo", "say hi"), "bad_frame", "echo", paths=("$",)),
    "payload-array": Bad(envelope("chat", [1, 2]), "bad_frame", "chat", paths=("$",)),
    "payload-missing-type-with-id": Bad(
        envelope("chat", {"id": "m1", "data": {"text": "x"}}),
        "bad_frame",
        "chat",
        "m1",
        ("$.type",),
    ),
    "payload-missing-type-no-id": Bad(
        envelope("echo", {"data": {"text": "x"}}), "bad_frame", "echo", paths=("$.type",)
    ),
    "payload-type-not-string": Bad(
        envelope("echo", {"type": 5, "id": 9, "data": {}}), "bad_frame", "echo", 9, ("$.type",)
    ),
    "payload-data-not-object": Bad(
        envelope("echo", {"type": "say", "id": 10, "data": "text"}),
        "bad_frame",
        "echo",
        10,
        ("$.data",),
    ),
    "payload-extra-key": Bad(
        envelope("echo", {"type": "say", "id": "e", "data": {"text": "x"}, "extra": 1}),
        "bad_frame",
        "echo",
        "e",
        ("$",),
    ),
    "payload-id-not-string-or-int": Bad(
        # an id that cannot be echoed: the error goes out uncorrelated
        envelope("echo", {"type": "say", "id": 1.5, "data": {"text": "x"}}),
        "bad_frame",
        "echo",
        paths=("$.id",),
    ),
    "unknown-type-echo": Bad(
        envelope("echo", {"type": "shout", "id": "t1", "data": {"text": "x"}}),
        "unknown_type",
        "echo",
        "t1",
        ("$.type",),
    ),
    "unknown-type-chat": Bad(
        # a type that exists, but on the other stream
        envelope("chat", {"type": "say", "id": 11, "data": {"text": "x"}}),
        "unknown_type",
        "chat",
        11,
        ("$.type",),
    ),
    # Payloads that fail their schema.
    "number-for-string-echo": Bad(say({"text": 5}), "invalid", "echo", "s1", ("$.data.text",)),
    "number-for-string-chat": Bad(post({"text": 5}), "invalid", "chat", "p1", ("$.data.text",)),
    "null-for-string": Bad(say({"text": None}), "invalid", "echo", "s1", ("$.data.text",)),
    "unknown-key-echo": Bad(
        say({"text": "x", "colour": "red"}), "invalid", "echo", "s1", ("$.data.colour",)
    ),
    "unknown-key-chat": Bad(
        post({"text": "x", "room": "other"}), "invalid", "chat", "p1", ("$.data.room",)
    ),
    "too-long-echo": Bad(say({"text": LONG}), "invalid", "echo", "s1", ("$.data.text",)),
    "too-long-chat": Bad(post({"text": LONG}, 77), "invalid", "chat", 77, ("$.data.text",)),
    "empty-post": Bad(post({"text": ""}), "invalid", "chat", "p1", ("$.data.text",)),
    "missing-field-echo": Bad(say({}), "invalid", "echo", "s1", ("$.data.text",)),
    "missing-field-chat": Bad(post({}), "invalid", "chat", "p1", ("$.data.text",)),
    "missing-data": Bad(
        # no "data" at all is the same as {}: the declared field is missing
        envelope("echo", {"type": "say", "id": "nd"}),
        "invalid",
        "echo",
        "nd",
        ("$.data.text",),
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_bad_input_gives_its_error_and_socket_keeps_working(
    chat_server: SubprocessServer, case: str
) -> None:
    sent, code, stream, msg_id, paths = BAD_INPUTS[case]
    url = f"{chat_server.base_url()}/ws/{chat_room()}/"

    async with open_ws(url) as ws:
        await assert_socket_works(ws, "before")
        await ws.send(sent)
        frame = await recv_json(ws)
        if stream is None:
            assert "stream" not in frame, f"expected a top-level error, got {frame}"
            error = frame
        else:
            assert set(frame) == {"stream", "payload"}, frame
            assert frame["stream"] == stream, frame
            error = frame["payload"]
        assert error["type"] == "error", frame
        assert error["error"]["code"] == code, frame
        assert isinstance(error["error"]["message"], str) and error["error"]["message"]
        if msg_id is None:
            assert "id" not in error, frame
        else:
            assert error["id"] == msg_id, frame
        if paths is not None:
            details = error["error"].get("details")
            assert details, f"expected details, got {frame}"
            for detail in details:
                assert set(detail) == {"path", "message"}, detail
                assert isinstance(detail["message"], str) and detail["message"], detail
            assert set(paths) <= set(error_paths(error)), frame
        # exactly one answer to the bad frame, and the socket is still fully usable
        await assert_silent(ws, 0.1)
        await assert_socket_works(ws, "after")
        await assert_socket_works(ws, "again")


async def test_invalid_payload_reports_every_problem(chat_server: SubprocessServer) -> None:
    url = f"{chat_server.base_url()}/ws/{chat_room()}/"

    async with open_ws(url) as ws:
        await ws.send(say({"text": 12, "b": 1, "a": 2}, "multi"))
        frame = await recv_json(ws)
        assert frame["stream"] == "echo"
        assert frame["payload"]["id"] == "multi"
        assert frame["payload"]["error"]["code"] == "invalid"
        assert sorted(error_paths(frame["payload"])) == ["$.data.a", "$.data.b", "$.data.text"]
        await assert_socket_works(ws, "after")


@pytest.mark.parametrize("bad_stream", ["chat", "echo"])
async def test_bad_frames_on_one_stream_do_not_lose_the_other_streams_traffic(
    chat_server: SubprocessServer, bad_stream: str
) -> None:
    url = f"{chat_server.base_url()}/ws/{chat_room()}/"
    bad_frames = [
        _json(wrapped(bad_stream, {"type": "nope", "id": "bad", "data": {}})),
        _json(
            wrapped(
                bad_stream,
                {
                    "type": "post" if bad_stream == "chat" else "say",
                    "id": "bad",
                    "data": {"text": 1},
                },
            )
        ),
        _json(wrapped(bad_stream, 17)),
        "{not json",
        b"\x00binary",
    ]
    good_stream = "echo" if bad_stream == "chat" else "chat"
    rounds = 20

    async with open_ws(url) as ws:
        # Fire everything first, then read: the server sees bad and good frames interleaved.
        for i in range(rounds):
            await ws.send(bad_frames[i % len(bad_frames)])
            if good_stream == "echo":
                await send_json(
                    ws, wrapped("echo", {"type": "say", "id": i, "data": {"text": f"m{i}"}})
                )
            else:
                await send_json(
                    ws, wrapped("chat", {"type": "post", "id": i, "data": {"text": f"m{i}"}})
                )
        per_good = 1 if good_stream == "echo" else 2  # a post also brings its broadcast
        frames = await recv_many(ws, rounds * (1 + per_good))
        await assert_silent(ws, 0.1)

        errors = [f for f in frames if (f.get("payload") or f)["type"] == "error"]
        good = [f for f in frames if (f.get("payload") or f)["type"] != "error"]
        assert len(errors) == rounds, errors
        assert all(f.get("stream", bad_stream) == bad_stream for f in errors), errors
        if good_stream == "echo":
            assert good == [
                wrapped("echo", {"type": "say", "id": i, "data": {"text": f"m{i}"}})
                for i in range(rounds)
            ]
        else:
            acks = [f["payload"] for f in good if f["payload"]["type"] == "post"]
            posted = [f["payload"] for f in good if f["payload"]["type"] == "posted"]
            assert [a["id"] for a in acks] == list(range(rounds))
            assert [p["data"]["text"] for p in posted] == [f"m{i}" for i in range(rounds)]
            assert [a["data"]["id"] for a in acks] == [p["data"]["id"] for p in posted]
            assert all(f["stream"] == "chat" for f in good)


async def test_too_large_message_closes_with_1009(chat_server: SubprocessServer) -> None:
    base = chat_server.base_url()

    async with open_ws(f"{base}/ws/{chat_room()}/") as ws:
        # Just under the limit (1 MiB characters) is an ordinary, answerable frame.
        big_but_allowed = say({"text": "a" * 1_000_000}, "big")
        assert len(big_but_allowed) <= 1 << 20
        await ws.send(big_but_allowed)
        frame = await recv_json(ws)
        assert frame["payload"]["error"]["code"] == "invalid"
        assert frame["payload"]["id"] == "big"

        await ws.send("x" * 1_100_000)
        with pytest.raises(ConnectionClosed):
            await recv_json(ws)
        assert ws.close_code == 1009, (ws.close_code, ws.close_reason)

    # The server itself is fine.
    async with open_ws(f"{base}/ws/{chat_room()}/") as ws:
        await assert_socket_works(ws, "next")


@pytest.mark.parametrize("path", ["/nope/", "/ws/UPPER/", "/ws/lobby", "/ws/lobby/extra/", "/"])
async def test_unknown_path_is_refused_at_handshake(
    chat_server: SubprocessServer, path: str
) -> None:
    base = chat_server.base_url()

    with pytest.raises(InvalidStatus) as refused:
        async with open_ws(f"{base}{path}"):
            pass
    assert refused.value.response.status_code == 403
    async with open_ws(f"{base}/ws/{chat_room()}/") as ws:
        await assert_socket_works(ws, "still-serving")


# -- handler failures and disconnects on the faulty fixture app --------------------------

SECRET_WORDS = ("secret", "internal detail", "RuntimeError", "Traceback")


@pytest.mark.parametrize("shape", ["mux", "solo"])
async def test_failing_handler_gives_internal_error_and_cleans_up_on_close(
    faulty_app: FaultyApp,
    faulty_server: ThreadServer,
    caplog: pytest.LogCaptureFixture,
    shape: str,
) -> None:
    caplog.set_level(logging.ERROR, logger="chgen")
    layer = faulty_app.routing.application.layer
    records = faulty_app.handlers.DISCONNECTS
    room = letters_room()
    group = f"room.{room}"
    url = f"{faulty_server.base_url()}/{shape}/{room}/"

    def frame_for(stream: str, payload: dict[str, Any]) -> dict[str, Any]:
        return wrapped(stream, payload) if shape == "mux" else payload

    def unwrap(stream: str, frame: dict[str, Any]) -> dict[str, Any]:
        if shape == "solo":
            assert "stream" not in frame, frame
            return frame
        assert frame.get("stream") == stream, frame
        return frame["payload"]  # type: ignore[no-any-return]

    async def request_ok(ws: ClientConnection, msg_id: str) -> None:
        ok = {"type": "ok", "id": msg_id, "data": {"text": msg_id}}
        await send_json(ws, frame_for("work", ok))
        assert unwrap("work", await recv_json(ws)) == {
            "type": "ok",
            "id": msg_id,
            "data": {"text": msg_id},
        }
        if shape == "mux":
            say = {"type": "say", "id": msg_id, "data": {"text": msg_id}}
            await send_json(ws, wrapped("echo", say))
            assert await recv_json(ws) == wrapped("echo", say)

    async with open_ws(url) as ws:
        # Connection groups are joined before the handshake completes.
        members = layer.members(group)
        assert len(members) == 1, members
        channel: str = next(iter(members))
        await request_ok(ws, "first")

        for msg_id in ("boom-1", 2):
            await send_json(
                ws, frame_for("work", {"type": "boom", "id": msg_id, "data": {"text": "go"}})
            )
            raw = await ws.recv()
            assert isinstance(raw, str)
            for word in SECRET_WORDS:
                assert word.lower() not in raw.lower(), raw
            error = unwrap("work", orjson.loads(raw))
            assert error["type"] == "error"
            assert error["id"] == msg_id
            assert error["error"]["code"] == "internal"
            assert "details" not in error["error"], error
            await request_ok(ws, f"after-{msg_id}")
        # Without an id the failure is still reported, just not correlated.
        await send_json(ws, frame_for("work", {"type": "boom", "data": {"text": "go"}}))
        raw = await ws.recv()
        assert isinstance(raw, str)
        assert "secret" not in raw.lower(), raw
        error = unwrap("work", orjson.loads(raw))
        assert error == {
            "type": "error",
            "error": {"code": "internal", "message": error["error"]["message"]},
        }
        await request_ok(ws, "after-no-id")
        await assert_silent(ws, 0.1)
        assert layer.members(group) == {channel}
        assert not [r for r in records if r[1] == {"room": room}], records

    # Once the client has gone, disconnect() ran (once per consumer) and the group is left.
    expected = [("Worker", {"room": room}, 1000)]
    if shape == "mux":
        expected.append(("Parrot", {"room": room}, 1000))

    def cleaned_up() -> bool:
        mine = [r for r in records if r[1] == {"room": room}]
        return sorted(mine) == sorted(expected) and channel not in layer.members(group)

    await eventually(cleaned_up, "disconnect() ran and the group was left")
    assert sorted(r for r in records if r[1] == {"room": room}) == sorted(expected)
    assert layer.members(group) == frozenset()

    # The server logged what the client was not told: one traceback per failed request.
    failures = [
        r
        for r in caplog.records
        if r.name.startswith("chgen.")
        and r.exc_info
        and isinstance(r.exc_info[1], RuntimeError)
        and "secret internal detail" in str(r.exc_info[1])
    ]
    assert len(failures) == 3, [r.getMessage() for r in caplog.records]
    assert all(r.levelno >= logging.ERROR for r in failures)
    assert all("boom" in r.getMessage() for r in failures)


@pytest.mark.parametrize("shape", ["mux", "solo"])
async def test_abrupt_disconnect_still_runs_disconnect_and_leaves_groups(
    faulty_app: FaultyApp, faulty_server: ThreadServer, shape: str
) -> None:
    layer = faulty_app.routing.application.layer
    records = faulty_app.handlers.DISCONNECTS
    room = letters_room()
    group = f"room.{room}"

    ws = await open_ws(f"{faulty_server.base_url()}/{shape}/{room}/")
    assert len(layer.members(group)) == 1
    ws.transport.abort()  # no close frame: the TCP connection just drops
    await asyncio.wait_for(ws.wait_closed(), 5)
    await eventually(lambda: any(r[1] == {"room": room} for r in records), "disconnect()")
    await eventually(lambda: layer.members(group) == frozenset(), "group left")
    mine = [r for r in records if r[1] == {"room": room}]
    names = sorted(r[0] for r in mine)
    assert names == (["Parrot", "Worker"] if shape == "mux" else ["Worker"]), mine
    assert all(r[2] != 1000 for r in mine), mine  # not reported as a clean close


async def test_too_large_message_closes_solo_consumer_with_1009(
    faulty_app: FaultyApp, faulty_server: ThreadServer
) -> None:
    layer = faulty_app.routing.application.layer
    records = faulty_app.handlers.DISCONNECTS
    room = letters_room()

    async with open_ws(f"{faulty_server.base_url()}/solo/{room}/") as ws:
        await ws.send("x" * 1_100_000)
        with pytest.raises(ConnectionClosed):
            await recv_json(ws)
        assert ws.close_code == 1009, (ws.close_code, ws.close_reason)
    await eventually(lambda: any(r[1] == {"room": room} for r in records), "disconnect()")
    await eventually(lambda: layer.members(f"room.{room}") == frozenset(), "group left")


async def test_binary_frame_on_solo_consumer_is_bad_frame(faulty_server: ThreadServer) -> None:
    async with open_ws(f"{faulty_server.base_url()}/solo/{letters_room()}/") as ws:
        await ws.send(b"\x01\x02")
        frame = await recv_json(ws)
        assert "stream" not in frame
        assert frame["type"] == "error"
        assert frame["error"]["code"] == "bad_frame"
        await send_json(ws, {"type": "ok", "id": 1, "data": {"text": "still here"}})
        assert await recv_json(ws) == {"type": "ok", "id": 1, "data": {"text": "still here"}}


async def test_no_reply_type_means_null_reply_and_events_reach_every_socket_shape(
    faulty_server: ThreadServer,
) -> None:
    """``note`` has no reply type: with an id it is answered with null data, without an id
    not at all. Its ``noted`` broadcast reaches every Worker in the room, whether it serves
    a socket alone or a stream (named ``work`` or ``jobs``) of a multiplexed one, and no
    other consumer."""
    room = letters_room()
    base = faulty_server.base_url()

    async with (
        open_ws(f"{base}/solo/{room}/") as solo,
        open_ws(f"{base}/mux/{room}/") as mux,
        open_ws(f"{base}/alt/{room}/") as alt,
    ):
        event = {"type": "noted", "data": {"text": "n1"}}
        await send_json(solo, {"type": "note", "id": "n1", "data": {"text": "n1"}})
        frames = await recv_many(solo, 2)
        assert sorted(frames, key=lambda f: f["type"]) == [
            {"type": "note", "id": "n1", "data": None},
            event,
        ]
        # Each multiplexed socket gets it once, on the Worker's own stream name.
        assert await recv_json(mux) == wrapped("work", event)
        assert await recv_json(alt) == wrapped("jobs", event)
        await assert_silent(mux, 0.2)
        await assert_silent(alt, 0.05)

        await send_json(alt, wrapped("jobs", {"type": "note", "data": {"text": "n2"}}))
        event2 = {"type": "noted", "data": {"text": "n2"}}
        assert await recv_json(alt) == wrapped("jobs", event2)
        assert await recv_json(mux) == wrapped("work", event2)
        assert await recv_json(solo) == event2
        await assert_silent(alt, 0.2)  # no id: no reply
        await assert_silent(mux, 0.05)
        await assert_silent(solo, 0.05)


@pytest.mark.parametrize("shape", ["mux", "solo"])
async def test_handler_returning_a_wrong_reply_value_is_an_internal_error(
    faulty_server: ThreadServer, shape: str
) -> None:
    """``Worker.wrong`` returns a dict where its reply type ``Done`` is declared. The reply
    cannot be encoded: like any handler failure, the client must get exactly one answer, an
    ``internal`` error with its id, and the socket (every stream of it) must stay open."""
    url = f"{faulty_server.base_url()}/{shape}/{letters_room()}/"

    def frame_for(stream: str, payload: dict[str, Any]) -> dict[str, Any]:
        return wrapped(stream, payload) if shape == "mux" else payload

    async with open_ws(url) as ws:
        await send_json(ws, frame_for("work", {"type": "wrong", "id": "w1", "data": {"text": "x"}}))
        try:
            frame = await recv_json(ws)
        except ConnectionClosed as closed:
            raise AssertionError(
                f"the server dropped the socket instead of answering: {closed!r}"
            ) from None
        error = frame["payload"] if shape == "mux" else frame
        assert error == {
            "type": "error",
            "id": "w1",
            "error": {"code": "internal", "message": error["error"]["message"]},
        }, frame
        ok = {"type": "ok", "id": "after", "data": {"text": "after"}}
        await send_json(ws, frame_for("work", ok))
        assert await recv_json(ws) == frame_for("work", ok)
        if shape == "mux":
            say = {"type": "say", "id": "after", "data": {"text": "after"}}
            await send_json(ws, wrapped("echo", say))
            assert await recv_json(ws) == wrapped("echo", say)
