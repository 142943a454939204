"""Recovery: a socket that comes back gets the kept group events it missed, then live ones.

A client that tracks positions connects with ``recover`` (``chgen.runtime.positions``).
Its socket holds its layer messages from before its joins (``Delivery.hold``); once the
root consumer has accepted, each stream's kept groups, as this connection derived them
(route, user, ``connection_groups``), are replayed from the positions the client
presented, oldest first, each followed by the stream's ``recovery`` frame; then the
held live events go out, less those the replay gave (``Delivery.resume``). A position
for a group the socket does not join refuses the whole token. docs/recovery.md says
what is guaranteed and what is not.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

from .connection import Connection
from .history import (
    EPOCH_CHANGED,
    UNAVAILABLE,
    HistoryStore,
    HistoryUnavailable,
    Missed,
    Position,
    Retention,
    Unrecoverable,
)
from .positions import (
    BAD_TOKEN,
    Positions,
    parse_token,
    recovery_frame,
    requested_token,
    with_position,
)
from .protocol import FORBIDDEN, Detail, ProtocolError, quote
from .retention import HistoryRules, stream_key

__all__ = ["HISTORY_OFF", "NEW", "RecoveringConsumer", "recover", "wants_recovery"]

log = logging.getLogger(__name__)

# Why a group was not recovered, besides the store's reasons (chgen.runtime.history):
NEW = "new"  # the client presented no position for it (a first connect, a new group)
HISTORY_OFF = "history_off"  # the group keeps no history (any more)


class RecoveringConsumer(Protocol):
    """What recovery needs of a stream consumer (``JsonWebsocketConsumer``)."""

    @property
    def consumer_name(self) -> str: ...
    @property
    def groups(self) -> tuple[str, ...]: ...
    @property
    def history_rules(self) -> HistoryRules | None: ...
    def send_text(self, frame_json: str) -> Awaitable[None]: ...
    def encode_json(self, frame: Any) -> str: ...


def wants_recovery(connection: Connection) -> str | None:
    """The client's ``recover`` token ("" when it has no positions yet), or None when it
    does not track positions."""
    return requested_token(connection.scope.get("query_string") or b"")


async def recover(
    connection: Connection,
    streams: Mapping[str, RecoveringConsumer],
    token: str,
    encode_json: Any,
) -> None:
    """Replay what each stream's kept groups missed since ``token``'s positions, tell the
    client per stream (and, on a multiplexed socket, for the socket) whether it recovered,
    then deliver the held live events. ``streams``: stream name -> consumer, "" for a
    socket served by one consumer."""
    replayed: dict[tuple[str, str], tuple[str, int]] = {}
    try:
        try:
            positions = parse_token(token)
            _check_groups(positions, streams)
            recovered = token != ""
        except ProtocolError as exc:
            log.info(
                "refused the recover token of a socket on %s: %s",
                quote(str(connection.scope.get("path", ""))),
                exc.message,
            )
            # An error of no stream, unwrapped; the socket goes on as a new one.
            await connection.send_text(encode_json(exc.frame()))
            positions, recovered = {}, False
        session = _Session(connection.delivery.history, replayed)
        for stream, consumer in streams.items():
            report = await session.recover_stream(consumer, positions.get(stream, {}))
            ok = all(outcome["recovered"] for outcome in report.values())
            recovered = recovered and ok
            if stream == "":  # the socket's one stream: its frame is the socket's
                frame = recovery_frame(recovered, report)
                await consumer.send_text(consumer.encode_json(frame))
            elif report:
                await consumer.send_text(consumer.encode_json(recovery_frame(ok, report)))
        if "" not in streams:
            await connection.send_text(encode_json(recovery_frame(recovered)))
    finally:
        await connection.delivery.resume(replayed)


def _check_groups(positions: Positions, streams: Mapping[str, RecoveringConsumer]) -> None:
    """A token names only streams of this socket and groups their consumers joined."""
    for stream, groups in positions.items():
        consumer = streams.get(stream)
        if consumer is None:
            raise ProtocolError(
                BAD_TOKEN,
                f"the recover token names stream {quote(stream)}, which this socket has not",
                (Detail("$.recover", f"expected streams: {', '.join(sorted(streams))}"),),
            )
        for group in groups:
            if group not in consumer.groups:
                raise ProtocolError(
                    FORBIDDEN,
                    f"the recover token names group {quote(group)}, which this socket "
                    "does not join",
                    (Detail("$.recover", "reconnect without the token's positions"),),
                )


class _Session:
    """One socket's recovery: the store's answers, read once per consumer and group."""

    def __init__(
        self, store: HistoryStore | None, replayed: dict[tuple[str, str], tuple[str, int]]
    ) -> None:
        self.store = store
        self.replayed = replayed  # (consumer, group) -> the (epoch, offset) given up to
        self._answers: dict[tuple[str, str], tuple[dict[str, Any], Missed | None]] = {}

    async def recover_stream(
        self, consumer: RecoveringConsumer, positions: Mapping[str, tuple[str, int]]
    ) -> dict[str, dict[str, Any]]:
        """Replay what one stream's kept groups missed; what became of each group."""
        rules = consumer.history_rules
        report: dict[str, dict[str, Any]] = {}
        for group in consumer.groups:
            retention = None if rules is None else rules(group)
            if retention is None:
                if group in positions:
                    report[group] = {"recovered": False, "reason": HISTORY_OFF}
                continue
            outcome, missed = await self._answer(
                consumer.consumer_name, group, positions.get(group), retention
            )
            if missed is not None:
                for entry in missed.entries:
                    frame = entry.message.get("frame")
                    if type(frame) is str:
                        text = with_position(frame, group, missed.top.epoch, entry.offset)
                        await consumer.send_text(text)
            report[group] = outcome
        return report

    async def _answer(
        self, source: str, group: str, position: tuple[str, int] | None, retention: Retention
    ) -> tuple[dict[str, Any], Missed | None]:
        key = (source, group)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = await self._ask(source, group, position, retention)
        return answer

    async def _ask(
        self, source: str, group: str, position: tuple[str, int] | None, retention: Retention
    ) -> tuple[dict[str, Any], Missed | None]:
        store, name = self.store, stream_key(source, group)
        if store is None:
            return _failed(UNAVAILABLE, None), None
        if position is None:
            top = await _top(store, name, retention)
            return _failed(NEW if top else UNAVAILABLE, top), None
        after = Position(*position)
        answer = await store.since(name, after, retention)
        if isinstance(answer, Missed) and after.offset > answer.top.offset:
            # An offset this epoch never reached: the stream went back (a store restored
            # from an older copy) or the token was made up. Either way not this stream.
            answer = Unrecoverable(EPOCH_CHANGED, answer.top)
        if isinstance(answer, Unrecoverable):
            top = answer.top or await _top(store, name, retention)
            return _failed(answer.reason, top), None
        self.replayed[(source, group)] = (answer.top.epoch, answer.top.offset)
        outcome = {
            "recovered": True,
            "epoch": answer.top.epoch,
            "offset": answer.top.offset,
            "replayed": len(answer.entries),
        }
        return outcome, answer


async def _top(store: HistoryStore, name: str, retention: Retention) -> Position | None:
    try:
        return await store.top(name, retention)
    except HistoryUnavailable:
        return None


def _failed(reason: str, top: Position | None) -> dict[str, Any]:
    """What a group that did not recover is told: why, and where the stream is now if that
    is known. Nothing was replayed, so the held live events all go out after the frame,
    also those up to ``top`` (sent while the socket joined): the client keeps the highest
    offset it saw."""
    outcome: dict[str, Any] = {"recovered": False, "reason": reason}
    if top is not None:
        outcome["epoch"], outcome["offset"] = top.epoch, top.offset
    return outcome
