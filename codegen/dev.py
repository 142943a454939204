"""``chgen dev``: build, serve the app with reload, and rebuild whenever a spec changes.

The server is uvicorn (the ``[serve]`` extra) in a child process with ``--reload``: a
rebuild rewrites generated modules, and uvicorn restarts the app on them, as it does
when a handler changes. Rebuilding is ``chgen build --watch`` (``chgen.watch``). Ctrl-C
stops both; the server stopping on its own (a port in use) ends the command with exit 1.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import attrs

from .config import Layout
from .errors import ChgenError, UsageError
from .manifest import ROOT_PACKAGE, read_manifest
from .project import SERVE_OPTIONS
from .scaffold import package_for

__all__ = [
    "API_PATH",
    "SERVE_EXTRA",
    "Server",
    "ServerMissing",
    "api_page_application",
    "require_server",
    "serve_command",
]

SERVE_EXTRA = "pip install 'chgen[serve]'"
STOP_TIMEOUT = 10.0  # seconds the server may take to stop after Ctrl-C
API_PATH = "/_chgen/api"  # where `chgen dev --api-page` serves the app's api.html
# What the server process is told by `chgen dev --api-page` (see api_page_application).
APP_VARIABLE, PAGE_VARIABLE = "CHGEN_DEV_APP", "CHGEN_DEV_API_PAGE"


class ServerMissing(ChgenError):
    """uvicorn or a WebSocket library for it is not installed (exit 1)."""


def require_server() -> None:
    """Raise ServerMissing, saying what to install, unless uvicorn can serve WebSockets."""
    missing = []
    if importlib.util.find_spec("uvicorn") is None:
        missing.append("uvicorn is not installed")
    if all(importlib.util.find_spec(name) is None for name in ("websockets", "wsproto")):
        missing.append("no WebSocket library for uvicorn (websockets or wsproto) is installed")
    if missing:
        raise ServerMissing(f"{' and '.join(missing)}, so chgen cannot serve; run {SERVE_EXTRA}")


def app_module(layout: Layout, app: str) -> str:
    """The dotted name of ``app``'s routing module, as imported from the handler root."""
    return f"{package_for(layout.out_dir, layout.handler_root)}.{app}.routing"


def built_app(out_dir: Path, wanted: str | None) -> str:
    """The app to serve among those the last build wrote: ``wanted``, or the only one."""
    manifest = read_manifest(out_dir)
    apps = sorted(n for n in (manifest.apps if manifest else ()) if n != ROOT_PACKAGE)
    if wanted is not None and wanted not in apps:
        raise UsageError(f"no app named {wanted!r} was built (apps: {', '.join(apps) or 'none'})")
    if wanted is None and len(apps) != 1:
        raise UsageError(
            f"the specs define {len(apps)} apps ({', '.join(apps)}); choose one with --app"
        )
    return wanted or apps[0]


def serve_command(
    module: str,
    handler_root: Path,
    *,
    host: str,
    port: int,
    reload: bool = True,
    api_page: bool = False,
) -> list[str]:
    """The uvicorn command line (after ``python -m``) serving ``module:application``;
    with ``api_page``, wrapped by ``api_page_application`` (give the server process
    ``api_page_environment``)."""
    root = _shown(handler_root)
    command = ["uvicorn", f"{module}:application"]
    if api_page:
        command = ["uvicorn", f"{__name__}:api_page_application", "--factory"]
    if root != ".":
        command += ["--app-dir", root]
    command += ["--host", host, "--port", str(port), *SERVE_OPTIONS]
    if reload:
        command += ["--reload", "--reload-dir", root]
    return command


def api_page_environment(module: str, page: Path) -> dict[str, str]:
    return {APP_VARIABLE: f"{module}:application", PAGE_VARIABLE: str(page.resolve())}


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def api_page_application() -> ASGIApp:
    """uvicorn ``--factory``: the app named by ``CHGEN_DEV_APP``, with the page
    ``CHGEN_DEV_API_PAGE`` served at ``/_chgen/api`` (read on every request, so a
    rebuild shows at once). Everything else goes to the app."""
    module, _, name = os.environ[APP_VARIABLE].partition(":")
    app: ASGIApp = getattr(importlib.import_module(module), name)
    page = Path(os.environ[PAGE_VARIABLE])

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in (API_PATH, f"{API_PATH}/"):
            await app(scope, receive, send)
            return
        try:
            status, body = 200, page.read_bytes()
            kind = b"text/html; charset=utf-8"
        except OSError:
            status, body, kind = 404, b"api.html is not built yet", b"text/plain; charset=utf-8"
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return application


@attrs.define
class Server:
    """uvicorn in a child process; ``stopped`` is set when it exits, for whatever reason."""

    command: list[str]
    stopped: threading.Event = attrs.field(factory=threading.Event)
    process: subprocess.Popen[bytes] | None = None
    environment: dict[str, str] = attrs.field(factory=dict)

    def start(self) -> None:
        env = {**os.environ, **self.environment} if self.environment else None
        self.process = subprocess.Popen([sys.executable, "-m", *self.command], env=env)
        threading.Thread(target=self._wait, daemon=True).start()

    def _wait(self) -> None:
        assert self.process is not None
        self.process.wait()
        self.stopped.set()

    def stop(self) -> int | None:
        """Stop the server as Ctrl-C would, then harder; its exit code (None: never ran)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def run(
    layout: Layout,
    *,
    app: str | None,
    host: str,
    port: int,
    build: Callable[[], int],
    watch: Callable[[Callable[[], object], threading.Event], None],
    echo: Callable[[str], None],
    api_page: bool = False,
) -> int:
    """Build, serve, rebuild on changes until Ctrl-C; the exit code. With ``api_page``,
    the app's api.html is served at /_chgen/api too."""
    require_server()
    code = build()
    if code != 0:
        echo("the first build failed; fix the spec and run `chgen dev` again")
        return code
    name = built_app(layout.out_dir, app)
    module = app_module(layout, name)
    command = serve_command(module, layout.handler_root, host=host, port=port, api_page=api_page)
    environment = api_page_environment(module, layout.out_dir / name / "api.html")
    server = Server(command, environment=environment if api_page else {})
    echo(f"serving {module}:application at http://{host}:{port}/ (Ctrl-C stops)")
    if api_page:
        echo(f"  its API reference: http://{host}:{port}{API_PATH}")
    echo(f"  {shlex.join(server.command)}")
    server.start()
    try:
        with _terminate_as_interrupt():
            watch(_after_first(build), server.stopped)
    except KeyboardInterrupt:
        pass
    finally:
        status = server.stop()
    # Ctrl-C in a terminal reaches uvicorn too, which then stops cleanly (0) on its own.
    if status:
        echo(f"the server stopped by itself (exit {status}); see its output above")
        return 1
    echo("stopped")
    return 0


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the command as Ctrl-C does, so the server is never left behind."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _after_first(build: Callable[[], int]) -> Callable[[], object]:
    """``build``, except on its first call: the watcher's opening build is done already."""
    first = True

    def rebuild() -> object:
        nonlocal first
        if first:
            first = False
            return None
        return build()

    return rebuild


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
