"""Forward tables: which group events a socket writes itself, shared between sockets.

A socket whose consumers keep chgen's own delivery hooks writes their group events
straight out (see ``Delivery.forward``). What it forwards is a few
(group, source, envelope prefix) entries, and thousands of sockets in the same rooms
have the same ones; a table per socket would cost each idle socket about 0.4 KiB. So
tables are interned: sockets with the same entries share one, read-only, and it is
freed with the last of them.
"""

from __future__ import annotations

import weakref
from typing import Any, Final

__all__ = [
    "BY_HANDLER",
    "GROUP_EVENT",
    "Entry",
    "ForwardTable",
    "forwarded_event",
    "with_entry",
    "without_entry",
]

# Layer message type carrying a group event; see BaseConsumer.group_send_frame.
GROUP_EVENT: Final = "chgen.event"

# The prefix of an entry saying that the socket's handler delivers these events, whatever
# other entries say: a consumer that must change each one as it delivers it (a kept app
# event gets the consumer's own position).
BY_HANDLER: Final = "\x00"

# (group, source consumer name, envelope prefix; "" for none, or BY_HANDLER)
Entry = tuple[str, str, str]


class ForwardTable(dict[str, dict[str, tuple[str, ...]]]):
    """group -> source -> the envelope prefixes its events go out in, one per stream.

    Shared between sockets: never change one; derive another with ``with_entry`` or
    ``without_entry``.
    """

    __slots__ = ("__weakref__", "entries")

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        super().__init__()
        self.entries = entries
        for group, source, prefix in entries:
            sources = self.setdefault(group, {})
            # BY_HANDLER counts twice: more than one prefix, so never forwarded.
            added = (prefix, prefix) if prefix == BY_HANDLER else (prefix,)
            sources[source] = (*sources.get(source, ()), *added)


_TABLES: Final[weakref.WeakValueDictionary[tuple[Entry, ...], ForwardTable]] = (
    weakref.WeakValueDictionary()
)


def _interned(entries: tuple[Entry, ...]) -> ForwardTable | None:
    if not entries:
        return None
    table = _TABLES.get(entries)
    if table is None:
        table = _TABLES[entries] = ForwardTable(entries)
    return table


def with_entry(table: ForwardTable | None, entry: Entry) -> ForwardTable:
    """The table of ``table``'s entries and ``entry``."""
    entries = () if table is None else table.entries
    # Sorted, so that the same entries joined in another order share a table too.
    combined = _interned(tuple(sorted((*entries, entry))))
    assert combined is not None
    return combined


def without_entry(table: ForwardTable | None, entry: Entry) -> ForwardTable | None:
    """The table of ``table``'s entries less one ``entry`` (None when none are left)."""
    if table is None or entry not in table.entries:
        return table
    entries = list(table.entries)
    entries.remove(entry)
    return _interned(tuple(entries))


def forwarded_event(message: dict[str, Any], table: ForwardTable) -> dict[str, Any] | None:
    """The ASGI event that writes ``message`` to a socket forwarding by ``table``, or None
    when the message is not a group event the table forwards (by exactly one stream)."""
    if message.get("type") != GROUP_EVENT:
        return None
    try:
        (prefix,) = table[message["group"]][message["source"]]
        frame = message["frame"]
    except (KeyError, TypeError, ValueError):
        return None  # not forwarded here, by more than one stream, or not chgen's
    if type(frame) is not str:
        return None
    return {"type": "websocket.send", "text": prefix + frame + "}" if prefix else frame}
