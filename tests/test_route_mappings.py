"""Route-level method mappings, end to end: a route may replace its consumer's mapping
(``as_route(path, method_mapping=...)``, or Channels' ``attrs={"method_mapping": ...}``);
its generated subclass dispatches that set only, and its client class sends it.

The fixture app (tests/fixtures/routes) is built, served by uvicorn and driven by
``websockets`` clients and by its generated JavaScript client in Node. Its demultiplexer
names a multiplexer class by dotted path, which signs every envelope.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from e2e.server import REPO_ROOT, ThreadServer, recv_json, send_json

from chgen.build import generate
from chgen.writer import write
from prereq import require_executable

FIXTURE = Path(__file__).parent / "fixtures" / "routes"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    root = tmp_path_factory.mktemp("routes")
    write(generate(FIXTURE / "specs"), root / "routesgen")
    for entry in (str(root), str(FIXTURE)):
        sys.path.insert(0, entry)
    routing = importlib.import_module("routesgen.routes.routing")
    yield root / "routesgen" / "routes", routing
    for entry in (str(root), str(FIXTURE)):
        sys.path.remove(entry)
    for name in [m for m in sys.modules if m.startswith(("routesgen", "routes_"))]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def server(built: tuple[Path, Any]) -> Iterator[ThreadServer]:
    running = ThreadServer(built[1].application).start()
    yield running
    running.stop()


async def _ask(url: str, msg_type: str, data: Any) -> Any:
    async with websockets.connect(url) as ws:
        await send_json(ws, {"type": msg_type, "id": 1, "data": data})
        return await recv_json(ws)


async def test_channels_as_route_method_mapping_replies_with_the_routes_attribute(
    server: ThreadServer, built: tuple[Path, Any]
) -> None:
    reply = await _ask(f"{server.base_url()}/trigger/", "mychannel", {})
    assert reply == {"type": "mychannel", "id": 1, "data": {"trigger": "from_as_route"}}
    # The consumer itself, on its other route, has neither the mapping nor the attribute.
    other = await _ask(f"{server.base_url()}/untriggered/", "mychannel", {})
    assert other["error"]["code"] == "unknown_type"
    assert importlib.import_module("routes_handlers").Triggered.trigger == "new"


async def test_a_routes_mapping_replaces_the_consumers_and_may_reuse_its_methods(
    server: ThreadServer,
) -> None:
    base = server.base_url()
    assert (await _ask(f"{base}/talk/", "say", {"text": "hi"}))["data"] == {"text": "hi"}
    assert (await _ask(f"{base}/loud/", "say", {"text": "hi"}))["data"] == {"text": "HI"}
    assert (await _ask(f"{base}/loud/", "echo", {"text": "hi"}))["data"] == {"text": "echo hi"}
    refused = await _ask(f"{base}/loud/", "shout", {"text": "hi"})
    assert refused["error"]["code"] == "unknown_type"
    assert "echo, say" in json.dumps(refused["error"]), "the route's own types are listed"
    assert (await _ask(f"{base}/talk/", "echo", {"text": "x"}))["error"]["code"] == "unknown_type"
    invalid = await _ask(f"{base}/whisper/", "whisper", {"text": 5})
    assert (invalid["error"]["code"], invalid["id"]) == ("invalid", 1)


async def test_route_attrs_override_runtime_settings_on_that_route_only(
    server: ThreadServer, built: tuple[Path, Any]
) -> None:
    routing = built[1]
    assert (routing.TalkRoute5.strict_ordering, routing.TalkRoute5.max_concurrency) == (False, 2)
    assert routing.Talk.strict_ordering is True
    assert routing.TalkRoute5.channel_names() == ["echo", "say"]
    assert routing.Talk.channel_names() == ["say", "shout"]


async def test_a_dotted_multiplexer_class_signs_every_envelope(server: ThreadServer) -> None:
    async with (
        websockets.connect(f"{server.base_url()}/lobby/") as ws,
        websockets.connect(f"{server.base_url()}/lobby/") as other,
    ):
        hello = await recv_json(ws)
        assert hello == {"stream": "talk", "payload": {"hello": "talk"}, "sig": "talk:1"}
        await recv_json(other)
        await send_json(
            ws, {"stream": "talk", "payload": {"type": "say", "id": 7, "data": {"text": "yo"}}}
        )
        frames = [await recv_json(ws) for _ in range(3)]  # the event, the group event, the reply
        assert [f["payload"].get("id") for f in frames] == [None, None, 7]
        assert (await recv_json(other))["sig"] == "talk:2"
        await send_json(ws, {"stream": "talk", "payload": {"type": "nope"}})
        frames.append(await recv_json(ws))
        assert [f["sig"] for f in frames] == ["talk:2", "talk:2", "talk:3", "talk:2"]
        assert frames[3]["payload"]["error"]["code"] == "unknown_type"


def test_the_routes_client_class_sends_the_routes_own_set(
    server: ThreadServer, built: tuple[Path, Any]
) -> None:
    node = require_executable("node", "Node.js 20 runs the generated client's end-to-end tests")
    if not (REPO_ROOT / "node_modules" / "ws" / "package.json").is_file():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("node_modules/ws is missing; CI must provide it", pytrace=False)
        pytest.skip("node_modules/ws is missing (run npm ci)")
    completed = subprocess.run(
        [node, "tests/client/routes_e2e.mjs"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "CHGEN_URL": server.base_url(),
            "CHGEN_CLIENT": str(built[0] / "client.js"),
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "routes_e2e: ok" in completed.stdout


async def test_the_python_clients_route_class_sends_the_routes_own_set(
    server: ThreadServer,
) -> None:
    client = importlib.import_module("routesgen.routes.client")
    text = importlib.import_module("routesgen.routes.payloads").Text
    async with client.TalkRoute5Socket(client.talk_url3(server.base_url())) as loud:
        assert await asyncio.wait_for(loud.request.say(text(text="hi")), 5) == text(text="HI")
        assert await asyncio.wait_for(loud.request.echo(text(text="hi")), 5) == text(text="echo hi")
        assert not hasattr(loud.request, "shout")
    async with client.TalkSocket(client.talk_url(server.base_url())) as talk:
        assert await asyncio.wait_for(talk.request.shout(text(text="hi")), 5) == text(text="HI")
        assert not hasattr(talk.request, "echo")


def test_the_contract_describes_each_routes_own_set(built: tuple[Path, Any]) -> None:
    document = json.loads((built[0] / "asyncapi.json").read_text())
    messages = {key: set(channel["messages"]) for key, channel in document["channels"].items()}
    assert {"echo.request", "say.request"} <= messages["talkUrl3"]
    assert "shout.request" not in messages["talkUrl3"]
    assert "mychannel.request" in messages["triggered"]
    assert "mychannel.request" not in messages["triggeredUrl2"]
