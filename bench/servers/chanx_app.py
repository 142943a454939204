"""(d) chanx (on Django Channels): typed, pydantic-validated messages, same job.

Frames are chanx's: ``{"action": "say", "payload": {...}, "ref": "7"}``; the reply carries
the same ``ref``. ``post`` broadcasts a ``posted`` message to the room's group with
chanx's ``broadcast_message``. Payload constraints mirror specs/chat.py.
"""

from __future__ import annotations

import itertools
import os
from typing import Annotated, Literal

os.environ.setdefault("CHANX_USE_DJANGO", "1")  # chanx reads its settings from Django

from bench.servers import _django

_django.setup("rest_framework", "chanx.channels")

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from chanx.channels.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from chanx.core.decorators import ws_handler  # noqa: E402
from chanx.messages.base import BaseMessage  # noqa: E402
from django.urls import re_path  # noqa: E402
from pydantic import BaseModel, StringConstraints  # noqa: E402

_ids = itertools.count(1)


class SayPayload(BaseModel):
    text: Annotated[str, StringConstraints(max_length=2000)]


class PostPayload(BaseModel):
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class AckPayload(BaseModel):
    id: int


class PostedPayload(BaseModel):
    id: int
    text: str


class SayMessage(BaseMessage):
    action: Literal["say"] = "say"
    payload: SayPayload


class SayReply(BaseMessage):
    action: Literal["say_reply"] = "say_reply"
    payload: SayPayload


class PostMessage(BaseMessage):
    action: Literal["post"] = "post"
    payload: PostPayload


class PostAck(BaseMessage):
    action: Literal["post_ack"] = "post_ack"
    payload: AckPayload


class Posted(BaseMessage):
    action: Literal["posted"] = "posted"
    payload: PostedPayload


class RoomConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def post_authentication(self) -> None:
        self.room_group = "room." + self.scope["url_route"]["kwargs"]["room"]
        await self.join_group(self.room_group)

    @ws_handler(output_type=SayReply)
    async def say(self, message: SayMessage) -> SayReply:
        return SayReply(payload=message.payload)

    @ws_handler(output_type=PostAck)
    async def post(self, message: PostMessage) -> PostAck:
        n = next(_ids)
        posted = Posted(payload=PostedPayload(id=n, text=message.payload.text))
        await self.broadcast_message(posted, groups=[self.room_group])
        return PostAck(payload=AckPayload(id=n))


app = ProtocolTypeRouter(
    {"websocket": URLRouter([re_path(r"^ws/(?P<room>[a-z0-9-]+)/$", RoomConsumer.as_asgi())])}
)
