"""Fairness: a socket that sends as fast as it can does not hold the server for itself.

The server hands an ASGI app every queued message without a wait, so a socket's receive
loop that never yields would serve one client's whole backlog before anyone else's. The
runtime yields to the other sockets after a short slice of back-to-back work
(``chgen.runtime.asgi.SLICE``). Shown with the busy fixture app (tests/fixtures/busy_app.py)
in a uvicorn subprocess: its replies count the messages handled so far, so the bystander's
reply says how much of the flood went first. How long the bystander waits is measured by
bench/ (the flood workload), not here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.server import REPO_ROOT, SubprocessServer, open_ws, recv_json, send_json

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FLOOD = 300  # messages of 2 ms of work each: 0.6 s for the server


@pytest.fixture(scope="module")
def busy_server() -> Iterator[SubprocessServer]:
    server = SubprocessServer("busy_app:application", cwd=REPO_ROOT)
    with pytest.MonkeyPatch.context() as env:
        paths = [str(FIXTURES), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
        env.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
        server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.scenario_timeout(30)
async def test_a_flooding_socket_lets_another_socket_be_served_in_between(
    busy_server: SubprocessServer,
) -> None:
    url = f"{busy_server.base_url()}/work/"
    async with open_ws(url) as flooder, open_ws(url) as bystander:
        for i in range(FLOOD):
            await send_json(flooder, {"type": "work", "id": i, "data": {"ms": 2}})
        first = await recv_json(flooder)  # the flood is being served
        await send_json(bystander, {"type": "work", "id": "me", "data": {"ms": 0}})
        reply = await recv_json(bystander, timeout=10)
        assert reply["id"] == "me", reply
        went_first = reply["data"]["handled"] - first["data"]["handled"]
        # Without yielding, the whole rest of the flood (about FLOOD messages) goes first.
        assert went_first < 50, f"{went_first} flood messages were served before the bystander"
        for _ in range(FLOOD - 1):  # let the flood finish before the sockets close
            await recv_json(flooder, timeout=10)
