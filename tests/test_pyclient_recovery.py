"""End to end: the generated Python client recovers the group events it missed while its
connection was cut, through the same typed listeners as live ones, and says so per stream
and for the socket. Served: tests/fixtures/recovery_app.py (the chat app whose chat stream
keeps each room's events, and serves the chat consumer alone, keeping its events for 1 s)
under uvicorn.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest
from e2e.server import REPO_ROOT, SubprocessServer, eventually

from chgen.runtime.client import ChgenClient, ChgenRecovery, ChgenSocket, ClientOptions, Reconnect
from generated.chat.client import ChatStream, LobbyClient, lobby_url
from generated.chat.payloads import Post, Posted

WAIT = 5.0


@pytest.fixture(scope="module")
def recovery_app_server() -> Iterator[SubprocessServer]:
    paths = [str(REPO_ROOT / "tests" / "fixtures"), str(REPO_ROOT), os.environ.get("PYTHONPATH")]
    server = SubprocessServer(
        "recovery_app:application", env={"PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    ).start()
    try:
        yield server
    finally:
        server.close()


async def test_events_posted_while_the_connection_is_cut_arrive_on_reconnect_once_in_order(
    recovery_app_server: SubprocessServer,
) -> None:
    room = f"cut-{uuid.uuid4().hex[:8]}"
    url = lobby_url(recovery_app_server.base_url(), room=room)
    # Reconnects 0.4 s after the cut (random() = 1): the posts below happen while it is away.
    away = ClientOptions(reconnect=Reconnect(initial_delay=0.4, max_delay=0.4), random=lambda: 1)
    async with LobbyClient(url, away) as client, LobbyClient(url) as sender:
        posted: list[str] = []
        streams: list[tuple[ChgenRecovery, int]] = []
        sockets: list[ChgenRecovery] = []

        def heard(event: Posted) -> None:
            posted.append(event.text)

        client.chat.on.posted(heard)
        client.chat.on_recovery(lambda r: streams.append((r, len(posted))))
        client.connection.on_recovery(sockets.append)
        await eventually(lambda: len(sockets) == 1, "the first connect's recovery", WAIT)
        assert client.connection.recovered is False  # a first connect never is
        assert streams[0][0].groups[f"room.{room}"].reason == "new"

        for text in ("a", "b"):
            await asyncio.wait_for(sender.chat.request.post(Post(text=text)), WAIT)
        await eventually(lambda: len(posted) == 2, "the first two events", WAIT)

        socket = client.connection._socket
        assert socket is not None
        socket.transport.abort()  # the TCP connection drops under the client
        await eventually(lambda: client.connection.state == "reconnecting", "a drop", WAIT)
        for text in ("c", "d", "e", "f"):
            await asyncio.wait_for(sender.chat.request.post(Post(text=text)), WAIT)
        await eventually(lambda: len(sockets) == 2, "the reconnect's recovery", WAIT)

        assert posted == ["a", "b", "c", "d", "e", "f"]  # through the typed listener
        outcome, seen_before = streams[1]
        assert seen_before == 6  # on_recovery runs after the replayed events
        group = outcome.groups[f"room.{room}"]
        assert (outcome.stream, outcome.recovered) == ("chat", True)
        assert (group.recovered, group.replayed, group.offset) == (True, 4, 6)
        assert (sockets[1].stream, sockets[1].recovered) == (None, True)
        assert client.connection.recovered is True

        await asyncio.wait_for(sender.chat.request.post(Post(text="live")), WAIT)
        await eventually(lambda: len(posted) == 7, "the live event", WAIT)
        assert posted[6] == "live"


async def test_without_recover_the_client_is_told_nothing(
    recovery_app_server: SubprocessServer,
) -> None:
    url = lobby_url(recovery_app_server.base_url(), room=f"plain-{uuid.uuid4().hex[:8]}")
    async with LobbyClient(url, ClientOptions(recover=False)) as client:
        told: list[ChgenRecovery] = []
        client.connection.on_recovery(told.append)
        events = client.chat.events.posted()
        await asyncio.wait_for(client.chat.request.post(Post(text="hi")), WAIT)
        assert (await asyncio.wait_for(anext(events), WAIT)).text == "hi"
        assert told == [] and client.connection.recovered is None


class ShortSocket(ChatStream, ChgenSocket):
    """The chat consumer served alone (recovery_app's /short/<room>/, kept for 1 s), as
    the generated ``<Name>Socket`` classes are made."""

    def __init__(self, url: str, options: ClientOptions | None = None) -> None:
        ChgenSocket.__init__(self, url, options)
        ChatStream.__init__(self, self._stream())


@pytest.mark.scenario_timeout(30)
async def test_away_longer_than_the_history_keeps_is_told_per_group_and_nothing_is_replayed(
    recovery_app_server: SubprocessServer,
) -> None:
    room = f"short-{uuid.uuid4().hex[:8]}"
    url = ChgenClient.url(recovery_app_server.base_url(), "/short/{room}/", room=room)
    # Away 1.6 s: longer than the 1 s this route keeps its events.
    away = ClientOptions(reconnect=Reconnect(initial_delay=1.6, max_delay=1.6), random=lambda: 1)
    async with (
        ShortSocket(url, away) as client,
        ShortSocket(url, ClientOptions(recover=False)) as sender,
    ):
        posted: list[str] = []
        streams: list[ChgenRecovery] = []
        client.on.posted(lambda event: posted.append(event.text))
        client.on_recovery(streams.append)
        await eventually(lambda: len(streams) == 1, "the first connect's recovery", WAIT)
        await asyncio.wait_for(sender.request.post(Post(text="first")), WAIT)
        await eventually(lambda: posted == ["first"], "the first event", WAIT)

        socket = client.connection._socket
        assert socket is not None
        socket.transport.abort()
        await eventually(lambda: client.connection.state == "reconnecting", "a drop", WAIT)
        await asyncio.wait_for(sender.request.post(Post(text="missed")), WAIT)
        await eventually(lambda: len(streams) == 2, "the reconnect's recovery", WAIT)

        outcome = streams[1]
        assert (outcome.stream, outcome.recovered) == (None, False)
        assert outcome.groups[f"room.{room}"].reason == "too_old"
        assert client.connection.recovered is False
        assert posted == ["first"]  # the missed event is gone, not half-replayed
