"""Which web pages may open a socket: the ``Origin`` of a handshake, checked before routing.

A browser lets any page open a WebSocket to any host, sends the user's cookies with it,
and says which page asked in the ``Origin`` header. Without a check, a hostile page can
talk to the app as the user (cross-site WebSocket hijacking). So a handshake is refused
(HTTP 403) unless its Origin is this host itself or matches one of the allowed patterns.

A handshake without an Origin is not from a browser (browsers always send one), and such
a client could send any Origin it likes: the check protects browser users, it does not
authenticate anyone, so a missing Origin passes.

Patterns are read as Channels' ``OriginValidator`` reads Django's ``ALLOWED_HOSTS``:

* ``"example.com"``: that host, any scheme and port;
* ``".example.com"``: example.com and every subdomain of it;
* ``"https://example.com"``, ``"http://localhost:3000"``: that scheme, host and port (the
  scheme's default port when none is given); the host may start with ``.`` too;
* ``"*"``: any origin, ``null`` included: the check is off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

__all__ = ["OriginPolicy"]

_DEFAULT_PORTS: Final = {"http": 80, "ws": 80, "https": 443, "wss": 443}
# Characters of a hostile header a log line quotes.
_QUOTED: Final = 64


class _Pattern(NamedTuple):
    scheme: str | None  # None: any scheme and port
    host: str  # lowercase; a leading "." also matches every subdomain
    port: int | None


class _Origin(NamedTuple):
    scheme: str
    host: str
    port: int | None


class OriginPolicy:
    """The origins a router admits: its own host, plus ``allowed`` patterns (see above)."""

    __slots__ = ("_any", "_patterns", "allowed")

    def __init__(self, allowed: Sequence[str] = ()) -> None:
        """Raises ValueError naming the first pattern that is not an origin pattern."""
        if isinstance(allowed, str):
            raise ValueError(
                f"allowed_origins must be a list of patterns, not the string {allowed!r}; "
                f"write [{allowed!r}]"
            )
        self.allowed = tuple(allowed)
        self._any = "*" in self.allowed
        self._patterns = tuple(_pattern(p, i) for i, p in enumerate(self.allowed) if p != "*")

    def refusal(self, scope: Mapping[str, Any]) -> str | None:
        """Why a handshake with ``scope`` is refused, for the log; None if it may go on."""
        origin = _header(scope, b"origin")
        if origin is None or self._any:
            return None
        parsed = _origin(origin)
        if parsed is not None:
            if _same_host(parsed, _header(scope, b"host"), scope.get("scheme", "ws")):
                return None
            if any(_matches(parsed, pattern) for pattern in self._patterns):
                return None
        host = _header(scope, b"host") or "(none)"
        return (
            f"origin {_quote(origin)} is neither this host ({_quote(host)}) nor in allowed_origins"
        )


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _quote(text: str) -> str:
    if len(text) <= _QUOTED:
        return repr(text)
    return f"{text[:_QUOTED]!r}... (cut: {len(text)} characters)"


def _origin(text: str) -> _Origin | None:
    """``scheme://host[:port]``, as browsers send it; None for ``null`` or junk."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return _Origin(scheme, parts.hostname.lower(), port or _DEFAULT_PORTS.get(scheme))


def _same_host(origin: _Origin, host: str | None, scheme: str) -> bool:
    """Whether the page came from the host the socket was opened on. A Host header
    without a port (the app behind a proxy on 80 or 443) admits either default port."""
    if host is None:
        return False
    try:
        parts = urlsplit(f"//{host.strip()}")
        port = parts.port
    except ValueError:
        return False
    if parts.hostname is None or parts.hostname.lower() != origin.host:
        return False
    if port is None:
        return origin.port in (80, 443)
    return origin.port == port or (origin.port is None and port == _DEFAULT_PORTS.get(scheme))


def _pattern(pattern: object, index: int) -> _Pattern:
    where = f"allowed_origins[{index}]"
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError(f"{where}: expected a host or origin pattern string, got {pattern!r}")
    text = pattern.strip().lower()
    if "://" not in text:
        parts = urlsplit(f"//{text}")
        if parts.path or parts.query or not parts.hostname:
            raise ValueError(
                f"{where}: {pattern!r} is not a host pattern; write a host such as "
                f"'example.com' or '.example.com', or an origin such as 'https://example.com'"
            )
        return _Pattern(None, parts.hostname, None)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"{where}: {pattern!r} has an invalid port") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment or not parts.hostname:
        raise ValueError(
            f"{where}: {pattern!r} is not an origin; an origin is scheme://host[:port], "
            f"with no path (e.g. 'https://example.com')"
        )
    return _Pattern(parts.scheme, parts.hostname, port or _DEFAULT_PORTS.get(parts.scheme))


def _matches(origin: _Origin, pattern: _Pattern) -> bool:
    if pattern.scheme is not None and (
        pattern.scheme != origin.scheme or pattern.port != origin.port
    ):
        return False
    host = pattern.host
    if host.startswith("."):
        return origin.host == host[1:] or origin.host.endswith(host)
    return origin.host == host
