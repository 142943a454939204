"""``chgen dev --api-page``: the app's api.html at /_chgen/api, beside the app itself, as
uvicorn serves it with the command line chgen dev runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request

from e2e.server import REPO_ROOT, accepts, free_port, open_ws, recv_json, send_json

from chgen.dev import API_PATH, api_page_environment, serve_command

PAGE = REPO_ROOT / "generated" / "chat" / "api.html"


def test_the_page_is_served_at_chgen_api_and_the_app_still_answers() -> None:
    port = free_port()
    command = serve_command(
        "generated.chat.routing",
        REPO_ROOT,
        host="127.0.0.1",
        port=port,
        reload=False,
        api_page=True,
    )
    env = {**os.environ, **api_page_environment("generated.chat.routing", PAGE)}
    process = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not accepts(port):
            assert process.poll() is None, "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{API_PATH}", timeout=5) as response:
            assert response.status == 200
            assert response.headers["content-type"].startswith("text/html")
            assert response.read() == PAGE.read_bytes()

        async def echo() -> object:
            origin = {"Origin": f"http://127.0.0.1:{port}"}
            async with open_ws(f"ws://127.0.0.1:{port}/ws/a/", additional_headers=origin) as ws:
                frame = {"type": "say", "id": 1, "data": {"text": "hi"}}
                await send_json(ws, {"stream": "echo", "payload": frame})
                return await recv_json(ws)

        answer = asyncio.run(asyncio.wait_for(echo(), 10))
        assert answer == {
            "stream": "echo",
            "payload": {"type": "say", "id": 1, "data": {"text": "hi"}},
        }
    finally:
        process.terminate()
        process.wait(10)
