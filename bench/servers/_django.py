"""Django settings shared by the Channels and chanx servers, chosen by environment.

``BENCH_LAYER``: ``inmem`` (Channels' InMemoryChannelLayer, the default), ``redis-core``
(channels_redis.core.RedisChannelLayer) or ``redis-pubsub``
(channels_redis.pubsub.RedisPubSubChannelLayer); ``BENCH_REDIS_URL`` for the latter two.
A sqlite database is configured, as in any ``startproject`` project: Channels closes old
database connections around every message whether or not a handler uses the database.
"""

from __future__ import annotations

import os
from typing import Any


def redis_hosts() -> list[dict[str, Any]]:
    # socket_timeout=None: with redis-py 8, channels_redis' idle readers otherwise die
    # after the default 5 s socket timeout.
    return [{"address": os.environ["BENCH_REDIS_URL"], "socket_timeout": None}]


def channel_layers() -> dict[str, Any]:
    layer = os.environ.get("BENCH_LAYER", "inmem")
    if layer == "inmem":
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    if layer == "redis-core":
        return {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": redis_hosts()},
            }
        }
    if layer == "redis-pubsub":
        return {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": redis_hosts()},
            }
        }
    raise SystemExit(f"unknown BENCH_LAYER {layer!r}")


def setup(*apps: str) -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="bench-only",
            ALLOWED_HOSTS=["*"],
            INSTALLED_APPS=["channels", *apps],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            CHANNEL_LAYERS=channel_layers(),
            USE_TZ=True,
            LOGGING_CONFIG=None,
        )
    django.setup()
