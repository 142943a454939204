"""``WebsocketConsumer``: plain text and bytes, no schema (Channels' WebsocketConsumer).

The generated base declares ``receive`` for the user to implement. Group sends reach the
members of a group that run the same consumer, text as text and bytes as bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable
from typing import Any

from .base import BaseConsumer
from .dispatch import unimplemented
from .startup import Expected

__all__ = ["WebsocketConsumer"]

_RECEIVE = "async def receive(self, text: str | None = None, bytes: bytes | None = None) -> None"


class WebsocketConsumer(BaseConsumer):
    @unimplemented
    async def receive(self, text: str | None = None, bytes: bytes | None = None) -> None:
        """Called with each frame: ``text`` for text frames, ``bytes`` for binary ones."""
        raise NotImplementedError(f"{type(self).__name__}.receive is not implemented")

    async def send(self, text: str | None = None, bytes: bytes | None = None) -> None:
        """Send one frame: give exactly one of ``text`` and ``bytes``."""
        if (text is None) == (bytes is None):
            raise ValueError("send() takes exactly one of text= or bytes=")
        if text is not None:
            await self.connection.send_text(text)
        else:
            await self.connection.send_bytes(bytes or b"")

    async def group_send(
        self, group: str, text: str | None = None, bytes: bytes | None = None
    ) -> None:
        """Send one frame to every member of ``group`` that runs this kind of consumer."""
        if (text is None) == (bytes is None):
            raise ValueError("group_send() takes exactly one of text= or bytes=")
        if text is not None:
            await self.group_send_frame(group, {"text": text})
        else:
            # Layers serialise messages; base64 keeps bytes intact through any of them.
            await self.group_send_frame(group, {"bytes": base64.b64encode(bytes or b"").decode()})

    @classmethod
    def expected_handlers(cls) -> list[Expected]:
        receive = Expected("receive", _RECEIVE)
        return [receive, *super().expected_handlers()]

    def deliver_group_event(self, message: dict[str, Any]) -> Awaitable[None]:
        if "text" in message:
            return self.connection.send_text(message["text"])
        return self.connection.send_bytes(base64.b64decode(message["bytes"]))

    # -- as the root consumer of a socket (see chgen.runtime.asgi.serve) ---------------------

    async def on_text(self, text: str) -> None:
        await self.receive(text=text)

    async def on_bytes(self, data: bytes) -> None:
        await self.receive(bytes=data)
