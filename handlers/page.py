"""The example chat app with a web page: the generated sockets plus two static files.

Serve with ``uvicorn handlers.page:application``; open http://127.0.0.1:8000/?room=lobby
in two tabs. The page uses the generated ``client.js`` as it would ship to a browser.
"""

from collections.abc import Mapping
from pathlib import Path

from chgen.runtime import Router
from chgen.runtime.asgi import ASGIApp, Receive, Scope, Send
from generated.chat.routing import routes

_ROOT = Path(__file__).resolve().parent.parent
# URL path -> (file, content type). A fixed table: nothing else on disk is reachable.
_FILES = {
    "/": (_ROOT / "handlers" / "static" / "index.html", b"text/html; charset=utf-8"),
    "/client.js": (_ROOT / "generated" / "chat" / "client.js", b"text/javascript"),
}


def static_files(files: Mapping[str, tuple[Path, bytes]]) -> ASGIApp:
    """An HTTP app serving ``files`` (URL path -> (file, content type)), read on each
    request, uncached; anything else is 404."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        found = files.get(scope["path"])
        if found is None or scope["method"] not in ("GET", "HEAD"):
            status, body, kind = 404, b"Not Found\n", b"text/plain; charset=utf-8"
        else:
            status, body, kind = 200, found[0].read_bytes(), found[1]
        headers = [(b"content-type", kind), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        empty = scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if empty else body})

    return serve


page = static_files(_FILES)
application = Router(routes, http=page)
