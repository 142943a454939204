"""The rules of ``chgen compat``: every difference between two surfaces, and whom it
breaks.

Two directions. **clients**: clients built from the old spec, talking to a server built
from the new one. **servers**: servers still running the old spec, talked to by clients
built from the new one (a rolling deploy, an app store full of old builds). What a client
sends is read by the server (position "in"); what the server sends, replies and events,
is read by clients ("out"). A change that lets the reader accept less breaks whoever
writes; one that lets the writer send more breaks whoever reads. Servers refuse unknown
fields; clients ignore fields they do not know, and the server always writes every field.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

__all__ = ["BOTH", "CLIENTS", "RULES", "SAFE", "SERVERS", "Finding", "Rule"]

CLIENTS: Final = frozenset({"clients"})
SERVERS: Final = frozenset({"servers"})
BOTH: Final = CLIENTS | SERVERS
SAFE: Final = frozenset[str]()


@attrs.frozen
class Rule:
    id: str
    what: str
    breaks_in: frozenset[str]  # in what a client sends
    breaks_out: frozenset[str]  # in what the server sends (or where position is moot)
    why: str


def _rule(id: str, what: str, inbound: frozenset[str], outbound: frozenset[str], why: str) -> Rule:
    return Rule(id, what, inbound, outbound, why)


RULES: Final = {
    r.id: r
    for r in (
        _rule(
            "route-removed",
            "a route is gone",
            CLIENTS,
            CLIENTS,
            "old clients connect to a path no route matches",
        ),
        _rule(
            "route-changed",
            "a route's path changed",
            BOTH,
            BOTH,
            "a URL one side builds is not one the other serves",
        ),
        _rule(
            "route-added",
            "a new route",
            SERVERS,
            SERVERS,
            "new clients may connect where old servers serve nothing",
        ),
        _rule(
            "route-target-changed",
            "a route serves another kind of target",
            BOTH,
            BOTH,
            "frames gain or lose the stream envelope",
        ),
        _rule(
            "stream-removed", "a stream is gone", CLIENTS, CLIENTS, "old clients get unknown_stream"
        ),
        _rule(
            "stream-added",
            "a new stream",
            SERVERS,
            SERVERS,
            "new clients get unknown_stream from old servers",
        ),
        _rule(
            "message-removed",
            "a message type is gone",
            CLIENTS,
            CLIENTS,
            "old clients get unknown_type",
        ),
        _rule(
            "message-added",
            "a new message type",
            SERVERS,
            SERVERS,
            "new clients get unknown_type from old servers",
        ),
        _rule(
            "reply-removed",
            "a message no longer replies with data",
            CLIENTS,
            CLIENTS,
            "old clients expect a reply payload and get null",
        ),
        _rule(
            "reply-added",
            "a message now replies with data",
            SERVERS,
            SERVERS,
            "new clients expect a reply payload; old servers answer null",
        ),
        _rule(
            "event-removed",
            "an event is gone",
            CLIENTS,
            CLIENTS,
            "old clients wait for an event that never comes",
        ),
        _rule(
            "event-added", "a new event", SAFE, SAFE, "clients ignore event types they do not know"
        ),
        _rule(
            "event-now-app-wide",
            "an event became an app event",
            SAFE,
            SERVERS,
            "old servers deliver it only from its own consumer, so new clients miss the ones "
            "other consumers send",
        ),
        _rule(
            "event-no-longer-app-wide",
            "an app event became one consumer's own",
            SAFE,
            CLIENTS,
            "old clients wait for the ones other consumers sent, which no longer reach them",
        ),
        _rule(
            "field-added-required",
            "a new required field",
            BOTH,
            SERVERS,
            "old writers do not send it; old readers do not know it",
        ),
        _rule(
            "field-added-optional",
            "a new optional field",
            SERVERS,
            SERVERS,
            "old servers refuse it as unknown when a new client sends it; old clients ignore it",
        ),
        _rule(
            "field-removed",
            "a field is gone",
            CLIENTS,
            CLIENTS,
            "old clients send a field the server now refuses as unknown, "
            "or read one it no longer sends",
        ),
        _rule(
            "field-now-required",
            "an optional field became required",
            CLIENTS,
            SAFE,
            "old clients may leave it out",
        ),
        _rule(
            "field-now-optional",
            "a required field became optional",
            SERVERS,
            SAFE,
            "new clients may leave out what old servers require",
        ),
        _rule(
            "type-changed",
            "a field's type changed",
            BOTH,
            BOTH,
            "the two sides write and read different JSON",
        ),
        _rule(
            "constraint-narrowed",
            "a constraint narrowed",
            CLIENTS,
            SERVERS,
            "the reader now refuses values the writer may send",
        ),
        _rule(
            "constraint-widened",
            "a constraint widened",
            SERVERS,
            CLIENTS,
            "the writer may now send values the reader refuses",
        ),
        _rule(
            "pattern-changed",
            "a pattern changed",
            BOTH,
            BOTH,
            "neither pattern's strings need to match the other",
        ),
        _rule(
            "value-removed",
            "an enum member, Literal value or union member is gone",
            CLIENTS,
            SERVERS,
            "the reader refuses a value the writer may send",
        ),
        _rule(
            "value-added",
            "a new enum member, Literal value or union member",
            SERVERS,
            CLIENTS,
            "the writer may send a value the reader refuses",
        ),
        _rule(
            "null-removed",
            "a field no longer accepts null",
            CLIENTS,
            SERVERS,
            "the reader refuses null",
        ),
        _rule(
            "null-added", "a field now accepts null", SERVERS, CLIENTS, "the writer may send null"
        ),
        _rule(
            "default-changed",
            "a field's default changed",
            SAFE,
            SAFE,
            "a client that leaves the field out gets another value",
        ),
        _rule("doc-changed", "a docstring changed", SAFE, SAFE, "documentation only"),
    )
}


@attrs.frozen
class Finding:
    rule: str
    breaks: frozenset[str]
    message: str
    where: str  # app, route, stream, message, $.path
    old: str  # file:line on the old side
    new: str  # file:line on the new side

    def data(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "breaks": sorted(self.breaks),
            "message": self.message,
            "where": self.where,
            "old": self.old,
            "new": self.new,
        }
