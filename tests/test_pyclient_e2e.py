"""End to end: the generated Python client (generated/chat/client.py) against real uvicorn.

The example chat app is served as a user serves it; clients are ``LobbyClient`` objects
over real sockets. What a user of the client notices: typed replies, events through
callbacks and iterators, the two streams of one socket, structured errors with the
JavaScript client's codes, reconnects after the server restarts, and gap reports.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from e2e.server import (
    REPO_ROOT,
    FixedPortServer,
    SubprocessServer,
    ThreadServer,
    eventually,
    free_port,
)

from chgen.runtime.client import ChgenError, ChgenGap, ClientOptions, Reconnect
from generated.chat.client import LobbyClient, lobby_url
from generated.chat.payloads import Ack, Post, Posted, Say

WAIT = 5.0  # seconds any one answer may take


def room(label: str) -> str:
    """A room no other test uses (the server is shared by the whole session)."""
    return f"{label}-{uuid.uuid4().hex[:8]}"


def client(base: str, name: str, **options: object) -> LobbyClient:
    return LobbyClient(lobby_url(base, room=name), ClientOptions(**options))  # type: ignore[arg-type]


async def refused(call: object) -> ChgenError:
    """The ChgenError that awaiting ``call`` raises."""
    with pytest.raises(ChgenError) as caught:
        await asyncio.wait_for(call, WAIT)  # type: ignore[arg-type]
    return caught.value


# ---------------------------------------------------------------------------------------
# Requests, events, streams


async def test_a_request_returns_its_typed_reply_and_events_reach_callbacks_and_iterators(
    chat_server: SubprocessServer,
) -> None:
    base, name = chat_server.base_url(), room("typed")
    async with client(base, name) as alice, client(base, name) as bob:
        heard: list[Posted] = []
        stop = bob.chat.on.posted(heard.append)
        posts = bob.chat.events.posted()
        await asyncio.wait_for(bob.opened(), WAIT)  # in the room before anyone posts

        ack = await asyncio.wait_for(alice.chat.request.post(Post(text="hello, room")), WAIT)
        assert isinstance(ack, Ack) and type(ack.id) is int
        assert await asyncio.wait_for(anext(posts), WAIT) == Posted(id=ack.id, text="hello, room")
        assert heard == [Posted(id=ack.id, text="hello, room")]

        # A send gets no answer, and is handled all the same.
        stop()
        await alice.chat.send.post(Post(text="no reply wanted"))
        second = await asyncio.wait_for(anext(posts), WAIT)
        assert second.text == "no reply wanted" and second.id > ack.id
        assert len(heard) == 1  # unsubscribed
        posts.close()
        assert [p async for p in posts] == []


async def test_the_streams_of_one_socket_answer_their_own_requests(
    chat_server: SubprocessServer,
) -> None:
    async with client(chat_server.base_url(), room("streams")) as lobby:
        texts = [f"m{n} ✓" for n in range(20)]
        acks, echoes = await asyncio.wait_for(
            asyncio.gather(
                asyncio.gather(*(lobby.chat.request.post(Post(text=t)) for t in texts)),
                asyncio.gather(*(lobby.echo.request.say(Say(text=t)) for t in texts)),
            ),
            WAIT,
        )
        assert echoes == [Say(text=t) for t in texts]
        ids = [ack.id for ack in acks]
        assert all(isinstance(a, Ack) for a in acks) and len(set(ids)) == len(ids)


async def test_an_iterator_that_falls_behind_reports_what_it_dropped(
    chat_server: SubprocessServer,
) -> None:
    async with client(chat_server.base_url(), room("slow")) as lobby:
        gaps: list[ChgenGap] = []
        heard: list[Posted] = []
        lobby.chat.on_gap(gaps.append)
        lobby.chat.on.posted(heard.append)
        with lobby.chat.events.posted(limit=2) as posts:
            for text in ("a", "b", "c"):
                await asyncio.wait_for(lobby.chat.request.post(Post(text=text)), WAIT)
            await eventually(lambda: len(heard) == 3, "three posted events", WAIT)
            assert [(await anext(posts)).text for _ in range(2)] == ["a", "b"]
        assert gaps == [ChgenGap("chat", 1, "slow")]


# ---------------------------------------------------------------------------------------
# Errors


async def test_a_message_that_does_not_fit_is_refused_before_it_is_sent(
    chat_server: SubprocessServer,
) -> None:
    base, name = chat_server.base_url(), room("invalid")
    async with client(base, name) as alice, client(base, name) as bob:
        posts = bob.chat.events.posted()
        await asyncio.wait_for(bob.opened(), WAIT)
        error = await refused(alice.chat.request.post(Post(text="")))
        assert (error.code, error.message, error.stream, error.id) == (
            "invalid",
            "invalid Post payload",
            "chat",
            None,
        )
        assert [(d.path, d.message) for d in error.details] == [
            ("$.data.text", "must have at least 1 character, got 0")
        ]
        with pytest.raises(ChgenError, match="invalid"):
            await alice.chat.send.post(Post(text="x" * 2001))
        # Nothing reached the server: the first event Bob sees is the next valid post.
        await asyncio.wait_for(alice.chat.request.post(Post(text="valid")), WAIT)
        assert (await asyncio.wait_for(anext(posts), WAIT)).text == "valid"


async def test_the_servers_errors_arrive_with_their_code_stream_id_and_details(
    chat_server: SubprocessServer,
) -> None:
    async with client(chat_server.base_url(), room("errors")) as lobby:
        channel = lobby.chat.channel
        # Say fits Say, not Post: only the server can tell.
        error = await refused(channel.request("post", Say, Say(text=""), Ack))
        assert (error.code, error.message, error.stream) == (
            "invalid",
            "invalid Post payload",
            "chat",
        )
        assert type(error.id) is int
        assert [d.path for d in error.details] == ["$.data.text"]

        error = await refused(channel.request("shout", Say, Say(text="hi"), Ack))
        assert (error.code, error.stream) == ("unknown_type", "chat")
        assert "post" in error.details[0].message

        # The socket lives on.
        assert await asyncio.wait_for(lobby.echo.request.say(Say(text="ok")), WAIT) == Say(
            text="ok"
        )


async def test_a_refused_handshake_fails_waiting_requests_with_its_status(
    chat_server: SubprocessServer,
) -> None:
    errors: list[ChgenError] = []
    nowhere = LobbyClient(f"{chat_server.base_url()}/nowhere/", ClientOptions(reconnect=None))
    nowhere.connection.on_error(errors.append)
    async with nowhere:
        error = await refused(nowhere.echo.request.say(Say(text="hi")))
        assert (error.code, error.status, error.stream) == ("handshake_refused", 403, "echo")
        assert [(e.code, e.status) for e in errors] == [("handshake_refused", 403)]
        assert nowhere.connection.state == "closed"


async def test_requests_fail_clearly_while_no_server_answers() -> None:
    url = lobby_url(f"ws://127.0.0.1:{free_port()}", room="gone")
    fast = ClientOptions(reconnect=Reconnect(initial_delay=0.05, max_delay=0.1), queue_limit=1)
    async with LobbyClient(url, fast) as lobby:
        waiting = asyncio.ensure_future(lobby.echo.request.say(Say(text="a"), timeout=0.3))
        await asyncio.sleep(0)  # queued now
        full = await refused(lobby.echo.send.say(Say(text="b")))
        assert full.code == "queue_full"
        error = await refused(waiting)
        assert error.code == "timeout"
        assert error.message == "say not sent in 0.3 s: the socket did not open"
        assert lobby.connection.state == "connecting"
    closed = await refused(lobby.echo.request.say(Say(text="c")))
    assert closed.code == "closed"
    with pytest.raises(ChgenError, match="closed"):
        await lobby.opened()


async def test_a_stream_over_its_rate_limit_is_told_when_to_send_again(
    faulty_layer_server: SubprocessServer,
) -> None:
    async with client(faulty_layer_server.base_url(), room("limit")) as lobby:
        answers = await asyncio.gather(
            *(lobby.echo.request.say(Say(text=f"{n}")) for n in range(4)), return_exceptions=True
        )
        assert answers[:3] == [Say(text="0"), Say(text="1"), Say(text="2")]
        error = answers[3]
        assert isinstance(error, ChgenError) and error.code == "rate_limited"
        assert error.stream == "echo" and error.retry_after is not None
        assert 0 < error.retry_after <= 0.2
        await asyncio.sleep(error.retry_after)
        assert await asyncio.wait_for(lobby.echo.request.say(Say(text="again")), WAIT) == Say(
            text="again"
        )


async def test_a_socket_served_by_one_consumer_alone_has_the_stream_api_itself(
    faulty_server: ThreadServer,
) -> None:
    """The faulty fixture app serves its Worker consumer alone on /solo/<room>/: ``ok``
    replies, ``note`` has no reply type, ``boom`` raises, ``wrong`` returns a dict."""
    client = importlib.import_module("faultygen.faulty.client")
    payloads = importlib.import_module("faultygen.faulty.payloads")
    text = payloads.Text
    async with client.WorkerSocket(client.worker_url(faulty_server.base_url(), room="solo")) as ws:
        noted = ws.events.noted()
        assert await asyncio.wait_for(ws.request.ok(text(text="hi")), WAIT) == payloads.Done(
            text="hi"
        )
        assert await asyncio.wait_for(ws.request.note(text(text="n")), WAIT) is None
        assert await asyncio.wait_for(anext(noted), WAIT) == text(text="n")
        for failing in (ws.request.boom, ws.request.wrong):
            error = await refused(failing(text(text="x")))
            assert (error.code, error.stream) == ("internal", None)
            assert "secret" not in error.message
        # A reply that does not fit the class it is read into is refused as the server
        # would refuse it, with the details.
        error = await refused(ws.channel.request("ok", text, text(text="x"), Ack))
        assert (error.code, error.message) == ("bad_response", "invalid Ack payload")
        assert [(d.path, d.message) for d in error.details] == [
            ("$.data.id", "required field missing"),
            ("$.data.text", "unexpected field"),
        ]


# ---------------------------------------------------------------------------------------
# Gaps and reconnects


async def test_a_lost_group_event_is_reported_to_the_stream_and_the_connection(
    faulty_layer_server: SubprocessServer,
) -> None:
    base, name = faulty_layer_server.base_url(), room("gap")
    async with client(base, name) as sender, client(base, name) as receiver:
        stream_gaps: list[ChgenGap] = []
        socket_gaps: list[ChgenGap] = []
        receiver.chat.on_gap(stream_gaps.append)
        receiver.connection.on_gap(socket_gaps.append)
        posts = receiver.chat.events.posted()
        await asyncio.wait_for(receiver.opened(), WAIT)
        for text in ("m0", "m1", "lose me", "m3"):
            await asyncio.wait_for(sender.chat.request.post(Post(text=text)), WAIT)
        # The layer lost "lose me": noticed when m3 arrived.
        assert [(await asyncio.wait_for(anext(posts), WAIT)).text for _ in range(3)] == [
            "m0",
            "m1",
            "m3",
        ]
        # The report follows the event that revealed the loss.
        await eventually(lambda: len(stream_gaps) == 1, "a gap report", WAIT)
        assert stream_gaps == [ChgenGap("chat", 1, "lost")]
        assert socket_gaps == stream_gaps


@pytest.fixture
def restartable_server() -> Iterator[FixedPortServer]:
    server = FixedPortServer("generated.chat.routing:application", free_port())
    try:
        yield server
    finally:
        server.close()


@pytest.mark.scenario_timeout(60)
async def test_after_the_server_restarts_in_flight_requests_fail_and_new_ones_work(
    restartable_server: FixedPortServer,
) -> None:
    server = restartable_server
    await asyncio.to_thread(server.start)
    states: list[str] = []
    options = ClientOptions(reconnect=Reconnect(initial_delay=0.05, max_delay=0.5))
    lobby = LobbyClient(lobby_url(server.base_url(), room="restart"), options)
    lobby.connection.on_state(states.append)
    async with lobby:
        assert await asyncio.wait_for(lobby.echo.request.say(Say(text="1")), WAIT) == Say(text="1")

        # A crash while a request is in flight: the server may or may not have handled it.
        server.freeze()
        in_flight = asyncio.ensure_future(lobby.echo.request.say(Say(text="2"), timeout=math.inf))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(server.kill)
        error = await refused(in_flight)
        assert (error.code, error.message, error.stream) == (
            "disconnected",
            "connection lost",
            "echo",
        )
        assert lobby.connection.state == "reconnecting"

        # Made while the server is down: waits in the queue, answered after the restart.
        queued = asyncio.ensure_future(lobby.echo.request.say(Say(text="3"), timeout=30))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(server.start)
        assert await asyncio.wait_for(queued, 15) == Say(text="3")
        assert await asyncio.wait_for(lobby.echo.request.say(Say(text="4")), WAIT) == Say(text="4")
    assert states == ["open", "reconnecting", "open", "closed"]


# ---------------------------------------------------------------------------------------
# Installation


def test_the_client_module_imports_without_websockets_and_says_what_to_install() -> None:
    probe = (
        "import sys\n"
        "sys.modules['websockets'] = None  # as if it were not installed\n"
        "import asyncio\n"
        "from generated.chat.client import LobbyClient\n"
        "async def main():\n"
        "    try:\n"
        "        LobbyClient('ws://127.0.0.1:9/ws/x/').start()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'chgen[client]'" in done.stdout
