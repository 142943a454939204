"""What a client of an app sees, route by route: the one view both contracts are made of.

The AsyncAPI document and the API page list the same channels, streams, messages and
events, in the same order, under the same identifiers; both read them from here.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

from ...ir import AppIR, ConsumerIR, RouteIR
from ...urlpattern import Param
from .examples import pattern_example

__all__ = ["Channel", "Event", "Message", "Stream", "UrlParam", "channels", "group_patterns"]


@attrs.frozen
class UrlParam:
    name: str
    pattern: str  # the named group's regex
    example: str


@attrs.frozen
class Message:
    """A message type a client sends, and what answers it."""

    type: str
    payload: str
    reply: str | None  # None: the answer to a message with an id carries null


@attrs.frozen
class Event:
    name: str
    payload: str
    app_wide: bool = False  # an app event: any consumer of the app may send it to a group


@attrs.frozen
class Stream:
    """One consumer as a client reaches it: on a stream of a demultiplexer, or alone."""

    name: str | None  # the stream; None when the route serves the consumer alone
    consumer: str
    kind: str  # "json", or "plain": text and bytes frames with no schema
    messages: tuple[Message, ...]
    events: tuple[Event, ...]

    @property
    def key(self) -> str:
        """The stream's part of identifiers: its name, or the consumer's."""
        return self.name if self.name is not None else self.consumer


@attrs.frozen
class Channel:
    """One route: where a client connects, and what it finds there."""

    id: str  # "lobby": the route's client URL function without "Url"
    route: RouteIR
    address: str | None  # "/ws/{room}/"; None when the regex has no single URL shape
    params: tuple[UrlParam, ...]
    demux: str | None  # the demultiplexer served, if any
    streams: tuple[Stream, ...]

    @property
    def example_path(self) -> str | None:
        """The address with each parameter replaced by its example."""
        if self.route.url is None:
            return None
        examples = {p.name: p.example for p in self.params}
        return "".join(examples[p.name] if isinstance(p, Param) else p for p in self.route.url)


def channels(app: AppIR) -> tuple[Channel, ...]:
    consumers = {c.name: c for c in app.consumers}
    demuxes = {d.name: d for d in app.demuxes}
    found = []
    for route in app.routes:
        demux = demuxes.get(route.target) if route.to_demux else None
        if demux is not None:
            streams = tuple(_stream(s, consumers[c]) for s, c in demux.streams)
        elif route.handlers is not None:
            # A route with a message set of its own: its messages, under the route
            # class's name, so that they never share components with the consumer's.
            own = attrs.evolve(consumers[route.target], name=route.route_class)
            streams = (_stream(None, attrs.evolve(own, handlers=route.handlers)),)
        else:
            streams = (_stream(None, consumers[route.target]),)
        found.append(
            Channel(
                id=route.url_builder.removesuffix("Url") or route.url_builder,
                route=route,
                address=_address(route),
                params=_params(route.pattern),
                demux=demux.name if demux is not None else None,
                streams=streams,
            )
        )
    return tuple(found)


def _stream(name: str | None, consumer: ConsumerIR) -> Stream:
    messages = tuple(Message(h.msg_type, h.payload, h.reply) for h in consumer.handlers)
    events = tuple(Event(e.name, e.payload, e.app_wide) for e in consumer.events)
    return Stream(name, consumer.name, consumer.kind, messages, events)


def _address(route: RouteIR) -> str | None:
    if route.url is None:
        return None
    return "".join(f"{{{p.name}}}" if isinstance(p, Param) else p for p in route.url)


def _params(pattern: str) -> tuple[UrlParam, ...]:
    found = []
    for name, body in group_patterns(pattern):
        example = pattern_example(f"^(?:{body})$") or "x"
        found.append(UrlParam(name, body, example))
    return tuple(found)


_GROUP: Final = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")


def group_patterns(pattern: str) -> list[tuple[str, str]]:
    """(name, regex) of each named group of ``pattern``, in order."""
    found = []
    for match in _GROUP.finditer(pattern):
        start = match.end()
        found.append((match.group(1), pattern[start : _closing(pattern, start)]))
    return found


def _closing(pattern: str, start: int) -> int:
    """The index of the ``)`` closing a group whose body starts at ``start``."""
    depth, i, in_class = 1, start, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += 1
            i += pattern[i : i + 1] == "^"
            i += pattern[i : i + 1] == "]"  # a "]" first in a class is a literal
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(pattern)
