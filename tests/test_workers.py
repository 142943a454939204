"""Worker consumers in one process: sockets hand jobs to workers running beside the app.

The fixture app (tests/fixtures/workers) is generated into a temporary package and driven
in-process: a Gallery socket's ``upload`` sends a ``resize`` job to the Thumbnails
worker, which sends an ``Auditor`` job of its own and group-sends ``thumbnail.ready``
back to the room, whose sockets get a ``ready`` event. tests/test_workers_redis.py runs
the same app across processes on Redis.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chgen.build import generate
from chgen.cli import main
from chgen.runtime import HandlersMissing, InMemoryChannelLayer, Router
from chgen.runtime.testing import WebsocketClient, exchange
from chgen.writer import write

FIXTURE = Path(__file__).parent / "fixtures" / "workers"


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The generated package's modules (``routing``, ``workers``, ``consumers``,
    ``payloads``) and the handler module (``handlers``)."""
    root = tmp_path_factory.mktemp("workers")
    write(generate(FIXTURE / "specs"), root / "jobsgen")
    for entry in (str(root), str(FIXTURE)):
        sys.path.insert(0, entry)
    modules = {
        name: importlib.import_module(f"jobsgen.jobs.{name}")
        for name in ("routing", "workers", "consumers", "payloads")
    }
    modules["handlers"] = importlib.import_module("jobs_handlers")
    yield type("Jobs", (), modules)
    for entry in (str(root), str(FIXTURE)):
        sys.path.remove(entry)
    for name in [m for m in sys.modules if m.startswith(("jobsgen", "jobs_handlers"))]:
        del sys.modules[name]


def app_of(jobs: Any, layer: Any = None) -> Router:
    """A fresh router over the fixture's routes, running its workers beside the sockets."""
    jobs.handlers.AUDITED.clear()
    return Router(jobs.routing.routes, layer=layer, workers=jobs.workers.workers)


def upload(url: str, width: int = 64) -> dict[str, Any]:
    return {"url": url, "width": width}


async def test_a_socket_hands_a_job_to_a_worker_and_its_room_hears_back(jobs: Any) -> None:
    app = app_of(jobs)
    async with (
        WebsocketClient(app, "/ws/garden/") as sender,
        WebsocketClient(app, "/ws/garden/") as member,
        WebsocketClient(app, "/ws/kitchen/") as elsewhere,
    ):
        await sender.send("upload", upload("rose.png", 120))
        for client in (sender, member):
            ready = await client.event("ready")
            assert ready["url"].startswith("rose.png?by=") and ready["width"] == 120
        await elsewhere.expect_nothing(within=0.2)


async def test_a_worker_sends_typed_jobs_to_another_worker(jobs: Any) -> None:
    app = app_of(jobs)
    async with WebsocketClient(app, "/ws/garden/") as client:
        await client.send("upload", upload("tulip.png"))
        await client.event("ready")
        for _ in range(100):  # the Auditor's job may still be on its way
            if jobs.handlers.AUDITED:
                break
            await asyncio.sleep(0.01)
    assert jobs.handlers.AUDITED == ["resized tulip.png"]


async def test_generated_helpers_send_the_channels_style_message(jobs: Any) -> None:
    """``send_to_<worker>_<type>`` puts ``{"type": job, **payload}`` on the worker's
    channel: what a hand-written Channels producer would send, and reads back."""
    layer = InMemoryChannelLayer()
    worker = jobs.handlers.Auditor(layer)
    await worker.send_to_thumbnails_resize(jobs.payloads.Resize(room="r", url="u", width=2))
    assert await layer.receive("thumbnails") == {
        "type": "resize",
        "room": "r",
        "url": "u",
        "width": 2,
    }
    await worker.send_to_thumbnails_image_audit(jobs.payloads.Audit(text="t"))
    assert await layer.receive("thumbnails") == {"type": "image.audit", "text": "t"}


async def test_a_failing_job_is_logged_once_and_the_worker_goes_on(
    jobs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_of(jobs)
    with caplog.at_level(logging.WARNING, logger="chgen.runtime.worker"):
        async with WebsocketClient(app, "/ws/garden/") as client:
            await client.send("upload", upload("broken:lily.png"))
            await client.send("upload", upload("lily.png"))
            assert (await client.event("ready"))["url"].startswith("lily.png?by=")
    failed = [r for r in caplog.records if r.name == "chgen.runtime.worker"]
    assert len(failed) == 1, [r.getMessage() for r in failed]
    assert failed[0].getMessage() == (
        "'resize' job on channel 'thumbnails' failed in Thumbnails.resize"
    )
    assert failed[0].exc_info is not None
    assert "cannot read broken:lily.png" in str(failed[0].exc_info[1])


async def test_invalid_and_unknown_jobs_are_logged_and_dropped(
    jobs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """What a hand-written producer may put on the channel: each is one warning line,
    without a traceback, and the next job is handled."""
    app = app_of(jobs)
    with caplog.at_level(logging.WARNING, logger="chgen.runtime.worker"):
        async with WebsocketClient(app, "/ws/garden/") as client:
            await app.layer.send("thumbnails", {"type": "resize", "room": "garden", "url": 5})
            await app.layer.send("thumbnails", {"type": "rotate", "degrees": 90})
            await app.layer.send("thumbnails", {"url": "no type at all"})
            await client.send("upload", upload("iris.png"))
            assert (await client.event("ready"))["url"].startswith("iris.png?by=")
    lines = [r.getMessage() for r in caplog.records if r.name == "chgen.runtime.worker"]
    assert lines[0].startswith("dropped an invalid 'resize' job on channel 'thumbnails': ")
    assert lines[0].endswith(
        "$.url expected a string, got an integer; $.width required field missing"
    )
    assert lines[1:] == [
        "Thumbnails dropped a job of unknown type 'rotate' on channel 'thumbnails' "
        "(it handles: image.audit, resize)",
        "Thumbnails dropped a message without a job type on channel 'thumbnails'",
    ]
    assert all(r.exc_info is None for r in caplog.records)


async def test_workers_start_with_the_app_and_stop_at_its_lifespan_shutdown(jobs: Any) -> None:
    app = app_of(jobs)
    assert not app.workers.running
    events = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = await exchange(app, {"type": "lifespan"}, events)
    assert [e["type"] for e in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert not app.workers.running
    # A socket after that starts them again (a server without lifespan events).
    async with WebsocketClient(app, "/ws/garden/") as client:
        assert app.workers.running
        await client.send("upload", upload("daisy.png"))
        await client.event("ready")


async def test_a_worker_class_missing_a_handler_stops_the_app_from_starting(jobs: Any) -> None:
    unfinished = type("Thumbnails", (jobs.consumers.ThumbnailsBase,), {})
    with pytest.raises(HandlersMissing) as raised:
        Router(jobs.routing.routes, workers=[unfinished])
    assert "Thumbnails.resize is not implemented" in str(raised.value)
    assert "write `async def resize(self, data: Resize) -> None`" in str(raised.value)


async def test_workers_run_inside_channels_worker_through_channel_name_router(
    jobs: Any,
) -> None:
    """What ``manage.py runworker thumbnails audit-trail`` runs: Channels' own Worker
    over a ChannelNameRouter of the workers, on Channels' layer, which the app's
    sockets share."""
    from channels.layers import InMemoryChannelLayer as ChannelsLayer
    from channels.routing import ChannelNameRouter
    from channels.worker import Worker

    from chgen.runtime.worker import channel_routes

    layer = ChannelsLayer()
    app = Router(jobs.routing.routes, layer=layer)  # no workers of its own
    jobs.handlers.AUDITED.clear()
    router = ChannelNameRouter(channel_routes(jobs.workers.workers, layer))
    worker = Worker(router, ["thumbnails", "audit-trail"], layer)
    running = asyncio.ensure_future(worker.arun())
    try:
        async with WebsocketClient(app, "/ws/garden/") as client:
            await client.send("upload", upload("broken:fern.png"))
            await client.send("upload", upload("fern.png"))
            assert (await client.event("ready"))["url"].startswith("fern.png?by=")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert jobs.handlers.AUDITED == ["resized fern.png"]


def test_the_generated_workers_and_their_handlers_pass_mypy_strict(tmp_path: Path) -> None:
    write(generate(FIXTURE / "specs"), tmp_path / "jobsgen")
    shutil.copy(FIXTURE / "jobs_handlers.py", tmp_path / "jobs_handlers.py")
    command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    command += ["-p", "jobsgen", "-m", "jobs_handlers"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["jobsgen.jobs"], "give exactly one of --redis URL and --layer MODULE:ATTRIBUTE"),
        (
            ["jobsgen.jobs", "Thumbnail", "--redis", "redis://127.0.0.1:9/0"],
            "the app has no worker or channel named 'Thumbnail'; did you mean 'Thumbnails'?",
        ),
        (["jobsgen.nothing", "--redis", "redis://127.0.0.1:9/0"], "cannot import 'jobsgen"),
        (["jobsgen.jobs", "--layer", "jobs_handlers"], "is not MODULE:ATTRIBUTE"),
        (["jobsgen.jobs", "--layer", "jobs_handlers:Gallery"], "is not a channel layer"),
        (["jobsgen.jobs", "--layer", "jobs_handlers:AUDITED"], "is not a channel layer"),
    ],
)
def test_chgen_worker_says_what_is_wrong_with_its_command_line(
    jobs: Any, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["worker", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
