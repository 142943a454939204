"""``WorkerConsumer``: jobs sent to a named channel, handled outside any socket.

The seed's ``BaseConsumer`` maps channel names to methods; a worker is that consumer. It
reads one channel of the channel layer (``channel``) and hands each job to the typed
handler its ``job_table`` maps the job's type to. One instance serves a process, for as
long as the process runs, and handles its jobs one at a time, in the order they arrive.

A job never stops the worker: an unknown type or an invalid payload is logged and
dropped, a handler that raises is logged with its traceback, and the next job runs.

Run workers with ``chgen.runtime.workerpool.WorkerPool`` (``Router(workers=...)`` and
``chgen worker`` do), or, inside a Django project, through Channels'
``ChannelNameRouter`` and ``runworker``: ``as_asgi()`` is the ASGI application
Channels' worker calls for the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, ClassVar

from .appretention import AppEventHistory, send_kept_app_event
from .delivery import app_event_message
from .dispatch import DispatchTable, Handler, MessageRoute
from .history import HistoryStore
from .jobs import job_message
from .layers import ChannelLayer, LayerUnavailable
from .protocol import ProtocolError, encode_json, event_frame, quote
from .startup import Expected

__all__ = ["WorkerConsumer", "channel_routes"]

log = logging.getLogger(__name__)

_ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]
WorkerApp = Callable[[MutableMapping[str, Any], _ASGIReceive, _ASGISend], Awaitable[None]]


class WorkerConsumer:
    consumer_name: ClassVar[str] = ""  # the spec's name, e.g. "Thumbnails"
    channel: ClassVar[str] = ""  # the layer channel the worker reads
    job_table: ClassVar[DispatchTable] = DispatchTable(())

    def __init__(
        self,
        layer: ChannelLayer,
        *,
        history: HistoryStore | None = None,
        app_history: AppEventHistory | None = None,
    ) -> None:
        """``history`` and ``app_history``: the app's history store and which of its
        consumers keep which app events (``Router.history``, ``Router.app_history``), so
        that the app events this worker sends are kept as a socket's would be. The
        router and ``chgen worker`` pass them; a worker not given ``app_history`` keeps
        none, and says so once."""
        self.layer = layer
        self.history = history
        self.app_history = app_history

    # -- hooks a subclass may override -------------------------------------------------

    def get_handler(self, route: MessageRoute) -> Handler:
        """The callable that handles ``route``'s jobs; override to wrap every handler."""
        return route.call

    # -- actions ---------------------------------------------------------------------

    def send_to(self, channel: str, job: str, data: dict[str, Any]) -> Awaitable[None]:
        """Send a job (its type and encoded payload) to the worker reading ``channel``;
        await the result. The generated ``send_to_<worker>_<type>`` helpers call this."""
        return self.layer.send(channel, job_message(job, data))

    def group_send_app_event(self, group: str, event: str, data: Any) -> Awaitable[None]:
        """Send app event ``event`` (JSON-ready ``data``) to every member of ``group``
        whose consumer lists it, each in its own stream, as a consumer's would; await the
        result. The generated ``group_send_<event>`` helpers call this. A worker has no
        socket to number its group events by, so the layer's losses of these are not
        reported as gaps. Kept first in the stream of each consumer that lists it and
        keeps history for ``group`` (``chgen.runtime.appretention``)."""
        message = app_event_message(group, event, encode_json(event_frame(event, data)))
        table = self.app_history
        if table is None:
            _unkept(type(self))
        else:
            keepers = table.keepers(event, group)
            if keepers:
                return send_kept_app_event(
                    self.history, self.layer.group_send, group, message, keepers
                )
        return self.layer.group_send(group, message)

    def group_send(self, group: str, message: dict[str, Any]) -> Awaitable[None]:
        """Put a Channels-style layer message (``{"type": "thumbnail.ready", ...}``) on
        ``group``: consumers in it handle it through their ``layer_mapping``. Await it."""
        return self.layer.group_send(group, message)

    # -- dispatch ----------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Handle one job read from the channel. Never raises: every failure is logged
        once, with the channel and the job's type, and the worker goes on."""
        job = message.get("type")
        if not isinstance(job, str):
            log.warning(
                "%s dropped a message without a job type on channel %r",
                self.consumer_name,
                self.channel,
            )
            return
        if job not in self.job_table:
            log.warning(
                "%s dropped a job of unknown type %s on channel %r (it handles: %s)",
                self.consumer_name,
                quote(job),
                self.channel,
                ", ".join(self.job_types()) or "nothing",
            )
            return
        route = self.job_table.lookup(job)
        try:
            payload = route.decode({k: v for k, v in message.items() if k != "type"})
        except ProtocolError as exc:
            # The payload's fields sit beside the type, at the top of the message.
            details = "; ".join(
                f"{d.path.replace('$.data', '$', 1)} {d.message}" for d in exc.details
            )
            log.warning("dropped an invalid %r job on channel %r: %s", job, self.channel, details)
            return
        try:
            await self.get_handler(route)(self, payload)
        except LayerUnavailable as exc:
            log.error("%r job on channel %r failed: %s", job, self.channel, exc)
        except Exception:
            log.exception(
                "%r job on channel %r failed in %s.%s",
                job,
                self.channel,
                type(self).__name__,
                route.method,
            )

    # -- introspection -----------------------------------------------------------------

    @classmethod
    def channel_names(cls) -> list[str]:
        """The channels this worker reads: its one channel."""
        return [cls.channel]

    @classmethod
    def job_types(cls) -> list[str]:
        """The job types this worker handles."""
        return [route.msg_type for route in cls.job_table]

    @classmethod
    def expected_handlers(cls) -> list[Expected]:
        """The handlers the generated base declares for the user to implement."""
        return [Expected.for_payload(r.method, r.payload, None) for r in cls.job_table if r.method]

    # -- inside Channels --------------------------------------------------------------

    @classmethod
    def as_asgi(
        cls,
        layer: ChannelLayer,
        *,
        history: HistoryStore | None = None,
        app_history: AppEventHistory | None = None,
    ) -> WorkerApp:
        """The ASGI application for Channels' worker, on ``layer`` (Channels'
        ``get_channel_layer()``, the layer ``runworker`` reads): ``ChannelNameRouter(
        {"thumbnails": Thumbnails.as_asgi(layer)})`` under ``manage.py runworker
        thumbnails``. Channels' worker calls it once per channel, and its ``receive``
        yields the jobs read there. Pass the app router's ``history`` and
        ``app_history`` when the worker sends app events that consumers keep."""

        async def application(
            scope: MutableMapping[str, Any], receive: _ASGIReceive, send: _ASGISend
        ) -> None:
            if scope.get("type") != "channel":
                raise RuntimeError(f'Expected a "channel" scope, got {scope.get("type")!r}')
            worker = cls(layer, history=history, app_history=app_history)
            while True:
                await worker.dispatch(dict(await receive()))

        return application


def channel_routes(
    workers: Iterable[type[WorkerConsumer]],
    layer: ChannelLayer,
    *,
    history: HistoryStore | None = None,
    app_history: AppEventHistory | None = None,
) -> dict[str, WorkerApp]:
    """Channel name -> ASGI application of each worker, for Channels'
    ``ChannelNameRouter``: ``ChannelNameRouter(channel_routes(workers, layer))``; see
    ``WorkerConsumer.as_asgi`` for ``history`` and ``app_history``."""
    return {
        cls.channel: cls.as_asgi(layer, history=history, app_history=app_history) for cls in workers
    }


_WARNED: set[type[WorkerConsumer]] = set()


def _unkept(worker: type[WorkerConsumer]) -> None:
    """A worker that was not told which consumers keep app events sends one: it goes out
    unkept, which a client recovering its group would never learn of. Said once."""
    if worker not in _WARNED:
        _WARNED.add(worker)
        log.warning(
            "%s sends app events without keeping them in group history: it was not given "
            "the app's app_history (run it with Router(workers=...) or chgen worker, or "
            "pass history= and app_history= to as_asgi); a client that recovers misses them",
            worker.__name__,
        )
