"""The load client: runs one workload against one server and prints one JSON line.

It runs in its own process (bench/run.py starts it pinned to a core of its own) and
drives its sockets with bench/wsclient.py, which speaks just enough of RFC 6455 over
asyncio protocols to stay cheap: no compression, no fragmentation, one masking key per
connection (masked with websockets' C speedup). The point is that the client must never
be what limits a server; bench/run.py shows that it drives the raw websockets server
faster than any framework under test.

Workloads (every wait is bounded by ``--deadline`` and by per-step stall timeouts):

* ``rr``: request/reply. ``--conns`` connections each send ``--msgs`` requests, one at a
  time, each waiting for the reply carrying its id.
* ``pipe``: pipelined. The same, but each connection keeps ``--window`` requests in flight.
* ``fanout``: ``--conns`` members join one group (room); one of them sends ``--msgs``
  posts, keeping ``--window`` broadcasts in flight; every member counts what it receives.
  A broadcast whose deliveries stall for ``--stall`` seconds counts as lost.
* ``setup``: opens ``--conns`` connections (``--concurrency`` at a time), measures the
  rate and the server's RSS growth once they sit idle, then closes them.

The server's (and redis-server's) CPU time and memory are read from /proc through psutil,
by pid, right around the measured phase; the client's own CPU time likewise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from typing import Any

import orjson
import psutil

# Run as a script (bench/run.py starts it so): make the repository importable.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.cpu import cpu_clock  # noqa: E402
from bench.flavors import FLAVORS  # noqa: E402
from bench.wsclient import WS, close_all, connect_many  # noqa: E402

# -- measurement ---------------------------------------------------------------------------


class Meter:
    """CPU time of the server, redis-server and this client, and wall time, over a phase."""

    def __init__(self, server_pid: int, redis_pid: int | None) -> None:
        self.server = psutil.Process(server_pid)
        self.redis = psutil.Process(redis_pid) if redis_pid else None

    @staticmethod
    def _cpu(proc: psutil.Process | None) -> float:
        """CPU seconds used by the process, all of its threads (ended ones too).

        Read from the process's CPU-time clock (nanoseconds) where the C library offers
        it: cpu_times() counts clock ticks (10 ms), too coarse for a phase of a few
        hundred milliseconds.
        """
        if proc is None:
            return 0.0
        clock = cpu_clock(proc.pid)
        if clock is not None:
            try:
                return time.clock_gettime(clock)
            except OSError:
                pass  # the process is gone; fall back to what psutil still knows
        t = proc.cpu_times()
        return float(t.user + t.system)

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.s0 = self._cpu(self.server)
        self.r0 = self._cpu(self.redis)
        self.c0 = time.process_time()

    def stop(self, end: float | None = None) -> dict[str, float]:
        wall_end = time.perf_counter()
        server = self._cpu(self.server) - self.s0
        redis_cpu = self._cpu(self.redis) - self.r0
        client = time.process_time() - self.c0
        elapsed = (end if end is not None else wall_end) - self.t0
        return {
            "elapsed": elapsed,
            "server_cpu": server,
            "redis_cpu": redis_cpu,
            "client_cpu": client,
            # CPU over the wall time of the whole phase, 1.0 = one core busy throughout
            "server_util": server / max(wall_end - self.t0, 1e-9),
            "client_util": client / max(wall_end - self.t0, 1e-9),
        }


def per_unit(result: dict[str, Any], units: int) -> None:
    units = max(units, 1)
    result["server_us"] = result["server_cpu"] / units * 1e6
    result["client_us"] = result["client_cpu"] / units * 1e6
    result["redis_us"] = result["redis_cpu"] / units * 1e6


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- workloads -----------------------------------------------------------------------------


async def run_rr(args: argparse.Namespace, meter: Meter) -> dict[str, Any]:
    flavor = FLAVORS[args.flavor]
    conns = await connect_many(args.port, args.path, args.conns, args.concurrency)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    wrong = 0

    def waiter_for(ws: WS) -> None:
        def on_text(payload: bytes) -> None:
            nonlocal wrong
            fut = ws.waiter  # type: ignore[attr-defined]
            if flavor.reply_id(orjson.loads(payload)) == ws.expect:  # type: ignore[attr-defined]
                if fut is not None and not fut.done():
                    fut.set_result(None)
            else:
                wrong += 1

        ws.on_text = on_text
        ws.waiter = None  # type: ignore[attr-defined]
        ws.expect = None  # type: ignore[attr-defined]

    for ws in conns:
        waiter_for(ws)

    async def drive(ws: WS, first: int, count: int, record: bool) -> None:
        perf = time.perf_counter
        for i in range(first, first + count):
            fut = loop.create_future()
            ws.waiter = fut  # type: ignore[attr-defined]
            ws.expect = i  # type: ignore[attr-defined]
            t = perf()
            ws.send_text(flavor.request(i))
            await fut
            if record:
                latencies.append(perf() - t)

    try:
        await asyncio.wait_for(
            asyncio.gather(*(drive(ws, 10_000_000, args.warmup, False) for ws in conns)),
            args.deadline,
        )
        meter.start()
        await asyncio.wait_for(
            asyncio.gather(*(drive(ws, 0, args.msgs, True) for ws in conns)), args.deadline
        )
        result: dict[str, Any] = meter.stop()
    finally:
        await close_all(conns)
    messages = args.conns * args.msgs
    result.update(
        messages=messages,
        rate=messages / result["elapsed"],
        p50_ms=percentile(latencies, 0.50) * 1e3,
        p99_ms=percentile(latencies, 0.99) * 1e3,
        wrong_replies=wrong,
    )
    per_unit(result, messages)
    return result


async def run_pipe(args: argparse.Namespace, meter: Meter) -> dict[str, Any]:
    flavor = FLAVORS[args.flavor]
    conns = await connect_many(args.port, args.path, args.conns, args.concurrency)
    loop = asyncio.get_running_loop()
    window = args.window

    class State:
        __slots__ = ("outstanding", "received", "wake")

        def __init__(self) -> None:
            self.received = 0
            self.outstanding = 0
            self.wake: asyncio.Future[None] | None = None

    def attach(ws: WS) -> State:
        st = State()

        def on_text(payload: bytes) -> None:
            if flavor.reply_id(orjson.loads(payload)) is None:
                return
            st.received += 1
            st.outstanding -= 1
            if st.wake is not None and not st.wake.done():
                st.wake.set_result(None)

        ws.on_text = on_text
        return st

    pairs = [(ws, attach(ws)) for ws in conns]

    async def drive(ws: WS, st: State, first: int, count: int) -> None:
        sent = 0
        target = st.received + count
        while st.received < target:
            while st.outstanding < window and sent < count:
                ws.send_text(flavor.request(first + sent))
                sent += 1
                st.outstanding += 1
            st.wake = loop.create_future()
            await st.wake

    end = 0.0
    try:
        await asyncio.wait_for(
            asyncio.gather(*(drive(ws, st, 10_000_000, args.warmup) for ws, st in pairs)),
            args.deadline,
        )
        meter.start()
        await asyncio.wait_for(
            asyncio.gather(*(drive(ws, st, 0, args.msgs) for ws, st in pairs)),
            args.deadline,
        )
        end = time.perf_counter()
        result: dict[str, Any] = meter.stop(end)
    finally:
        await close_all(conns)
    messages = args.conns * args.msgs
    result.update(messages=messages, rate=messages / result["elapsed"], window=window)
    per_unit(result, messages)
    return result


async def run_fanout(args: argparse.Namespace, meter: Meter) -> dict[str, Any]:
    """One member posts, keeping ``window`` broadcasts in flight; all members count."""
    flavor = FLAVORS[args.flavor]
    members = args.conns
    conns = await connect_many(args.port, args.path, members, args.concurrency)
    loop = asyncio.get_running_loop()
    warm = 5  # seqs 0..warm-1 settle group membership before measuring
    total_seqs = warm + args.msgs
    counts = [0] * total_seqs
    state = {"delivered": 0, "completed": 0, "last": 0.0, "bad": 0}
    wake: list[asyncio.Future[None] | None] = [None]
    perf = time.perf_counter

    def on_text(payload: bytes) -> None:
        seq = flavor.event_seq(orjson.loads(payload))
        if seq is None:
            return
        if not 0 <= seq < total_seqs:
            state["bad"] += 1
            return
        counts[seq] += 1
        state["delivered"] += 1
        state["last"] = perf()
        if counts[seq] == members:
            state["completed"] += 1
            w = wake[0]
            if w is not None and not w.done():
                w.set_result(None)

    for ws in conns:
        ws.on_text = on_text
    sender = conns[0]

    async def progress(stall: float) -> bool:
        """Wait for a completed broadcast; False when nothing arrived for ``stall`` s."""
        before = state["delivered"]
        fut = wake[0] = loop.create_future()
        try:
            await asyncio.wait_for(fut, stall)
            return True
        except TimeoutError:
            return state["delivered"] != before

    try:
        # Warm up: repeat single broadcasts until one reaches every member (joins settle).
        for seq in range(warm):
            sender.send_text(flavor.post(seq))
            deadline = perf() + args.stall * 2
            while counts[seq] < members and perf() < deadline:
                await progress(0.2)
            if counts[seq] == members:
                break
        else:
            raise RuntimeError(f"warm-up broadcasts never reached all {members} members")
        base_delivered = state["delivered"]
        base_completed = state["completed"]
        meter.start()
        t0 = perf()
        sent = 0
        hard_deadline = t0 + args.deadline
        stalled = False
        while sent < args.msgs and perf() < hard_deadline:
            while sent - (state["completed"] - base_completed) < args.window and sent < args.msgs:
                sender.send_text(flavor.post(warm + sent))
                sent += 1
            if not await progress(args.stall):
                stalled = True
                break
        # Drain: stop when all delivered, or nothing new arrived for `stall` seconds.
        expected = sent * members
        while (
            not stalled
            and state["delivered"] - base_delivered < expected
            and perf() < hard_deadline
        ):
            if not await progress(args.stall):
                break
        delivered = state["delivered"] - base_delivered
        end = state["last"] if delivered else perf()
        result: dict[str, Any] = meter.stop(end)
    finally:
        await close_all(conns)
    result.update(
        members=members,
        sent=sent,
        expected=expected,
        delivered=delivered,
        lost=expected - delivered,
        rate=delivered / max(result["elapsed"], 1e-9),
        window=args.window,
        out_of_range=state["bad"],
    )
    per_unit(result, delivered)
    return result


async def run_setup(args: argparse.Namespace, meter: Meter) -> dict[str, Any]:
    """Connection setup rate, then RSS per idle connection."""
    warm = await connect_many(args.port, args.path, min(20, args.conns), args.concurrency)
    await close_all(warm)
    await asyncio.sleep(0.5)
    rss0 = meter.server.memory_info().rss
    meter.start()
    conns = await asyncio.wait_for(
        connect_many(args.port, args.path, args.conns, args.concurrency), args.deadline
    )
    try:
        result: dict[str, Any] = meter.stop()
        await asyncio.sleep(args.settle)
        rss1 = meter.server.memory_info().rss
    finally:
        await close_all(conns)
    result.update(
        conns=args.conns,
        rate=args.conns / result["elapsed"],
        rss_before=rss0,
        rss_after=rss1,
        kib_per_conn=(rss1 - rss0) / args.conns / 1024,
    )
    per_unit(result, args.conns)
    return result


WORKLOADS = {"rr": run_rr, "pipe": run_pipe, "fanout": run_fanout, "setup": run_setup}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("workload", choices=sorted(WORKLOADS))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--flavor", choices=sorted(FLAVORS), default="plain")
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--redis-pid", type=int, default=0)
    p.add_argument("--conns", type=int, default=50)
    p.add_argument("--msgs", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--stall", type=float, default=3.0)
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--deadline", type=float, default=60.0)
    p.add_argument("--cpu", type=int, default=-1, help="pin this process to one core")
    p.add_argument("--uvloop", action=argparse.BooleanOptionalAction, default=True)
    args = p.parse_args(argv)
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    meter = Meter(args.server_pid, args.redis_pid or None)
    runner = WORKLOADS[args.workload](args, meter)
    if args.uvloop:
        import uvloop

        result = uvloop.run(runner)
    else:
        result = asyncio.run(runner)
    result["workload"] = args.workload
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
