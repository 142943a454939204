"""Every history backend keeps the contract of chgen.runtime.history.store.

The same tests run against each backend (the ``backend`` fixture): offsets without holes
from 1, exact and ordered replays, never a partial replay (``too_old`` when trimmed by
size or by age, ``epoch_changed`` once the stored state is lost), size and age as hard
bounds, concurrent appends, and layer messages that come back exactly as they were sent.

A backend under test can ``age`` its events (a clock for the in-process store) and
``lose`` its state (a restart of the process that holds it).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
from redis_server import RedisServer, redis_server

from chgen.runtime.history import (
    EPOCH_CHANGED,
    TOO_OLD,
    UNAVAILABLE,
    HistoryStore,
    HistoryUnavailable,
    Missed,
    Position,
    Retention,
    Unrecoverable,
)
from chgen.runtime.history.memory import MemoryHistory
from chgen.runtime.history.redis import RedisHistory

KEEP = Retention(size=100, ttl=60.0)


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class MemoryBackend:
    """The in-process store; its state is lost when the process restarts."""

    name = "memory"

    def __init__(self) -> None:
        self.clock = Clock()
        self.store: MemoryHistory = MemoryHistory(clock=self.clock)

    async def age(self, seconds: float) -> None:
        self.clock.now += seconds

    async def lose(self) -> None:
        """The process restarts: a new, empty store."""
        self.store = MemoryHistory(clock=self.clock)

    async def kept(self, group: str) -> int:
        return self.store.kept(group)


class RedisBackend:
    """Redis Streams on a real redis-server; its state is lost when Redis restarts
    without persistence (``kill -9``, then started again, empty)."""

    name = "redis"

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.store = RedisHistory.from_url(server.url, prefix="test:")
        self._raw = redis.Redis.from_url(server.url)

    async def age(self, seconds: float) -> None:
        await asyncio.sleep(seconds)  # Redis ages events by its own clock

    async def lose(self) -> None:
        self.server.kill()
        self.server.restart()

    async def kept(self, group: str) -> int:
        return int(self._raw.xlen(f"test:{{{group}}}:s"))


Backend = MemoryBackend | RedisBackend


@pytest.fixture(scope="module")
def redis_at() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    server: RedisServer = request.getfixturevalue("redis_at")
    raw = redis.Redis.from_url(server.url)
    raw.flushall()
    made = RedisBackend(server)
    try:
        yield made
    finally:
        made._raw.close()
        raw.close()


def message(n: int) -> dict[str, Any]:
    return {"type": "chgen.event", "frame": f'{{"type":"posted","data":{{"n":{n}}}}}', "n": n}


async def append_all(
    store: HistoryStore, group: str, count: int, ret: Retention = KEEP
) -> list[Position]:
    return [await store.append(group, message(n), ret) for n in range(1, count + 1)]


def missed(answer: Missed | Unrecoverable) -> list[int]:
    assert isinstance(answer, Missed), answer
    return [entry.offset for entry in answer.entries]


def refused(answer: Missed | Unrecoverable) -> str:
    assert isinstance(answer, Unrecoverable), answer
    return answer.reason


# -- offsets and replays -----------------------------------------------------------------


async def test_offsets_start_at_1_without_holes_in_one_epoch(backend: Backend) -> None:
    positions = await append_all(backend.store, "room.a", 5)
    assert [p.offset for p in positions] == [1, 2, 3, 4, 5]
    assert len({p.epoch for p in positions}) == 1
    assert await backend.store.top("room.a", KEEP) == positions[-1]


async def test_top_of_a_group_without_events_is_offset_0_and_its_epoch_stays(
    backend: Backend,
) -> None:
    first = await backend.store.top("room.empty", KEEP)
    assert first.offset == 0
    assert await backend.store.top("room.empty", KEEP) == first
    assert await backend.store.since("room.empty", first, KEEP) == Missed((), first)
    appended = await backend.store.append("room.empty", message(1), KEEP)
    assert appended == Position(first.epoch, 1)


async def test_since_gives_exactly_the_events_after_the_position_in_order(
    backend: Backend,
) -> None:
    positions = await append_all(backend.store, "room.a", 6)
    answer = await backend.store.since("room.a", positions[1], KEEP)
    assert isinstance(answer, Missed)
    assert [(e.offset, e.message) for e in answer.entries] == [(n, message(n)) for n in range(3, 7)]
    assert answer.top == positions[-1]
    assert missed(await backend.store.since("room.a", Position(positions[0].epoch, 0), KEEP)) == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert missed(await backend.store.since("room.a", positions[-1], KEEP)) == []


async def test_groups_have_streams_of_their_own(backend: Backend) -> None:
    a = await append_all(backend.store, "room.a", 3)
    b = await append_all(backend.store, "room.b", 2)
    assert [p.offset for p in b] == [1, 2]
    assert a[0].epoch != b[0].epoch
    assert missed(await backend.store.since("room.b", Position(b[0].epoch, 0), KEEP)) == [1, 2]
    assert refused(await backend.store.since("room.b", a[0], KEEP)) == EPOCH_CHANGED


async def test_a_position_not_of_this_stream_is_another_epoch(backend: Backend) -> None:
    positions = await append_all(backend.store, "room.a", 3)
    epoch = positions[0].epoch
    for stranger in (Position("x" + epoch, 1), Position(epoch, 4), Position(epoch, -1)):
        answer = await backend.store.since("room.a", stranger, KEEP)
        assert answer == Unrecoverable(EPOCH_CHANGED, positions[-1]), stranger


# -- never a partial replay ------------------------------------------------------------------


async def test_trimmed_by_size_the_older_positions_are_too_old(backend: Backend) -> None:
    small = Retention(size=3, ttl=60.0)
    positions = await append_all(backend.store, "room.a", 5, small)
    top = positions[-1]
    assert await backend.kept("room.a") == 3
    assert missed(await backend.store.since("room.a", positions[1], small)) == [3, 4, 5]
    for gone in (Position(top.epoch, 0), positions[0]):
        assert await backend.store.since("room.a", gone, small) == Unrecoverable(TOO_OLD, top)


async def test_trimmed_by_age_the_older_positions_are_too_old(backend: Backend) -> None:
    short = Retention(size=100, ttl=1.0)
    old = await append_all(backend.store, "room.a", 2, short)
    await backend.age(0.6)
    newer = await backend.store.append("room.a", message(3), short)
    await backend.age(0.6)  # events 1 and 2 are 1.2 s old now, event 3 only 0.6 s
    assert refused(await backend.store.since("room.a", old[0], short)) == TOO_OLD
    assert missed(await backend.store.since("room.a", old[1], short)) == [3]
    assert await backend.kept("room.a") == 1
    await backend.age(0.6)
    assert refused(await backend.store.since("room.a", old[1], short)) == TOO_OLD
    # A socket that had seen the newest event missed nothing, even with nothing kept.
    assert await backend.store.since("room.a", newer, short) == Missed((), newer)


async def test_lost_state_is_a_new_epoch_never_a_partial_replay(backend: Backend) -> None:
    positions = await append_all(backend.store, "room.a", 4)
    await backend.lose()
    answer = await backend.store.since("room.a", positions[1], KEEP)
    assert refused(answer) == EPOCH_CHANGED
    assert isinstance(answer, Unrecoverable) and answer.top is not None
    assert answer.top.epoch != positions[0].epoch
    again = await backend.store.append("room.a", message(1), KEEP)
    assert again == Position(answer.top.epoch, 1)
    assert refused(await backend.store.since("room.a", positions[-1], KEEP)) == EPOCH_CHANGED


# -- bounds ----------------------------------------------------------------------------------


async def test_size_is_a_hard_bound(backend: Backend) -> None:
    small = Retention(size=4, ttl=60.0)
    for n in range(1, 31):
        await backend.store.append("room.a", message(n), small)
        assert await backend.kept("room.a") == min(n, 4)


async def test_a_group_nobody_appends_to_keeps_nothing_after_its_ttl(backend: Backend) -> None:
    short = Retention(size=100, ttl=1.0)
    await append_all(backend.store, "room.idle", 10, short)
    await backend.age(1.5)
    await backend.store.append("room.busy", message(1), short)  # activity elsewhere only
    assert await backend.kept("room.idle") == 0


# -- concurrency -----------------------------------------------------------------------------


async def test_concurrent_appends_get_unique_ordered_offsets(backend: Backend) -> None:
    big = Retention(size=1000, ttl=60.0)
    tasks, each = 20, 25

    async def sender(task: int) -> list[tuple[Position, dict[str, Any]]]:
        sent = []
        for n in range(each):
            body = {"type": "chgen.event", "task": task, "n": n}
            sent.append((await backend.store.append("room.a", body, big), body))
        return sent

    results = await asyncio.gather(*(sender(t) for t in range(tasks)))
    by_offset = {pos.offset: body for sent in results for pos, body in sent}
    assert sorted(by_offset) == list(range(1, tasks * each + 1))
    for sent in results:  # each sender's own events are in the order it sent them
        offsets = [pos.offset for pos, _ in sent]
        assert offsets == sorted(offsets)
    epoch = results[0][0][0].epoch
    answer = await backend.store.since("room.a", Position(epoch, 0), big)
    assert isinstance(answer, Missed)
    assert [(e.offset, e.message) for e in answer.entries] == sorted(by_offset.items())


# -- messages --------------------------------------------------------------------------------

# Everything a channel layer message may hold: what channels_redis's msgpack carries
# (str keys; None, bools, 64-bit ints, floats, str, bytes, lists, dicts). Tuples come
# back as lists from a serialising layer, so a message holds lists.
EVERY_VALUE: dict[str, Any] = {
    "type": "chgen.event",
    "frame": '{"type":"posted","data":{"text":"h\\u00e9llo \\ud83d\\ude00"}}',
    "text": "héllo wörld — 你好 😀 \u0000 \u2028",
    "empty": "",
    "none": None,
    "yes": True,
    "no": False,
    "ints": [0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63)],
    "floats": [0.0, -0.0, 1.5, 1e-300, 1.7976931348623157e308, math.inf, -math.inf],
    "bytes": b"\x00\xff binary",
    "nested": {"list": [1, "two", [3.0, {"four": [None]}]], "deep": {"a": {"b": {"c": []}}}},
    "emptydict": {},
    "seq": 7,
}


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (True is not 1, 0.0 is not -0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)
    return bool(a == b)


async def test_messages_come_back_exactly_as_sent(backend: Backend) -> None:
    first = await backend.store.append("room.a", EVERY_VALUE, KEEP)
    nan = {"type": "chgen.event", "nan": math.nan}
    await backend.store.append("room.a", nan, KEEP)
    answer = await backend.store.since("room.a", Position(first.epoch, 0), KEEP)
    assert isinstance(answer, Missed)
    assert same(answer.entries[0].message, EVERY_VALUE), answer.entries[0].message
    assert same(answer.entries[1].message, nan)


# -- the in-process store --------------------------------------------------------------------


async def test_memory_sweeps_idle_groups_by_itself() -> None:
    store = MemoryHistory(meta_ttl=0.3)
    await store.append("room.a", message(1), Retention(size=10, ttl=0.1))
    assert store.kept() == 1
    for _ in range(100):  # the sweep runs within about a second of expiry, with no call
        if len(store) == 0:
            break
        await asyncio.sleep(0.05)
    assert store.kept() == 0
    assert len(store) == 0


async def test_memory_forgets_an_unused_stream_after_meta_ttl_then_it_is_a_new_epoch() -> None:
    clock = Clock()
    store = MemoryHistory(meta_ttl=10.0, clock=clock)
    short = Retention(size=10, ttl=1.0)
    seen = await store.append("room.a", message(1), short)
    clock.now += 5.0
    assert await store.since("room.a", seen, short) == Missed((), seen)  # a use: kept on
    clock.now += 9.0
    assert await store.since("room.a", seen, short) == Missed((), seen)
    clock.now += 10.5
    await store.top("room.other", short)  # any call sweeps
    assert len(store) == 1
    assert refused(await store.since("room.a", seen, short)) == EPOCH_CHANGED


async def test_memory_epochs_are_fresh_for_every_stream() -> None:
    epochs = {(await MemoryHistory().top("room.a", KEEP)).epoch for _ in range(50)}
    assert len(epochs) == 50


# -- the Redis store -------------------------------------------------------------------------


@pytest.fixture
def on_redis(redis_at: RedisServer) -> Iterator[RedisBackend]:
    raw = redis.Redis.from_url(redis_at.url)
    raw.flushall()
    raw.close()
    made = RedisBackend(redis_at)
    try:
        yield made
    finally:
        made._raw.close()


async def test_redis_flushall_is_a_new_epoch(on_redis: RedisBackend) -> None:
    positions = await append_all(on_redis.store, "room.a", 3)
    on_redis._raw.flushall()
    answer = await on_redis.store.since("room.a", positions[0], KEEP)
    assert refused(answer) == EPOCH_CHANGED


async def test_redis_evicted_meta_is_a_new_epoch_and_the_old_events_are_dropped(
    on_redis: RedisBackend,
) -> None:
    positions = await append_all(on_redis.store, "room.a", 3)
    on_redis._raw.delete("test:{room.a}:m")  # as an LRU eviction of that key would
    fresh = await on_redis.store.append("room.a", message(9), KEEP)
    assert fresh.offset == 1 and fresh.epoch != positions[0].epoch
    answer = await on_redis.store.since("room.a", Position(fresh.epoch, 0), KEEP)
    assert isinstance(answer, Missed)
    assert [(e.offset, e.message) for e in answer.entries] == [(1, message(9))]
    assert refused(await on_redis.store.since("room.a", positions[1], KEEP)) == EPOCH_CHANGED


async def test_redis_meta_from_another_run_of_redis_is_a_new_epoch(
    on_redis: RedisBackend,
) -> None:
    """A restart that loads a snapshot brings back an older top under the same epoch:
    the meta records the run of Redis that wrote it, and another run starts afresh."""
    positions = await append_all(on_redis.store, "room.a", 3)
    on_redis._raw.hset("test:{room.a}:m", mapping={"s": 1, "r": "0" * 40})  # as restored
    answer = await on_redis.store.since("room.a", positions[0], KEEP)
    assert refused(answer) == EPOCH_CHANGED
    fresh = await on_redis.store.append("room.a", message(4), KEEP)
    assert fresh.offset == 1 and fresh.epoch != positions[0].epoch
    assert missed(await on_redis.store.since("room.a", Position(fresh.epoch, 0), KEEP)) == [1]


async def test_redis_evicted_stream_is_too_old_never_a_partial_replay(
    on_redis: RedisBackend,
) -> None:
    positions = await append_all(on_redis.store, "room.a", 3)
    on_redis._raw.delete("test:{room.a}:s")
    assert refused(await on_redis.store.since("room.a", positions[0], KEEP)) == TOO_OLD
    assert await on_redis.store.since("room.a", positions[-1], KEEP) == Missed((), positions[-1])
    await on_redis.store.append("room.a", message(4), KEEP)
    assert refused(await on_redis.store.since("room.a", positions[1], KEEP)) == TOO_OLD
    assert missed(await on_redis.store.since("room.a", positions[-1], KEEP)) == [4]


async def test_redis_keys_expire_within_their_bounds(on_redis: RedisBackend) -> None:
    on_redis.store.meta_ttl = 30.0
    await on_redis.store.append("room.a", message(1), Retention(size=10, ttl=5.0))
    assert 0 < on_redis._raw.pttl("test:{room.a}:s") <= 5000
    assert 0 < on_redis._raw.ttl("test:{room.a}:m") <= 30


async def test_redis_many_processes_share_one_stream(on_redis: RedisBackend) -> None:
    """Four stores on their own connections, as four server processes would be."""
    stores = [RedisHistory.from_url(on_redis.server.url, prefix="test:") for _ in range(4)]
    big = Retention(size=1000, ttl=60.0)

    async def sender(store: RedisHistory, task: int) -> list[Position]:
        return [await store.append("room.a", {"task": task, "n": n}, big) for n in range(50)]

    try:
        results = await asyncio.gather(*(sender(s, t) for t, s in enumerate(stores)))
        offsets = sorted(p.offset for sent in results for p in sent)
        assert offsets == list(range(1, 201))
        assert len({p.epoch for sent in results for p in sent}) == 1
        # A process started later (an app restart) continues the same stream.
        later = RedisHistory.from_url(on_redis.server.url, prefix="test:")
        assert await later.top("room.a", big) == Position(results[0][0].epoch, 200)
        await later.aclose()
    finally:
        for store in stores:
            await store.aclose()


async def test_redis_calls_beyond_the_pool_wait_for_a_connection(on_redis: RedisBackend) -> None:
    """A mass reconnect makes hundreds of replays at once in one process: past the pool's
    connections they wait their turn, none fails as if Redis were down."""
    store = RedisHistory.from_url(on_redis.server.url, prefix="test:", max_connections=2)
    keep = Retention(size=100, ttl=60.0)
    try:
        appended = await asyncio.gather(
            *(store.append("room.a", {"n": n}, keep) for n in range(40))
        )
        assert sorted(p.offset for p in appended) == list(range(1, 41))
        start = Position(appended[0].epoch, 0)
        replays = await asyncio.gather(*(store.since("room.a", start, keep) for _ in range(40)))
        assert all(isinstance(r, Missed) and len(r.entries) == 40 for r in replays), replays[:1]
        pool = store.client.connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 2
    finally:
        await store.aclose()


async def test_redis_down_is_unavailable_logged_once_and_recovers(
    on_redis: RedisBackend, caplog: pytest.LogCaptureFixture
) -> None:
    store = on_redis.store
    seen = await store.append("room.a", message(1), KEEP)
    on_redis.server.kill()
    caplog.set_level(logging.INFO, logger="chgen.runtime.history")
    for n in range(5):
        with pytest.raises(HistoryUnavailable):
            await store.append("room.a", message(n), KEEP)
        with pytest.raises(HistoryUnavailable):
            await store.top("room.a", KEEP)
        assert await store.since("room.a", seen, KEEP) == Unrecoverable(UNAVAILABLE)
    down = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(down) == 1, [r.getMessage() for r in caplog.records]
    assert down[0].exc_info is None  # one line, no traceback
    on_redis.server.restart()
    # Redis came back empty: the first call already knows, and says so once.
    assert refused(await store.since("room.a", seen, KEEP)) == EPOCH_CHANGED
    assert (await store.append("room.a", message(2), KEEP)).offset == 1
    back = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert len(back) == 1


async def test_redis_refuses_what_a_layer_cannot_carry_and_keeps_nothing(
    on_redis: RedisBackend,
) -> None:
    with pytest.raises(ValueError, match=r"group 'room.a' cannot be kept in Redis history"):
        await on_redis.store.append("room.a", {"text": "lone \udc80 surrogate"}, KEEP)
    with pytest.raises(ValueError, match="cannot be kept"):
        await on_redis.store.append("room.a", {"when": object()}, KEEP)
    assert (await on_redis.store.top("room.a", KEEP)).offset == 0


def test_redis_refuses_a_client_that_decodes_responses() -> None:
    client = redis.asyncio.Redis(decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisHistory(client)
