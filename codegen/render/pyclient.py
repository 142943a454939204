"""What the template of an app's typed Python client (``client.py``) needs beyond the IR:
a Python attribute for each stream of a demultiplexer, and the URL functions.

The client's machinery is the runtime's (``chgen.runtime.client``); the generated module
holds only types: one small class per consumer and part (``ChatSend``, ``ChatRequest``,
``ChatOn``, ``ChatEvents``), the stream class over them, a class per demultiplexer
(``LobbyClient``) and per consumer routed alone (``ChatSocket``).
"""

from __future__ import annotations

import attrs

from .. import naming
from ..ir import AppIR, ConsumerNames, DemuxIR, RouteIR
from ..urlpattern import Param

__all__ = [
    "CLIENT_MEMBERS",
    "PyStream",
    "PyUrl",
    "stream_attributes",
    "url_functions",
]

# The members of a generated client object besides its streams (``ChgenClient``'s):
# a stream named like one gets a trailing underscore.
CLIENT_MEMBERS = frozenset({"connection", "start", "opened", "close", "url"})


@attrs.frozen
class PyStream:
    name: str  # the stream's name on the wire
    attribute: str  # the client object's attribute
    stream_class: str  # ChatStream


def stream_attributes(demux: DemuxIR) -> tuple[PyStream, ...]:
    """A Python attribute per stream: the name itself where it is a public identifier,
    else a spelling of it that is (``odd-name`` -> ``odd_name``, ``1x`` -> ``stream_1x``,
    ``close`` -> ``close_``), numbered where two would meet."""
    taken: set[str] = set()
    found = []
    for stream, consumer in demux.streams:
        attribute = _attribute(stream)
        base, n = attribute, 1
        while attribute in taken:
            n += 1
            attribute = f"{base}_{n}"
        taken.add(attribute)
        found.append(PyStream(stream, attribute, ConsumerNames(consumer).stream))
    return tuple(found)


def _attribute(stream: str) -> str:
    name = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in stream)
    if not name or name[0].isdigit() or name.startswith("_"):
        name = f"stream_{name}"
    if (
        not naming.is_python_identifier(name)
        or name in naming.PYTHON_SOFT_KEYWORDS
        or name in CLIENT_MEMBERS
    ):
        name = f"{name}_"
    return name


@attrs.frozen
class PyUrl:
    function: str  # lobby_url
    pattern: str  # the route's regex, for the docstring
    template: str  # "/ws/{room}/", for str.format
    params: tuple[str, ...]


def url_functions(app: AppIR) -> tuple[PyUrl, ...]:
    """A URL function per route whose regex is literal text and named groups, and whose
    group names can be keyword arguments."""
    return tuple(url for url in map(_url, app.routes) if url is not None)


def _url(route: RouteIR) -> PyUrl | None:
    if route.url is None:
        return None
    params = tuple(p.name for p in route.url if isinstance(p, Param))
    if any(not naming.is_python_identifier(p) or p == "base" for p in params):
        return None
    template = "".join(
        f"{{{p.name}}}" if isinstance(p, Param) else p.replace("{", "{{").replace("}", "}}")
        for p in route.url
    )
    return PyUrl(route.py_url_builder, route.pattern, template, params)
