"""(e) The generated chgen app, typed and validated: ``mux`` is exactly
``generated.chat.routing``'s routes (the Lobby demultiplexer with streams chat and echo);
``plain`` serves the same generated consumers each on its own route (Chat on
``/ws/<room>/``, Echo on ``/echo/<room>/``), without the envelope; ``mux_custom`` is
``mux`` with a multiplexer class of its own, whose frames all take ``Multiplexer.send``.

``BENCH_LAYER`` picks the channel layer: ``inmem`` (chgen's own, the default),
``redis-core`` or ``redis-pubsub`` (channels_redis, at ``BENCH_REDIS_URL``). On Redis,
watermarks are on (0.25 s), as docs/runtime.md recommends for a layer that can drop
group events silently.

One load client socket sends far more than any person (thousands of messages a second),
so the consumers' inbound rate limits are raised out of its way; the limiter still runs
for every message and its cost is in the figures. ``BENCH_RATE_LIMIT`` (messages a
second) sets a real limit instead, for the flood workload; ``BENCH_STALL_TIMEOUT`` the
seconds a socket that stops reading keeps its place (default 30, as the Router's).
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from chgen.runtime import Multiplexer, Router, route
from generated.chat.routing import Lobby, routes
from handlers.chat import Chat, Echo

RATE_LIMIT = float(os.environ.get("BENCH_RATE_LIMIT", "1e9"))
for consumer in (Chat, Echo, Lobby):
    consumer.rate_limit = RATE_LIMIT
# Seconds a socket that stops reading keeps its place (the Router's stall_timeout); the
# stalled-reader workload shortens it.
STALL_TIMEOUT = float(os.environ.get("BENCH_STALL_TIMEOUT", "30"))


def make_layer() -> Any:
    layer = os.environ.get("BENCH_LAYER", "inmem")
    if layer == "inmem":
        return None  # the Router's default: runtime.InMemoryChannelLayer
    hosts = [{"address": os.environ["BENCH_REDIS_URL"], "socket_timeout": None}]
    if layer == "redis-core":
        from channels_redis.core import RedisChannelLayer

        return RedisChannelLayer(hosts=hosts)
    if layer == "redis-pubsub":
        from channels_redis.pubsub import RedisPubSubChannelLayer

        return RedisPubSubChannelLayer(hosts=hosts)
    raise SystemExit(f"unknown BENCH_LAYER {layer!r}")


ROOM = "(?P<room>[a-z0-9-]+)"

WATERMARK = None if os.environ.get("BENCH_LAYER", "inmem") == "inmem" else 0.25

mux = Router(routes, layer=make_layer(), gap_watermark=WATERMARK, stall_timeout=STALL_TIMEOUT)
plain = Router(
    [route(f"^/ws/{ROOM}/$", Chat), route(f"^/echo/{ROOM}/$", Echo)],
    layer=make_layer(),
    gap_watermark=WATERMARK,
    stall_timeout=STALL_TIMEOUT,
)


class _SameEnvelope(Multiplexer):
    """A multiplexer class that writes the stock envelope through its own encode_json:
    what any custom envelope costs, whatever it changes."""

    @classmethod
    def encode_json(cls, content: Any) -> str:
        return orjson.dumps(content).decode()


class _CustomLobby(Lobby):
    multiplexer_class = _SameEnvelope


# The mux app with a custom multiplexer class: every stream frame through Multiplexer.send.
mux_custom = Router(
    [route(f"^/ws/{ROOM}/$", _CustomLobby)],
    layer=make_layer(),
    gap_watermark=WATERMARK,
    stall_timeout=STALL_TIMEOUT,
)
