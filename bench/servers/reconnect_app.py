"""The chat app two ways, for bench/reconnect.py: keeping group history in Redis, and
keeping its posts in a database that a reconnecting client asks for the room's state.

Every route serves the example app's Chat consumer (handlers/chat.py) on a channels_redis
core layer at ``BENCH_REDIS_URL``; every process of the run uses the same layer prefix.

* ``/kept/<room>/``: Chat keeping each room's last 200 events for 120 s, as the spec's
  ``history=History(200, 120)`` generates, in Redis Streams on the layer's server: the
  store the router derives from the layer (``RedisHistory.from_url``: 100 connections
  a process, further calls wait for one).
* ``/py/kept/<room>/``: the same on a store of the same kind whose replies are read by
  redis-py's pure-Python parser even where hiredis is installed (which redis-py then
  uses everywhere else).
* ``/db/<room>/``: Chat without history, whose posts are rows of a SQLite database
  (``BENCH_SQLITE``, a file in WAL mode, created on first use): a post is inserted, its
  row id is the event's id, then it is sent to the room. A post whose text is ``"fetch"``
  is the state request a client sends after a reconnect: the consumer reads the room's
  last 50 rows and sends them as ``posted`` events, oldest first, then its ack. The
  database calls run in a worker thread (``asyncio.to_thread``), as an app must run a
  blocking driver, so the event loop goes on serving other sockets meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from typing import Any

import redis.asyncio as aioredis
from channels_redis.core import RedisChannelLayer
from redis._parsers import _AsyncRESP3Parser

from chgen.runtime import Router, route
from chgen.runtime.history.redis import MAX_CONNECTIONS, SOCKET_TIMEOUT, RedisHistory
from generated.chat.payloads import Ack, Post, Posted
from handlers.chat import Chat

STATE_EVENTS = 50  # what the state request sends back: the room's last 50 events
SCHEMA = """
PRAGMA journal_mode=WAL;  -- readers do not wait for the writer
CREATE TABLE IF NOT EXISTS events
    (id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_room ON events (room, id);
"""

_local = threading.local()  # one connection per worker thread: sqlite3's own rule


def database() -> sqlite3.Connection:
    """This thread's connection to the database, opened on first use."""
    db: sqlite3.Connection | None = getattr(_local, "db", None)
    if db is None:
        db = _local.db = sqlite3.connect(os.environ["BENCH_SQLITE"], timeout=10)
        db.executescript(SCHEMA)  # both processes may try at once: the timeout covers it
    return db


def insert(room: str, text: str) -> int:
    db = database()
    with db:
        row = db.execute("INSERT INTO events (room, text) VALUES (?, ?)", (room, text)).lastrowid
    assert row is not None
    return row


def last_events(room: str, count: int) -> list[tuple[int, str]]:
    rows = database().execute(
        "SELECT id, text FROM events WHERE room = ? ORDER BY id DESC LIMIT ?", (room, count)
    )
    return list(reversed(rows.fetchall()))


class KeptChat(Chat):
    group_history = ((None, 200, 120.0),)


class StoredChat(Chat):
    async def post(self, data: Post) -> Ack:
        room = self.kwargs["room"]
        if data.text == "fetch":
            for event_id, text in await asyncio.to_thread(last_events, room, STATE_EVENTS):
                await self.send_posted(Posted(id=event_id, text=text))
            return Ack(id=0)
        event_id = await asyncio.to_thread(insert, room, data.text)
        await self.group_send_posted(f"room.{room}", Posted(id=event_id, text=data.text))
        return Ack(id=event_id)


def layer() -> RedisChannelLayer:
    # No read timeout: redis-py 8's 5 s default fails the layer's 5 s blocking reads
    # (tests/fixtures/djangoproject/chgen_redis_app.py says more).
    hosts = [
        {
            "address": os.environ["BENCH_REDIS_URL"],
            "socket_timeout": None,
            "socket_connect_timeout": 5,
        }
    ]
    return RedisChannelLayer(hosts=hosts)


def python_parsed_history() -> RedisHistory:
    """A store like ``RedisHistory.from_url``'s, its replies read by redis-py's pure-Python
    parser (redis-py has no public name for its parser of RESP3, the protocol it speaks)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        os.environ["BENCH_REDIS_URL"],
        max_connections=MAX_CONNECTIONS,
        timeout=SOCKET_TIMEOUT,  # seconds a call waits for a free connection
        socket_connect_timeout=SOCKET_TIMEOUT,
        socket_timeout=SOCKET_TIMEOUT,
        parser_class=_AsyncRESP3Parser,
    )
    return RedisHistory(aioredis.Redis.from_pool(pool))


ROOM = "(?P<room>[a-z0-9-]+)"
LAYER = layer()  # one layer for both routers: one membership per group and process

main = Router(
    [route(f"^/kept/{ROOM}/$", KeptChat), route(f"^/db/{ROOM}/$", StoredChat)], layer=LAYER
)
python_parser = Router(
    [route(f"^/py/kept/{ROOM}/$", KeptChat)], layer=LAYER, history=python_parsed_history()
)


async def application(scope: Any, receive: Any, send: Any) -> None:
    app = python_parser if scope.get("path", "").startswith("/py/") else main
    await app(scope, receive, send)
