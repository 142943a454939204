"""Django Channels interop: chgen apps inside a Channels project, and Channels' test tools.

The fixture project (tests/fixtures/djangoproject) is served by a uvicorn subprocess:
``ProtocolTypeRouter`` with Django's HTTP app and, for WebSockets,
``AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([...])))`` around

* ``/ws/<room>/``: the example chat app, ``Router(generated.chat.routing.routes, layer=...)``;
* ``/app/...``: the interop fixture app (specs/interop.py there), generated into a
  temporary directory here: consumers that reply with ``str(self.user)``, and one that
  maps Channels' ``chat.message`` layer messages to a handler;
* ``/watch/<room>/``: ``RoomWatcher``, a hand-written Channels consumer in the same groups.

All of them share Channels' ``InMemoryChannelLayer`` (``get_channel_layer()``). The test
user logs in over HTTP (``POST /login/``) and its session cookie authenticates its sockets.

The other tests run in this process: Channels' ``WebsocketCommunicator`` drives the
generated chat app, and the chat app runs on Channels' own ``InMemoryChannelLayer``. Django
itself is never configured in the test process.
"""

from __future__ import annotations

import os
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryLayer
from e2e.server import (
    REPO_ROOT,
    SubprocessServer,
    assert_silent,
    eventually,
    open_ws,
    recv_json,
    recv_many,
    send_json,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from chgen.build import generate
from chgen.runtime import JsonWebsocketConsumer, Router, route
from chgen.writer import write
from generated.chat import routing as chat_routing

DJANGO_DIR = Path(__file__).resolve().parent / "fixtures" / "djangoproject"
USERNAME, PASSWORD = "alice", "wonderland"  # created by djproject.bootstrap
DROPPED_CHAT_MESSAGE = "dropped a layer message of unknown type 'chat.message'"
INVALID_CHAT_MESSAGE = "dropped an invalid 'chat.message' layer message"


def websocket_communicator() -> Any:
    """``channels.testing.WebsocketCommunicator``; importing it needs daphne.

    channels.testing also exports its live-server test case, which imports daphne, and
    channels only depends on daphne through its ``daphne`` extra. Without it these tests
    fail under CI and skip elsewhere, naming the fix.
    """
    try:
        from channels.testing import WebsocketCommunicator
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("daphne"):
            raise
        message = "channels.testing imports daphne: install channels[daphne] (test extra)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI must provide it", pytrace=False)
        pytest.skip(message)
    return WebsocketCommunicator


def room_name(label: str) -> str:
    """A room no other test uses (the server is shared by the module)."""
    return f"{label}-{uuid.uuid4().hex[:8]}"


def chat(frame: dict[str, Any]) -> dict[str, Any]:
    return {"stream": "chat", "payload": frame}


def post(msg_id: int, text: str) -> dict[str, Any]:
    return chat({"type": "post", "id": msg_id, "data": {"text": text}})


def split_ack_and_posted(frames: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The sender gets its ack and the broadcast in either order; tell them apart."""
    by_type = {f["payload"]["type"]: f["payload"] for f in frames}
    assert len(frames) == 2 and set(by_type) == {"post", "posted"}, frames
    return by_type["post"], by_type["posted"]


# -- the Django project in a uvicorn subprocess ------------------------------------------


@pytest.fixture(scope="module")
def interop_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interop fixture app, generated into a temporary directory (as ``interopgen``)."""
    root = tmp_path_factory.mktemp("interop-build")
    saved_path = list(sys.path)
    try:
        write(generate(DJANGO_DIR / "specs"), root / "interopgen")
    finally:
        # generate() puts the spec dirs on sys.path and keeps the spec module: undo both.
        sys.path[:] = saved_path
        sys.modules.pop("_chgen_spec_interop", None)
    return root


@pytest.fixture(scope="module")
def django_server(interop_build: Path) -> Iterator[SubprocessServer]:
    server = SubprocessServer("djproject.asgi:application", cwd=REPO_ROOT)
    pythonpath = [str(interop_build), str(DJANGO_DIR), str(REPO_ROOT)]
    if os.environ.get("PYTHONPATH"):
        pythonpath.append(os.environ["PYTHONPATH"])
    try:
        # The child inherits the environment at spawn: set it only around start().
        with pytest.MonkeyPatch.context() as env:
            env.setenv("PYTHONPATH", os.pathsep.join(pythonpath))
            env.setenv("DJANGO_SETTINGS_MODULE", "djproject.settings")
            server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def django(django_server: SubprocessServer) -> Iterator[SubprocessServer]:
    """The server; what it printed during a test is shown when that test fails."""
    seen = len(django_server.output())
    yield django_server
    print(django_server.output()[seen:][-20_000:])  # pytest shows it for failures only


@pytest.fixture(scope="module")
def session_cookie(django_server: SubprocessServer) -> str:
    """``sessionid=...`` of the test user, from a real login over HTTP."""
    form = urllib.parse.urlencode({"username": USERNAME, "password": PASSWORD}).encode()
    url = f"http://127.0.0.1:{django_server.port}/login/"
    with urllib.request.urlopen(urllib.request.Request(url, data=form), timeout=5) as response:
        assert response.status == 200
        cookies = response.headers.get_all("Set-Cookie") or []
    session = [c.split(";", 1)[0] for c in cookies if c.startswith("sessionid=")]
    assert session, f"no session cookie in {cookies}"
    return session[0]


def origin(server: SubprocessServer) -> str:
    """An Origin that AllowedHostsOriginValidator accepts (127.0.0.1 is in ALLOWED_HOSTS)."""
    return f"http://127.0.0.1:{server.port}"


def connect(server: SubprocessServer, path: str, cookie: str | None = None, **kwargs: Any) -> Any:
    kwargs.setdefault("origin", origin(server))
    if cookie is not None:
        kwargs["additional_headers"] = {"Cookie": cookie}
    return open_ws(server.base_url() + path, **kwargs)


async def whoami(ws: ClientConnection) -> dict[str, Any]:
    await send_json(ws, {"type": "whoami", "id": 1})
    reply = await recv_json(ws)
    assert reply["type"] == "whoami" and reply["id"] == 1, reply
    data: dict[str, Any] = reply["data"]
    return data


async def test_chgen_consumer_sees_the_django_user_of_the_session(
    django: SubprocessServer, session_cookie: str
) -> None:
    async with connect(django, "/app/me/") as anonymous:
        assert await whoami(anonymous) == {"username": "AnonymousUser", "authenticated": False}
    async with connect(django, "/app/me/", session_cookie) as alice:
        assert await whoami(alice) == {"username": USERNAME, "authenticated": True}


async def test_login_required_refuses_the_anonymous_socket_and_accepts_the_user(
    django: SubprocessServer, session_cookie: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(django, "/app/private/"):
            pass
    assert refused.value.response.status_code == 403
    async with connect(django, "/app/private/", session_cookie) as alice:
        assert await whoami(alice) == {"username": USERNAME, "authenticated": True}


async def test_allowed_hosts_origin_validator_refuses_foreign_and_missing_origins(
    django: SubprocessServer,
) -> None:
    for bad in ("http://evil.example", None):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(django, "/ws/lobby/", origin=bad):
                pass
        assert refused.value.response.status_code == 403, bad


async def test_chgens_origin_check_stays_out_of_the_way_of_allowed_hosts(
    django: SubprocessServer,
) -> None:
    # localhost is in ALLOWED_HOSTS but is not the host the socket was opened on
    # (127.0.0.1): Django's validator admits it, and chgen's router inside Channels'
    # URLRouter leaves the decision to Django.
    async with connect(django, "/ws/lobby/", origin=f"http://localhost:{django.port}") as ws:
        say = {"type": "say", "id": 1, "data": {"text": "hi"}}
        await send_json(ws, {"stream": "echo", "payload": say})
        assert await recv_json(ws) == {"stream": "echo", "payload": say}


async def test_chat_example_works_through_the_django_stack(
    django: SubprocessServer, session_cookie: str
) -> None:
    room, elsewhere = room_name("lobby"), room_name("other")

    async with (
        connect(django, f"/ws/{room}/", session_cookie) as alice,
        connect(django, f"/ws/{room}/") as bob,
        connect(django, f"/ws/{elsewhere}/") as carol,
    ):
        await send_json(alice, post(1, "hello from Django"))
        ack, posted = split_ack_and_posted(await recv_many(alice, 2))
        assert ack == {"type": "post", "id": 1, "data": {"id": ack["data"]["id"]}}
        assert posted == {
            "type": "posted",
            "data": {"id": ack["data"]["id"], "text": "hello from Django"},
        }
        assert await recv_json(bob) == chat(posted)
        await assert_silent(carol)
        # Validation errors and the second stream behave as without Django.
        await send_json(bob, chat({"type": "post", "id": 2, "data": {"text": 5}}))
        error = (await recv_json(bob))["payload"]
        assert (error["type"], error["id"], error["error"]["code"]) == ("error", 2, "invalid")
        say = {"type": "say", "id": 3, "data": {"text": "hi"}}
        await send_json(bob, {"stream": "echo", "payload": say})
        assert await recv_json(bob) == {"stream": "echo", "payload": say}


# -- chgen and hand-written Channels consumers in the same groups -------------------------


async def test_chgen_group_event_reaches_a_hand_written_channels_consumer(
    django: SubprocessServer,
) -> None:
    room = room_name("mixed")

    async with (
        connect(django, f"/ws/{room}/") as member,
        connect(django, f"/watch/{room}/") as watcher,
    ):
        await send_json(member, post(1, "seen by Channels"))
        _, posted = split_ack_and_posted(await recv_many(member, 2))
        # RoomWatcher.chgen_event got {"type": "chgen.event", "group", "source", "frame"}.
        assert await recv_json(watcher) == {
            "chgen": posted,
            "source": "Chat",
            "group": f"room.{room}",
        }


async def test_a_channels_consumer_with_chgen_watermark_lives_through_watermarks(
    django: SubprocessServer,
) -> None:
    room = room_name("marks")

    async with (
        connect(django, f"/ws/{room}/") as member,
        connect(django, f"/watch/{room}/") as watcher,
    ):
        await send_json(member, post(1, "first"))
        await recv_many(member, 2)
        assert (await recv_json(watcher))["chgen"]["data"]["text"] == "first"

        async def three_watermarks() -> bool:
            # 0.05 s after the post, then 0.1 s and 0.2 s apart.
            await send_json(watcher, {"watermarks": True})
            return (await recv_json(watcher))["watermarks"] == 3

        await eventually(three_watermarks, "three watermarks reached RoomWatcher")
        # Its socket is alive and still gets chgen's events.
        await send_json(member, post(2, "second"))
        assert (await recv_json(watcher))["chgen"]["data"]["text"] == "second"


async def test_channels_chat_message_reaches_a_chgen_consumer_through_its_layer_mapping(
    django: SubprocessServer,
) -> None:
    room = room_name("mapped")

    async with (
        connect(django, f"/app/room/{room}/") as listener,
        connect(django, f"/watch/{room}/") as watcher,
    ):
        await send_json(watcher, {"say": "hello, chgen"})
        # It really went to the group: the watcher itself is a member and got it.
        assert await recv_json(watcher) == {"chat.message": "hello, chgen"}
        # Listener.chat_message got ChatMessage(text=...) and sent a heard event.
        assert await recv_json(listener) == {"type": "heard", "data": {"text": "hello, chgen"}}


async def test_invalid_chat_message_is_dropped_with_a_warning_and_the_socket_lives_on(
    django: SubprocessServer,
) -> None:
    room = room_name("invalid")
    seen = len(django.output())

    async with (
        connect(django, f"/app/room/{room}/") as listener,
        connect(django, f"/watch/{room}/") as watcher,
    ):
        await send_json(watcher, {"say": 5})  # ChatMessage.text must be a string
        assert await recv_json(watcher) == {"chat.message": 5}
        await assert_silent(listener)
        await eventually(lambda: INVALID_CHAT_MESSAGE in django.output()[seen:], "warning")
        await send_json(watcher, {"say": "valid"})
        assert await recv_json(listener) == {"type": "heard", "data": {"text": "valid"}}


async def test_unmapped_chat_message_is_dropped_with_a_warning_and_the_socket_lives_on(
    django: SubprocessServer,
) -> None:
    """The chat example's consumers map no layer message: they log and drop it."""
    room = room_name("drop")
    seen = len(django.output())

    async with (
        connect(django, f"/ws/{room}/") as member,
        connect(django, f"/watch/{room}/") as watcher,
    ):
        await send_json(watcher, {"say": "hello, chat?"})
        assert await recv_json(watcher) == {"chat.message": "hello, chat?"}
        await assert_silent(member)
        await eventually(lambda: DROPPED_CHAT_MESSAGE in django.output()[seen:], "warning")
        # The chgen socket and its group delivery keep working.
        await send_json(member, post(7, "still here"))
        _, posted = split_ack_and_posted(await recv_many(member, 2))
        assert posted["data"]["text"] == "still here"
        assert (await recv_json(watcher))["chgen"] == posted


async def test_hand_written_consumer_reaches_chgen_with_a_chgen_event_envelope(
    django: SubprocessServer,
) -> None:
    """A Channels consumer may also send what chgen's group_send_event sends: members
    running the named consumer (``source``) forward the frame to their clients as is."""
    room = room_name("relay")

    async with (
        connect(django, f"/ws/{room}/") as member,
        connect(django, f"/watch/{room}/") as watcher,
    ):
        await send_json(watcher, {"post": "from a Channels consumer"})
        frame = {"type": "posted", "data": {"id": 0, "text": "from a Channels consumer"}}
        assert await recv_json(member) == chat(frame)
        assert (await recv_json(watcher))["chgen"] == frame
        await assert_silent(member)


# -- in this process: Channels' test tools and in-memory layer ----------------------------


async def communicator_post(
    communicator: Any, app: Any, room: str, others: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[Any]]:
    """Connect a sender to ``room`` (and one client to each room of ``others``), post once.

    Returns the sender's ``posted`` payload and the other communicators, still connected.
    """
    sender = communicator(app, f"/ws/{room}/")
    assert await sender.connect() == (True, None)
    peers = [communicator(app, f"/ws/{r}/") for r in others]
    for peer in peers:
        assert (await peer.connect())[0]
    await sender.send_json_to(post(1, "via communicator"))
    frames = [await sender.receive_json_from(timeout=2) for _ in range(2)]
    ack, posted = split_ack_and_posted(frames)
    assert ack == {"type": "post", "id": 1, "data": {"id": posted["data"]["id"]}}
    assert posted["data"]["text"] == "via communicator"
    await sender.disconnect()
    return posted, peers


async def test_websocket_communicator_drives_the_generated_chat_app() -> None:
    communicator = websocket_communicator()

    client = communicator(chat_routing.application, "/ws/lobby/")
    connected, subprotocol = await client.connect()
    assert connected and subprotocol is None
    await client.send_json_to(post(1, "hi"))
    frames = [await client.receive_json_from(timeout=2) for _ in range(2)]
    ack, posted = split_ack_and_posted(frames)
    assert ack["id"] == 1 and ack["data"] == {"id": posted["data"]["id"]}
    assert posted["data"]["text"] == "hi"
    await client.send_to(text_data="not json")
    error = await client.receive_json_from(timeout=2)
    assert error["type"] == "error" and error["error"]["code"] == "bad_json"
    assert await client.receive_nothing(timeout=0.1)
    await client.disconnect()


async def test_chat_room_broadcast_on_channels_in_memory_layer() -> None:
    communicator = websocket_communicator()
    layer = ChannelsInMemoryLayer()
    app = Router(chat_routing.routes, layer=layer)

    posted, peers = await communicator_post(communicator, app, "lobby", ("lobby", "hall"))
    same_room, other_room = peers
    assert await same_room.receive_json_from(timeout=2) == chat(posted)
    assert await other_room.receive_nothing(timeout=0.2)
    for peer in peers:
        await peer.disconnect()
    # Every socket left its groups when it closed.
    assert layer.groups == {}


class RoomMember(JsonWebsocketConsumer):
    """A bare runtime consumer whose group name comes straight from the path."""

    consumer_name: ClassVar[str] = "RoomMember"
    connection_group_templates: ClassVar[tuple[str, ...]] = ("room.{room}",)


async def test_group_names_must_follow_channels_rules_on_a_channels_layer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Channels' layers (and RedisChannelLayer) only take ASCII ``[A-Za-z0-9._-]`` group names
    shorter than 100 characters; chgen's own layer takes any. A socket whose group name
    breaks the rule is refused (1011 before accept: HTTP 403 from a real server)."""
    communicator = websocket_communicator()
    app = Router([route(r"^/r/(?P<room>[^/]+)/$", RoomMember)], layer=ChannelsInMemoryLayer())
    fine = communicator(app, "/r/plain-name/")
    assert await fine.connect() == (True, None)
    await fine.disconnect()
    refused = communicator(app, "/r/caf\u00e9/")
    assert await refused.connect() == (False, 1011)
    assert "Group name must be a valid unicode string" in caplog.text
