"""An in-process test client for any chgen app: no server, no sockets, real ASGI events.

    async with WebsocketClient(application, "/ws/lobby/") as client:
        ack = await client.request("post", Post(text="hi"), stream="chat", reply=Ack)
        posted = await client.event("posted", Posted, stream="chat")

Every wait is bounded by ``timeout`` (seconds). Frames that arrive while the client waits
for something else are kept, in order, for later ``receive``/``event`` calls. A client
can also misbehave the way real ones do: stop reading (``pause``) or vanish without a
closing handshake (``drop``). ``exchange`` runs an app on any other scope (an HTTP
request, the lifespan).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, TypeVar

from .asgi import ASGIApp
from .codec import decoder, encoder
from .protocol import decode_json, encode_json

__all__ = ["Refused", "WebsocketClient", "exchange"]

T = TypeVar("T")
Event = MutableMapping[str, Any]


class Refused(Exception):
    """The app refused the handshake (closed before accepting)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the handshake was refused (close code {code})")
        self.code = code


async def exchange(
    app: ASGIApp, scope: dict[str, Any], events: Iterable[Event] = (), *, timeout: float = 2.0
) -> list[Event]:
    """Run ``app`` on a scope other than a WebSocket's (an HTTP request, the lifespan):
    it receives ``events`` in order; returns what it sent, once it has returned."""
    incoming: asyncio.Queue[Event] = asyncio.Queue()
    for event in events:
        incoming.put_nowait(event)
    sent: list[Event] = []

    async def send(event: Event) -> None:
        sent.append(event)

    await asyncio.wait_for(app(scope, incoming.get, send), timeout)
    return sent


class _Transport:
    """The client's side of the ASGI connection: the app's task and the events between."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.task: asyncio.Future[None] | None = None
        self.dropped = False
        self.to_app: asyncio.Queue[Event] = asyncio.Queue()
        # What the app sent and nobody read yet. Waiting on an event rather than taking
        # from a queue: a wait that is cancelled (a timeout) then loses nothing.
        self._from_app: deque[Event] = deque()
        self._arrived = asyncio.Event()
        self._reading = asyncio.Event()
        self._reading.set()

    def start(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        self.task = asyncio.ensure_future(app(scope, self.to_app.get, self._app_sends))
        self.to_app.put_nowait({"type": "websocket.connect"})

    def pause(self, paused: bool) -> None:
        if paused:
            self._reading.clear()
        else:
            self._reading.set()

    async def _app_sends(self, event: Event) -> None:
        if event["type"] == "websocket.send":
            if self.dropped:
                # What uvicorn raises once the peer has gone (an OSError subclass).
                raise ConnectionResetError("the client dropped the connection")
            await self._reading.wait()
        self._from_app.append(event)
        self._arrived.set()

    def quiet(self) -> bool:
        """Whether the app finished and left nothing unread."""
        return self.task is not None and self.task.done() and not self._from_app

    async def next_event(self) -> Event:
        assert self.task is not None
        if not self._from_app:
            self._arrived.clear()
            arrived = asyncio.ensure_future(self._arrived.wait())
            waiting: set[asyncio.Future[Any]] = {arrived, self.task}
            try:
                await asyncio.wait(
                    waiting, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                arrived.cancel()
        if self._from_app:
            return self._from_app.popleft()
        if self.task.done():
            self.task.result()  # re-raise the app's exception, if any
            raise AssertionError("the app finished without answering")
        raise TimeoutError(f"nothing from the app within {self.timeout} s")

    async def finish(self) -> None:
        assert self.task is not None
        await asyncio.wait_for(self.task, self.timeout)


class WebsocketClient:
    def __init__(
        self,
        app: ASGIApp,
        path: str,
        *,
        query_string: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
        subprotocols: list[str] | None = None,
        scope: dict[str, Any] | None = None,
        timeout: float = 2.0,
    ) -> None:
        self.timeout = timeout
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query_string,
            "headers": headers or [],
            "subprotocols": subprotocols or [],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 80),
            **(scope or {}),
        }
        self.subprotocol: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._app = app
        self._transport = _Transport(timeout)
        self._kept: list[Any] = []
        self._ids = itertools.count(1)

    async def __aenter__(self) -> WebsocketClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the socket; raise ``Refused`` if the app closes instead of accepting."""
        self._transport.start(self._app, self.scope)
        first = await self._transport.next_event()
        if first["type"] == "websocket.close":
            self.close_code = first.get("code", 1000)
            await self._transport.finish()
            raise Refused(self.close_code or 1000)
        self.subprotocol = first.get("subprotocol")

    async def close(self, code: int = 1000) -> None:
        """Close from the client side and wait (bounded) for the app to finish."""
        task = self._transport.task
        if task is None or task.done():
            return
        await self._transport.to_app.put({"type": "websocket.disconnect", "code": code})
        await self._transport.finish()

    def pause(self) -> None:
        """Stop reading, as a client whose transport is paused: the app's sends of frames
        wait until ``resume()``, and their frames arrive then, in order."""
        self._transport.pause(True)

    def resume(self) -> None:
        self._transport.pause(False)

    def drop(self) -> None:
        """Vanish without a closing handshake: the app's sends fail from now on, as an
        ASGI server's do once the peer has gone, and it receives a 1006 disconnect."""
        self._transport.dropped = True
        self._transport.to_app.put_nowait({"type": "websocket.disconnect", "code": 1006})

    async def send_text(self, text: str) -> None:
        await self._transport.to_app.put({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self._transport.to_app.put({"type": "websocket.receive", "bytes": data})

    async def send_json(self, content: Any) -> None:
        await self.send_text(encode_json(content))

    async def send(
        self,
        msg_type: str,
        data: Any = None,
        *,
        stream: str | None = None,
        id: str | int | None = None,
    ) -> None:
        """Send a protocol message; ``data`` may be a payload instance or plain JSON."""
        frame: dict[str, Any] = {"type": msg_type, "data": _plain(data)}
        if id is not None:
            frame["id"] = id
        await self.send_json(frame if stream is None else {"stream": stream, "payload": frame})

    async def receive(self) -> Any:
        """The next frame (unwrapped JSON), kept frames first."""
        if self._kept:
            return self._kept.pop(0)
        return await self._receive_new()

    async def request(
        self,
        msg_type: str,
        data: Any = None,
        *,
        stream: str | None = None,
        reply: type[T] | None = None,
    ) -> Any:
        """Send with a fresh id and return the answer's ``data`` (as ``reply`` if given).

        An error answer raises ``AssertionError`` with the error frame.
        """
        msg_id = next(self._ids)
        await self.send(msg_type, data, stream=stream, id=msg_id)
        frame = await self._take(lambda f: f.get("id") == msg_id, stream)
        if frame.get("type") == "error":
            raise AssertionError(f"{msg_type} was answered with an error: {frame['error']}")
        return frame["data"] if reply is None else decoder(reply)(frame["data"])

    async def error(self, *, stream: str | None = None) -> dict[str, Any]:
        """The next error frame's ``error`` object on ``stream`` (or at top level)."""
        frame = await self._take(lambda f: f.get("type") == "error", stream)
        error: dict[str, Any] = frame["error"]
        return error

    async def gap(self, *, stream: str | None = None) -> dict[str, Any]:
        """The next gap frame's ``gap`` object on ``stream``: ``{"lost": N, "reason": R}``,
        sent when group events never reached the socket."""
        frame = await self._take(lambda f: f.get("type") == "gap", stream)
        gap: dict[str, Any] = frame["gap"]
        return gap

    async def event(
        self, event: str, payload: type[T] | None = None, *, stream: str | None = None
    ) -> Any:
        """Wait for event ``event`` on ``stream``; its data, as ``payload`` if given."""
        frame = await self._take(lambda f: f.get("type") == event and "id" not in f, stream)
        return frame["data"] if payload is None else decoder(payload)(frame["data"])

    async def expect_nothing(self, within: float = 0.1) -> None:
        """Assert that no frame arrives within ``within`` seconds (none can once the app
        has finished)."""
        if self._kept:
            raise AssertionError(f"unexpected frame: {self._kept[0]!r}")
        if self._transport.quiet():
            return
        try:
            frame = await asyncio.wait_for(self._receive_new(), within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame: {frame!r}")

    async def closed(self) -> int:
        """Wait for the app to close the socket; return the close code. Frames that came
        first are kept for ``receive`` and the like; frames sent after the close (an app
        should send none) are what ``receive`` returns next."""
        while self.close_code is None:
            event = await self._transport.next_event()
            if event["type"] == "websocket.close":
                self._closed_by_app(event)
            else:
                self._kept.append(_decoded(event))
        return self.close_code

    async def _take(self, wanted: Callable[[Any], bool], stream: str | None) -> dict[str, Any]:
        def unwrap(frame: Any) -> dict[str, Any] | None:
            if stream is not None:
                if not isinstance(frame, dict) or frame.get("stream") != stream:
                    return None
                frame = frame.get("payload")
            return frame if isinstance(frame, dict) and wanted(frame) else None

        for index, kept in enumerate(self._kept):
            found = unwrap(kept)
            if found is not None:
                del self._kept[index]
                return found
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            frame = await asyncio.wait_for(self._receive_new(), max(0.0, deadline - loop.time()))
            found = unwrap(frame)
            if found is not None:
                return found
            self._kept.append(frame)

    async def _receive_new(self) -> Any:
        event = await self._transport.next_event()
        if event["type"] == "websocket.close":
            self._closed_by_app(event)
            raise AssertionError(f"the app closed the socket with code {self.close_code}")
        return _decoded(event)

    def _closed_by_app(self, event: Event) -> None:
        self.close_code = event.get("code", 1000)
        self.close_reason = event.get("reason", "")


def _decoded(event: Event) -> Any:
    text = event.get("text")
    return decode_json(text if text is not None else event.get("bytes", b""))


def _plain(data: Any) -> Any:
    """Payload instances become their JSON form; plain JSON passes through."""
    if data is None:
        return {}
    if hasattr(type(data), "__attrs_attrs__"):
        return encoder(type(data))(data)
    return data
