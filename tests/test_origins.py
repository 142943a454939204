"""Origins: which web pages may open a socket (cross-site WebSocket hijacking).

A handshake is refused with HTTP 403 and one log line, without a traceback, unless its
Origin is the app's own host or matches ``allowed_origins`` (Django ALLOWED_HOSTS
patterns), or it has no Origin at all (not a browser). The patterns are checked without
I/O; the rest runs against the example app and the guarded fixture app (whose spec sets
``allowed_origins``) in uvicorn. Inside Django, the router leaves origins to Channels'
validator: tests/test_django_interop.py shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.server import SubprocessServer, ThreadServer, open_ws, recv_json, send_json
from guarded_app import guarded_routing
from websockets.exceptions import InvalidStatus

from chgen.runtime import Router, route
from chgen.runtime.origins import OriginPolicy
from chgen.runtime.testing import Refused, WebsocketClient
from handlers.chat import Echo


def scope(origin: str | None, host: str = "127.0.0.1:8000", scheme: str = "ws") -> dict[str, Any]:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


def admitted(policy: OriginPolicy, origin: str | None, **kwargs: str) -> bool:
    return policy.refusal(scope(origin, **kwargs)) is None


# -- the rules, without I/O ---------------------------------------------------------------


def test_by_default_only_the_apps_own_host_and_clients_without_an_origin_are_admitted() -> None:
    policy = OriginPolicy()
    assert admitted(policy, "http://127.0.0.1:8000")
    assert admitted(policy, "HTTP://127.0.0.1:8000")
    assert admitted(policy, None)  # not a browser
    for origin in ("http://evil.example", "http://127.0.0.1:9000", "null", "", "not a url"):
        assert not admitted(policy, origin), origin


def test_a_host_without_a_port_behind_a_proxy_admits_its_pages_on_either_default_port() -> None:
    policy = OriginPolicy()
    assert admitted(policy, "https://example.com", host="example.com")
    assert admitted(policy, "http://example.com", host="Example.COM")
    assert not admitted(policy, "https://example.com:8443", host="example.com")
    assert not admitted(policy, "https://www.example.com", host="example.com")


def test_patterns_follow_djangos_allowed_hosts() -> None:
    policy = OriginPolicy(
        ["example.com", ".example.org", "https://app.example.net", "http://localhost:3000"]
    )
    assert admitted(policy, "http://example.com")
    assert admitted(policy, "https://example.com:8443")  # a host alone: any scheme and port
    assert not admitted(policy, "https://www.example.com")
    assert admitted(policy, "https://example.org")
    assert admitted(policy, "https://a.b.example.org")
    assert not admitted(policy, "https://badexample.org")
    assert admitted(policy, "https://app.example.net")
    assert admitted(policy, "https://app.example.net:443")
    assert not admitted(policy, "http://app.example.net")
    assert not admitted(policy, "https://app.example.net:8443")
    assert admitted(policy, "http://localhost:3000")
    assert not admitted(policy, "http://localhost:3001")
    assert not admitted(policy, "null")


def test_a_star_admits_every_origin_even_null() -> None:
    policy = OriginPolicy(["*"])
    for origin in ("http://evil.example", "null", "junk"):
        assert admitted(policy, origin)


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("https://example.com/app", "with no path"),
        ("", "expected a host or origin pattern"),
        (5, "expected a host or origin pattern"),
        ("http://example.com:99999", "invalid port"),
        ("example.com/x", "not a host pattern"),
    ],
)
def test_a_pattern_that_is_not_an_origin_is_refused_where_the_router_is_built(
    pattern: Any, says: str
) -> None:
    with pytest.raises(ValueError, match=rf"allowed_origins\[1\]: .*{says}"):
        Router([], allowed_origins=["example.com", pattern])
    with pytest.raises(ValueError, match="not the string"):
        OriginPolicy("https://example.com")  # type: ignore[arg-type]


def test_a_refusal_quotes_a_huge_origin_by_a_short_prefix() -> None:
    refusal = OriginPolicy().refusal(scope("http://" + "e" * 100_000))
    assert refusal is not None and len(refusal) < 250, refusal


# -- in-process: the router refuses with one log line ------------------------------------


async def test_a_refused_handshake_gets_one_log_line_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Router(
        [route(r"^/echo/(?P<room>[a-z]+)/$", Echo)], allowed_origins=["https://ok.example"]
    )
    caplog.set_level(logging.INFO, logger="chgen")
    evil = [(b"host", b"127.0.0.1"), (b"origin", b"https://evil.example")]
    with pytest.raises(Refused):
        async with WebsocketClient(app, "/echo/room/", headers=evil):
            pass
    refusals = [r for r in caplog.records if "refused a WebSocket handshake" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None, caplog.text
    assert "'https://evil.example'" in refusals[0].getMessage()
    good = [(b"host", b"127.0.0.1"), (b"origin", b"https://ok.example")]
    async with WebsocketClient(app, "/echo/room/", headers=good) as client:
        assert await client.request("say", {"text": "hi"}, stream=None) == {"text": "hi"}


# -- end to end --------------------------------------------------------------------------


async def refused_status(url: str, origin: str | None) -> int | None:
    """The HTTP status a handshake with ``origin`` was refused with; None if accepted."""
    try:
        async with open_ws(url, origin=origin) as ws:
            await send_json(
                ws, {"stream": "echo", "payload": {"type": "say", "id": 1, "data": {"text": "x"}}}
            )
            await recv_json(ws)
    except InvalidStatus as refused:
        return refused.response.status_code
    return None


async def test_the_generated_app_admits_its_own_pages_and_refuses_others(
    chat_server: SubprocessServer,
) -> None:
    url = f"{chat_server.base_url()}/ws/lobby/"
    before = chat_server.output().count("refused a WebSocket handshake")
    assert await refused_status(url, f"http://127.0.0.1:{chat_server.port}") is None
    assert await refused_status(url, None) is None
    assert await refused_status(url, "http://evil.example") == 403
    assert await refused_status(url, "null") == 403
    assert await refused_status(url, f"http://127.0.0.1:{chat_server.port + 1}") == 403
    log = chat_server.output()
    assert log.count("refused a WebSocket handshake") - before == 3, log[-3000:]
    assert "Traceback" not in log


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    with guarded_routing(Path(tmp_path_factory.mktemp("guarded-origins"))) as routing:
        server = ThreadServer(routing.application).start()
        try:
            yield server
        finally:
            server.stop()


async def test_the_specs_allowed_origins_reach_the_generated_app(
    guarded_server: ThreadServer,
) -> None:
    url = f"{guarded_server.base_url()}/free/"

    async def status(origin: str) -> int | None:
        try:
            async with open_ws(url, origin=origin) as ws:
                await send_json(ws, {"type": "ping", "id": 1, "data": {"n": 1}})
                assert (await recv_json(ws))["data"] == {"n": 1}
        except InvalidStatus as refused:
            return refused.response.status_code
        return None

    assert await status("https://app.example.com") is None
    assert await status("http://www.example.org:8080") is None
    assert await status(f"http://127.0.0.1:{guarded_server.port}") is None
    assert await status("http://app.example.com") == 403
    assert await status("https://evil.example") == 403
