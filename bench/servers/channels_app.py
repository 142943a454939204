"""(c) Django Channels 4: an AsyncJsonWebsocketConsumer, and the same consumers behind
channelsmultiplexer's AsyncJsonWebsocketDemultiplexer ({"stream", "payload"} envelope).

``plain`` serves one consumer doing both jobs on ``/ws/<room>/``; ``mux`` serves the
demultiplexer there with streams ``chat`` (post -> group broadcast) and ``echo`` (say),
like chgen's Lobby. Written the way the Channels tutorial writes consumers.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

from bench.servers import _django

_django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channelsmultiplexer import AsyncJsonWebsocketDemultiplexer  # noqa: E402
from django.urls import re_path  # noqa: E402

_ids = itertools.count(1)


class RoomConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Joins the room's group on connect; ``say`` and ``post`` as in chgen's chat spec."""

    async def connect(self) -> None:
        self.room_group = "room." + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.room_group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.room_group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type")
        if kind == "say":
            await self.send_json(
                {"type": "say", "id": content["id"], "data": {"text": content["data"]["text"]}}
            )
        elif kind == "post":
            n = next(_ids)
            await self.channel_layer.group_send(
                self.room_group, {"type": "chat.posted", "id": n, "text": content["data"]["text"]}
            )
            await self.send_json({"type": "post", "id": content["id"], "data": {"id": n}})

    async def chat_posted(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "posted", "data": {"id": event["id"], "text": event["text"]}})


class EchoConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content.get("type") == "say":
            await self.send_json(
                {"type": "say", "id": content["id"], "data": {"text": content["data"]["text"]}}
            )


class Lobby(AsyncJsonWebsocketDemultiplexer):  # type: ignore[misc]
    applications: ClassVar[dict[str, Any]] = {
        "chat": RoomConsumer.as_asgi(),
        "echo": EchoConsumer.as_asgi(),
    }


ROOM = r"^ws/(?P<room>[a-z0-9-]+)/$"

plain = ProtocolTypeRouter({"websocket": URLRouter([re_path(ROOM, RoomConsumer.as_asgi())])})
mux = ProtocolTypeRouter({"websocket": URLRouter([re_path(ROOM, Lobby.as_asgi())])})
