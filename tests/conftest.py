"""Shared fixtures: real uvicorn servers for the end-to-end tests, and async tests.

* An ``async def test_...`` runs on a fresh event loop, bounded in time: 20 s, or what
  ``@pytest.mark.scenario_timeout(seconds)`` says. It may use fixtures like any test.
* ``chat_server``: the example app, ``generated.chat.routing:application``, in a uvicorn
  subprocess started from the repository root, as a user would serve it.
* ``faulty_layer_server``: tests/fixtures/faulty_layer_app.py (the chat app on a layer
  that loses group events, its echo stream rate-limited) in a uvicorn subprocess.
* ``faulty_app`` / ``faulty_server``: the fixture app in tests/fixtures/faulty, generated
  into a temporary directory with ``chgen.build.generate`` + ``chgen.writer.write``,
  imported, and served by uvicorn in a thread so tests can inspect its channel layer and
  the handlers' records.

The servers are session-scoped: starting them is the slow part of the suite.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from e2e.server import REPO_ROOT, FaultyApp, SubprocessServer, ThreadServer

from chgen.build import generate
from chgen.writer import write

FAULTY_DIR = Path(__file__).resolve().parent / "fixtures" / "faulty"
SCENARIO_TIMEOUT = 20.0  # seconds an async test may take, unless its marker says otherwise


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "scenario_timeout(seconds): bound an async test by this many seconds"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test to completion on a fresh event loop, failing it if it
    takes longer than its bound; leave every other test to pytest."""
    test = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test):
        return None
    marker = pyfuncitem.get_closest_marker("scenario_timeout")
    timeout = float(marker.args[0]) if marker is not None else SCENARIO_TIMEOUT
    arguments = {name: pyfuncitem.funcargs[name] for name in inspect.signature(test).parameters}
    asyncio.run(asyncio.wait_for(test(**arguments), timeout))
    return True


def _is_faulty_module(name: str) -> bool:
    return name in ("faultygen", "faulty_handlers", "_chgen_spec_faulty") or name.startswith(
        "faultygen."
    )


@pytest.fixture(scope="session")
def chat_server() -> Iterator[SubprocessServer]:
    server = SubprocessServer("generated.chat.routing:application", cwd=REPO_ROOT).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def faulty_layer_server() -> Iterator[SubprocessServer]:
    paths = [
        str(REPO_ROOT / "tests" / "fixtures"),
        str(REPO_ROOT),
        os.environ.get("PYTHONPATH", ""),
    ]
    server = SubprocessServer(
        "faulty_layer_app:application", env={"PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    ).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def faulty_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyApp]:
    saved_path = list(sys.path)
    stale = [name for name in sys.modules if _is_faulty_module(name)]
    assert not stale, f"modules of the faulty app already imported: {stale}"
    root = tmp_path_factory.mktemp("faulty-build")
    try:
        plan = generate(FAULTY_DIR / "specs")
        write(plan, root / "faultygen")
        sys.path[:0] = [str(root), str(FAULTY_DIR)]
        importlib.invalidate_caches()
        routing = importlib.import_module("faultygen.faulty.routing")
        handlers = importlib.import_module("faulty_handlers")
        yield FaultyApp(routing, handlers, root / "faultygen")
    finally:
        # generate() puts the spec dirs on sys.path too; restore it exactly.
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if _is_faulty_module(n)]:
            del sys.modules[name]


@pytest.fixture(scope="session")
def faulty_server(faulty_app: FaultyApp) -> Iterator[ThreadServer]:
    server = ThreadServer(faulty_app.routing.application).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, show what the uvicorn subprocess printed (tracebacks, access log)."""
    report = yield
    server = getattr(item, "funcargs", {}).get("chat_server")
    if report.failed and isinstance(server, SubprocessServer):
        report.sections.append(("uvicorn (chat_server) output", server.output()[-20_000:]))
    return report
