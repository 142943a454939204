"""The names the Python client gives streams and URL functions, from names a spec allows."""

from __future__ import annotations

from chgen.ir import AppIR, DemuxIR, RouteIR
from chgen.render.pyclient import stream_attributes, url_functions
from chgen.urlpattern import url_template


def test_each_stream_gets_a_public_attribute_of_its_own() -> None:
    streams = ("chat", "odd-name", "odd_name", "1x", "_x", "close", "match", "a.b", "class")
    demux = DemuxIR("Lobby", tuple((s, "Chat") for s in streams))
    attributes = {s.name: s.attribute for s in stream_attributes(demux)}
    assert attributes == {
        "chat": "chat",
        "odd-name": "odd_name",
        "odd_name": "odd_name_2",
        "1x": "stream_1x",
        "_x": "stream__x",
        "close": "close_",
        "match": "match_",
        "a.b": "a_b",
        "class": "class_",
    }
    assert {s.stream_class for s in stream_attributes(demux)} == {"ChatStream"}


def _route(pattern: str, target: str, builder: str) -> RouteIR:
    return RouteIR(pattern, target, url_template(pattern), builder)


def test_url_functions_take_the_route_groups_as_keywords() -> None:
    routes = (
        _route(r"^/ws/(?P<room>[a-z]+)/$", "Lobby", "lobbyUrl"),
        _route(r"^/a\{b\}/(?P<team>\w+)/(?P<room>\w+)/$", "Lobby", "lobbyUrl2"),
        _route(r"^/(?P<base>\w+)/$", "HTTPServer", "hTTPServerUrl"),  # "base" is taken
        _route(r"^/(a|b)/$", "Chat", "chatUrl"),  # no single URL shape
        _route(r"^/plain/$", "HTTPServer", "hTTPServerUrl2"),
    )
    app = AppIR("app", "app.py", "handlers", (), (), (), (), routes)
    found = [(u.function, u.template, u.params) for u in url_functions(app)]
    assert found == [
        ("lobby_url", "/ws/{room}/", ("room",)),
        ("lobby_url2", "/a{{b}}/{team}/{room}/", ("team", "room")),
        ("http_server_url2", "/plain/", ()),
    ]
