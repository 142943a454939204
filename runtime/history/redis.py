"""Group history in Redis Streams: one store shared by every process of a deployment.

Each stream has two keys, named with the stream's name as a hash tag so both live in one
Redis Cluster slot. The store calls that name ``group``; the runtime names a consumer's
stream in a group ``<consumer>:<group>`` (``chgen.runtime.retention.stream_key``):

* ``<prefix>{<group>}:m``, the stream's meta (a hash): its epoch ``e`` and the offset ``s``
  of its newest event; it expires ``meta_ttl`` seconds after the group was last used.
* ``<prefix>{<group>}:s``, the stream: each event an entry whose ID is its offset
  (``<offset>-0``, so a replay is one ``XRANGE`` from the offset), with the message
  (``d``, msgpack, as channels_redis serialises layer messages) and when it was appended
  (``t``, Redis' clock in milliseconds). ``XADD ... MAXLEN size`` bounds it by size; every
  append and read drops the entries older than ttl; the key itself expires ttl after the
  last append, so a group nobody appends to uses nothing after its ttl.

An append and a read are each one Lua script (after Centrifugo's Redis broker), so many
processes appending to one group still get offsets without holes or repeats. When the
meta is missing (never written, flushed, evicted, Redis restarted without persistence),
or was written before Redis last started (its ``run_id`` differs: a restart that loaded a
snapshot, a failover), the script starts a new epoch (from the caller, 64 random bits)
and deletes what is left of the stream: positions of the old epoch are then told
``epoch_changed``, never given a partial replay.

Redis errors (refused connection, timeout, a server still loading) raise
``HistoryUnavailable`` from ``append`` and ``top`` and answer ``since`` with
``Unrecoverable(UNAVAILABLE)``; the store logs one line when Redis becomes unreachable
and one when it answers again, not one per call.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Final

from .memory import META_TTL, new_epoch
from .store import (
    EPOCH_CHANGED,
    TOO_OLD,
    UNAVAILABLE,
    Entry,
    HistoryUnavailable,
    Missed,
    Position,
    Retention,
    Unrecoverable,
)

try:
    import msgpack  # type: ignore[import-untyped]
    import redis.asyncio as aioredis
    import redis.exceptions
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "chgen.runtime.history.redis needs the redis and msgpack packages: "
        "pip install 'chgen[redis]'"
    ) from exc

__all__ = ["DEFAULT_PREFIX", "MAX_CONNECTIONS", "SOCKET_TIMEOUT", "RedisHistory"]

DEFAULT_PREFIX: Final = "chgen:history:"
# Seconds a command may take before Redis counts as unreachable (for a store built from
# a URL); history is on the path of every group send, so it must not hang one.
SOCKET_TIMEOUT: Final = 5.0
# Connections a store built from a URL opens at most, per process. A call beyond them
# waits (up to SOCKET_TIMEOUT) for one to be free: a mass reconnect makes hundreds of
# replays at once, and redis-py's default pool fails every call past its limit instead.
MAX_CONNECTIONS: Final = 100

_log = logging.getLogger("chgen.runtime.history")

# Errors that mean "Redis cannot be reached or cannot answer now", not a bug in a call.
_UNREACHABLE = (
    redis.exceptions.ConnectionError,  # also BusyLoadingError: a server loading its data
    redis.exceptions.TimeoutError,
    OSError,
)

# Drops the events older than the ttl from the front of the stream. Entries are in
# time order, so it reads the front in small batches until it meets one still young
# (each entry is looked at once over its life: amortised O(1) a call).
_TRIM_BY_AGE: Final = """
local function trim_by_age(stream, oldest_ms)
    while true do
        local front = redis.call("xrange", stream, "-", "+", "COUNT", 16)
        if #front == 0 then return end
        for i = 1, #front do
            local fields = front[i][2]
            local t = 0
            for j = 1, #fields, 2 do
                if fields[j] == "t" then t = tonumber(fields[j + 1]) end
            end
            if t > oldest_ms then
                if i > 1 then redis.call("xtrim", stream, "MINID", front[i][1]) end
                return
            end
        end
        local last = front[#front][1]
        local offset = tonumber(string.match(last, "^(%d+)"))
        redis.call("xtrim", stream, "MINID", tostring(offset + 1))
        if #front < 16 then return end
    end
end

local function now_ms()
    local time = redis.call("time")
    return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- The stream's epoch and top; a new epoch (and no stale entries) when the meta is gone,
-- or was written by another run of the server: a snapshot or AOF loaded at a restart, or
-- a promoted replica, may hold an older top, whose offsets would be given again.
local function meta(meta_key, stream, new_epoch, meta_ttl)
    local run = string.match(redis.call("info", "server"), "run_id:(%w+)")
    local found = redis.call("hmget", meta_key, "e", "s", "r")
    local epoch, top = found[1], tonumber(found[2] or "0")
    if epoch == false or found[3] ~= run then
        epoch, top = new_epoch, 0
        redis.call("del", stream)
        redis.call("hset", meta_key, "e", epoch, "s", 0, "r", run)
    end
    redis.call("expire", meta_key, meta_ttl)
    return epoch, top
end
"""

# KEYS: meta, stream. ARGV: message, size, ttl (ms), meta ttl (s), new epoch.
_APPEND: Final = (
    _TRIM_BY_AGE
    + """
local meta_key, stream = KEYS[1], KEYS[2]
local size, ttl_ms = tonumber(ARGV[2]), tonumber(ARGV[3])
local epoch = meta(meta_key, stream, ARGV[5], ARGV[4])
local top = redis.call("hincrby", meta_key, "s", 1)
local now = now_ms()
redis.call("xadd", stream, "MAXLEN", size, string.format("%d-0", top), "d", ARGV[1],
           "t", string.format("%d", now))
trim_by_age(stream, now - ttl_ms)
redis.call("pexpire", stream, ttl_ms)
return {epoch, top}
"""
)

# KEYS: meta, stream. ARGV: after offset, size, ttl (ms), meta ttl (s), new epoch.
# Returns the epoch, the top, and the entries from after + 1 on (none when after >= top).
_SINCE: Final = (
    _TRIM_BY_AGE
    + """
local meta_key, stream = KEYS[1], KEYS[2]
local after, size, ttl_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local epoch, top = meta(meta_key, stream, ARGV[5], ARGV[4])
trim_by_age(stream, now_ms() - ttl_ms)
if after < 0 or after >= top then return {epoch, top, {}} end
redis.call("xtrim", stream, "MAXLEN", size)
return {epoch, top, redis.call("xrange", stream, string.format("%d-0", after + 1), "+")}
"""
)


class RedisHistory:
    """A ``HistoryStore`` in Redis Streams, for apps served by several processes.

    Give it a ``redis.asyncio.Redis`` client, or build one with ``from_url``. Every
    process of an app must use the same Redis database and ``prefix``.
    """

    def __init__(
        self, client: aioredis.Redis, prefix: str = DEFAULT_PREFIX, meta_ttl: float = META_TTL
    ) -> None:
        if client.get_connection_kwargs().get("decode_responses"):  # type: ignore[no-untyped-call]
            raise ValueError(
                "RedisHistory needs a client without decode_responses: events are kept as "
                "msgpack bytes"
            )
        self.client = client
        self.prefix = prefix
        self.meta_ttl = meta_ttl
        self._append = client.register_script(_APPEND)
        self._since = client.register_script(_SINCE)
        self._down = False  # Redis was unreachable at the last call: logged once

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        meta_ttl: float = META_TTL,
        max_connections: int = MAX_CONNECTIONS,
    ) -> RedisHistory:
        """A store on its own client for ``url`` (``redis://host:port/db``), with bounded
        connect and command timeouts, and at most ``max_connections`` connections: calls
        beyond them wait for a free one, up to the same timeout, then count as Redis
        being unreachable (``unavailable``)."""
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
        )
        return cls(aioredis.Redis.from_pool(pool), prefix, meta_ttl)

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()

    async def append(self, group: str, message: dict[str, Any], retention: Retention) -> Position:
        data = _pack(group, message)
        answer = await self._run(self._append, group, data, retention)
        return Position(_text(answer[0]), int(answer[1]))

    async def top(self, group: str, retention: Retention) -> Position:
        # A read of nothing: the same script as since, after the top.
        answer = await self._run(self._since, group, -1, retention, read=True)
        return Position(_text(answer[0]), int(answer[1]))

    async def since(
        self, group: str, after: Position, retention: Retention
    ) -> Missed | Unrecoverable:
        try:
            answer = await self._run(self._since, group, after.offset, retention, read=True)
        except HistoryUnavailable:
            return Unrecoverable(UNAVAILABLE)
        epoch, top_offset, raw = _text(answer[0]), int(answer[1]), answer[2]
        top = Position(epoch, top_offset)
        if after.epoch != epoch or not 0 <= after.offset <= top_offset:
            return Unrecoverable(EPOCH_CHANGED, top)
        if after.offset == top_offset:
            return Missed((), top)
        entries = tuple(_entry(entry_id, fields) for entry_id, fields in raw)
        # Kept offsets have no holes: the replay is whole if it starts right after the
        # position and ends at the top.
        if not entries or entries[0].offset != after.offset + 1 or entries[-1].offset != top_offset:
            return Unrecoverable(TOO_OLD, top)
        return Missed(entries, top)

    async def _run(
        self, script: Any, group: str, arg: Any, retention: Retention, *, read: bool = False
    ) -> Any:
        keys = (f"{self.prefix}{{{group}}}:m", f"{self.prefix}{{{group}}}:s")
        args = (arg, retention.size, max(1, round(retention.ttl * 1000)),
                max(1, round(max(self.meta_ttl, retention.ttl))), new_epoch())  # fmt: skip
        try:
            answer = await script(keys=keys, args=args)
        except _UNREACHABLE as exc:
            # The pool's idle connections are as dead as this one after a Redis restart:
            # drop them, so each caller does not meet one in turn.
            with contextlib.suppress(*_UNREACHABLE):
                await self.client.connection_pool.disconnect(inuse_connections=False)
            if not read:
                # An append is not repeated: Redis may have run it before the connection
                # dropped, and a second run would keep the event twice.
                raise self._unreachable(exc) from exc
            try:
                answer = await script(keys=keys, args=args)
            except _UNREACHABLE as again:
                raise self._unreachable(again) from again
        if self._down:
            self._down = False
            _log.info("group history: Redis answers again")
        return answer

    def _unreachable(self, exc: BaseException) -> HistoryUnavailable:
        if not self._down:
            self._down = True
            _log.warning(
                "group history: Redis is unreachable (%s: %s); recovery is unavailable until "
                "it answers", type(exc).__name__, exc,
            )  # fmt: skip
        return HistoryUnavailable(f"Redis is unreachable: {exc}")


def _pack(group: str, message: dict[str, Any]) -> bytes:
    try:
        return msgpack.packb(message, use_bin_type=True)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError) as exc:  # UnicodeEncodeError is a ValueError
        raise ValueError(
            f"a message to group {group!r} cannot be kept in Redis history: {exc}; a layer "
            "message holds only None, bool, int (64-bit), float, str (valid Unicode), "
            "bytes, lists and dicts with str keys"
        ) from exc


def _entry(entry_id: bytes, fields: list[bytes]) -> Entry:
    pairs = dict(zip(fields[::2], fields[1::2], strict=True))
    message = msgpack.unpackb(pairs[b"d"], raw=False)
    return Entry(int(entry_id.split(b"-", 1)[0]), message)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
