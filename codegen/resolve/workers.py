"""Workers -> ``WorkerIR``, and the job senders every consumer and worker gets.

Workers are checked before consumers: the ``send_to_<worker>_<type>`` helpers they
derive become methods of every consumer and worker, so no handler method or event
helper may take one of their names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from chgen.runtime.jobs import CHANNEL_NAME

from .. import naming
from ..hints import python_kind
from ..ir import WorkerIR, WorkerNames
from ..spec import Location, Worker
from .context import AppContext
from .handlers import HandlerChecks
from .payloads import PayloadChecks
from .reserved import CONSUMER_ATTRIBUTES, WORKER_ATTRIBUTES

__all__ = ["WorkerChecks"]

# The key of a job message that carries its type; a payload field may not take it.
_TYPE_KEY = "type"


class WorkerChecks:
    def __init__(
        self, context: AppContext, payloads: PayloadChecks, app_events: Iterable[str] = ()
    ) -> None:
        self.context = context
        self.payloads = payloads
        # Every worker has a group_send_<event> per app event, as every consumer has.
        self.app_event_helpers = {f"group_send_{name}" for name in app_events}
        self.workers: dict[str, WorkerIR] = {}
        self.senders: dict[str, str] = {}  # helper name -> the worker and job it sends
        self._channels: dict[str, str] = {}  # channel -> the worker reading it

    def all(self, specs: Any, at: Location) -> None:
        """Check the App's ``workers``; ``at`` locates the App."""
        if isinstance(specs, str | bytes) or not isinstance(specs, Sequence):
            message = f"workers must be a list of Worker(...), got {python_kind(specs)}"
            self.context.error(at, "$.workers", message)
            return
        for index, spec in enumerate(specs):
            if not isinstance(spec, Worker):
                message = f"expected a Worker(...), got {python_kind(spec)}"
                hint = 'write Worker("Thumbnails", channel="thumbnails", mapping={...})'
                self.context.error(at, f"$.workers[{index}]", message, hint)
                continue
            self._senders(spec)
        for spec in specs:
            if isinstance(spec, Worker):
                self._worker(spec)

    def _senders(self, spec: Worker) -> None:
        """Claim the helper names of ``spec``'s jobs (before any handler is checked)."""
        if not isinstance(spec.name, str) or not isinstance(spec.mapping, dict):
            return  # reported with the worker
        for job in spec.mapping:
            if not isinstance(job, str):
                continue
            name = WorkerNames(spec.name).sender(job)
            path = f"$.mapping[{naming.py_str(job)}]"
            if name in CONSUMER_ATTRIBUTES or name in WORKER_ATTRIBUTES:
                message = f"job {job!r} would generate {name}(), a method every consumer has"
                self.context.error(spec.defined_at, path, message, "rename the job")
            elif name in self.senders:
                self.context.error(
                    spec.defined_at,
                    path,
                    f"job {job!r} would generate {name}(), which sends {self.senders[name]}",
                    "rename the job or the worker",
                )
            self.senders.setdefault(name, f"{spec.name}'s {job!r} jobs")

    def _worker(self, spec: Worker) -> None:
        at = spec.defined_at
        if not self.context.claim(spec.name, "worker", at, "$.name"):
            return
        ok = True
        for kind, derived in WorkerNames(spec.name).derived():
            ok = self.context.claim(derived, f"worker {kind}", at, "$.name") and ok
        channel = self._channel(spec)
        if not isinstance(spec.mapping, dict) or not spec.mapping:
            self.context.error(
                at,
                "$.mapping",
                "the worker handles no jobs",
                'map job types to handlers: mapping={"resize": Handler(Resize)}',
            )
            return
        checks = HandlerChecks(
            self.context,
            self.payloads,
            spec,
            set(self.senders) | self.app_event_helpers,
            WORKER_ATTRIBUTES,
        )
        handlers = checks.table("mapping")
        fields_ok = all(self._fields_ok(spec, h.msg_type, h.payload) for h in handlers)
        if ok and channel is not None and fields_ok:
            self.workers[spec.name] = WorkerIR(spec.name, channel, handlers)

    def _channel(self, spec: Worker) -> str | None:
        channel = spec.channel
        if not isinstance(channel, str) or not CHANNEL_NAME.match(channel):
            self.context.error(
                spec.defined_at,
                "$.channel",
                f"channel name {channel!r} is not valid",
                "use ASCII letters, digits, '_', '.' and '-' (under 100 characters), "
                'e.g. "thumbnails"',
            )
            return None
        other = self._channels.setdefault(channel, spec.name)
        if other != spec.name:
            self.context.error(
                spec.defined_at,
                "$.channel",
                f"channel {channel!r} is already read by worker {other}",
                "give each worker a channel of its own",
            )
            return None
        return channel

    def _fields_ok(self, spec: Worker, job: str, payload: str) -> bool:
        found = self.payloads.payloads.get(payload)
        if found is None or all(f.name != _TYPE_KEY for f in found.fields):
            return True
        self.context.error(
            spec.defined_at,
            f"$.mapping[{naming.py_str(job)}]",
            f"payload {payload} has a field named {_TYPE_KEY!r}, which a job message uses "
            "for the job's type",
            "rename the field",
        )
        return False
