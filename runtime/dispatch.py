"""The explicit dispatch table: message type -> (payload decoder, handler, reply encoder).

Generated consumers declare their table as data; nothing looks up methods by name at
run time. Decoders and encoders are prepared once, when the table is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from .codec import Decoder, Encoder, decoder, encoder
from .protocol import UNKNOWN_TYPE, Detail, ProtocolError

__all__ = ["DispatchTable", "Handler", "MessageRoute", "is_unimplemented", "unimplemented"]

Handler = Callable[[Any, Any], Awaitable[Any]]
F = TypeVar("F", bound=Callable[..., Any])

_UNIMPLEMENTED = "__chgen_unimplemented__"


def unimplemented(method: F) -> F:
    """Mark a generated placeholder handler; the router refuses to start while one is left."""
    setattr(method, _UNIMPLEMENTED, True)
    return method


def is_unimplemented(method: object) -> bool:
    return getattr(method, _UNIMPLEMENTED, False) is True


@attrs.frozen
class MessageRoute:
    """How one message type is handled: ``call(consumer, payload)`` returns the reply."""

    msg_type: str
    payload: type[Any]
    call: Handler
    reply: type[Any] | None = None
    method: str = ""  # the consumer method ``call`` invokes, for startup checks
    decode: Decoder[Any] = attrs.field(init=False)
    encode_reply: Encoder | None = attrs.field(init=False)

    @decode.default
    def _decode(self) -> Decoder[Any]:
        return decoder(self.payload)

    @encode_reply.default
    def _encode_reply(self) -> Encoder | None:
        return None if self.reply is None else encoder(self.reply)


class DispatchTable:
    """Message routes by type; unknown types raise ``unknown_type``."""

    def __init__(self, routes: Iterable[MessageRoute]) -> None:
        self._routes: Mapping[str, MessageRoute] = {r.msg_type: r for r in routes}
        self._known = ", ".join(sorted(self._routes)) or "(none)"

    def __contains__(self, msg_type: object) -> bool:
        return msg_type in self._routes

    def __iter__(self) -> Any:
        return iter(self._routes.values())

    def lookup(self, msg_type: str) -> MessageRoute:
        route = self._routes.get(msg_type)
        if route is None:
            raise ProtocolError(
                UNKNOWN_TYPE,
                f"unknown message type {msg_type!r}",
                (Detail("$.type", f"expected one of: {self._known}"),),
            )
        return route
