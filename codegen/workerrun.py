"""``chgen worker``: run a generated app's workers in a process of their own.

The process shares a channel layer with the app's servers (Redis, through
channels_redis): the servers' sockets send jobs to the workers' channels, and any number
of worker processes may read the same channel, each job going to one of them. The
workers come from the generated package's ``workers`` module, imported as the servers
import ``routing`` (the current directory first on ``sys.path``, as for
``uvicorn generated.chat.routing:application``), so its handler checks run here too.
The app's ``routing`` module says which of its consumers keep which app events in group
history, so that the app events a worker sends are kept as a server's would be, in the
history store the servers derive from the same layer (Redis Streams beside
channels_redis). SIGINT and SIGTERM stop the process; a job being handled is cancelled.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chgen.runtime.appretention import AppEventHistory
from chgen.runtime.layers import ChannelLayer
from chgen.runtime.routing import default_history, served_consumers
from chgen.runtime.startup import HandlersMissing
from chgen.runtime.worker import WorkerConsumer
from chgen.runtime.workerpool import WorkerPool

from .errors import ChgenError, UsageError
from .hints import did_you_mean

__all__ = ["WorkersNotReady", "load_app_history", "load_workers", "make_layer", "run_workers"]

# What redis-py needs under a layer that blocks in its reads (docs/django.md).
_REDIS_OPTIONS = {"socket_timeout": None, "socket_connect_timeout": 5}


class WorkersNotReady(ChgenError):
    """The app's handler code for its workers is not ready (exit 1)."""


def load_workers(
    app: str, names: Sequence[str], app_dir: Path | None = None
) -> list[type[WorkerConsumer]]:
    """The worker classes of generated package ``app`` (``generated.chat``) that ``names``
    select, by worker or channel name; all of them when ``names`` is empty."""
    for entry in (str(Path.cwd()), *([str(app_dir)] if app_dir is not None else [])):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    module_name = app if app.endswith(".workers") else f"{app}.workers"
    try:
        module = importlib.import_module(module_name)
    except HandlersMissing as exc:
        raise WorkersNotReady(str(exc)) from None
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise
        raise UsageError(
            f"cannot import {module_name!r} ({exc.name} not found): name the app's generated "
            "package, e.g. generated.chat, from the directory it is imported from "
            "(or pass --app-dir); an app without workers has no workers module"
        ) from None
    found: list[type[WorkerConsumer]] = list(getattr(module, "workers", []))
    return _selected(found, names) if names else found


def load_app_history(app: str) -> AppEventHistory:
    """Which consumers of generated package ``app`` keep which app events: from the
    routes of its ``routing`` module (imported after ``load_workers``), as its servers
    serve them."""
    module = importlib.import_module(f"{app.removesuffix('.workers')}.routing")
    routes: Sequence[Any] = getattr(module, "routes", ())
    return AppEventHistory.of(served_consumers(routes))


def _selected(
    found: list[type[WorkerConsumer]], names: Sequence[str]
) -> list[type[WorkerConsumer]]:
    by_name = {cls.consumer_name: cls for cls in found}
    by_name.update((cls.channel, cls) for cls in found)
    chosen = []
    for name in names:
        cls = by_name.get(name)
        if cls is None:
            known = sorted(c.consumer_name for c in found)
            hint = did_you_mean(name, by_name) or f"its workers: {', '.join(known)}"
            raise UsageError(f"the app has no worker or channel named {name!r}; {hint}")
        chosen.append(cls)
    return list(dict.fromkeys(chosen))


def make_layer(redis: str | None, layer: str | None, prefix: str) -> ChannelLayer:
    """channels_redis' core layer on ``redis``, or the object ``module:attribute`` names
    in ``layer`` (called first if it is a function)."""
    if (redis is None) == (layer is None):
        raise UsageError(
            "give exactly one of --redis URL and --layer MODULE:ATTRIBUTE: a worker process "
            "needs the channel layer its app's servers use (on the in-memory layer, the app "
            "runs its workers itself)"
        )
    if redis is not None:
        try:
            from channels_redis.core import RedisChannelLayer  # type: ignore[import-untyped]
        except ImportError:
            raise UsageError("--redis needs channels_redis: pip install channels-redis") from None
        found: ChannelLayer = RedisChannelLayer(
            hosts=[{"address": redis, **_REDIS_OPTIONS}], prefix=prefix
        )
        return found
    assert layer is not None
    return _imported_layer(layer)


def _imported_layer(path: str) -> ChannelLayer:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"--layer {path!r} is not MODULE:ATTRIBUTE, e.g. myproject.layers:layer")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        value: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"--layer {path!r}: {exc}") from None
    if isinstance(value, type):
        raise UsageError(
            f"--layer {path!r} is not a channel layer but a class: name a layer, or a "
            "function returning one"
        )
    if callable(value) and not hasattr(value, "receive"):
        value = value()
    if not all(hasattr(value, name) for name in ("send", "receive", "group_send")):
        raise UsageError(f"--layer {path!r} is not a channel layer: got {type(value).__name__}")
    return value  # type: ignore[no-any-return]


def run_workers(
    workers: Sequence[type[WorkerConsumer]],
    layer: ChannelLayer,
    echo: Callable[[str], None],
    app_history: AppEventHistory | None = None,
) -> None:
    """Run ``workers`` on ``layer`` until SIGINT or SIGTERM; the app events they send
    are kept as ``app_history`` says, in the store the servers on ``layer`` use."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for cls in workers:
        echo(f"worker {cls.consumer_name} reads channel {cls.channel!r}")
    history = default_history(layer) if app_history else None
    if app_history and history is None:
        events = ", ".join(app_history.events())
        echo(
            f"warning: consumers keep app events ({events}) in group history, and this layer "
            "has no history store this process can find (only channels_redis does): the "
            "app events these workers send are not kept"
        )
        app_history = None
    asyncio.run(_until_signalled(WorkerPool(workers, layer, history, app_history)))
    echo("stopped")


async def _until_signalled(pool: WorkerPool) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await pool.run()
    except asyncio.CancelledError:
        pass
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
