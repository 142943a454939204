"""Handlers of the example chat app (spec: specs/chat.py)."""

import itertools

from generated.chat.consumers import ChatBase, EchoBase
from generated.chat.payloads import Ack, Post, Posted, Say

# Message ids are per process; an app that scales out would take them from its store.
_message_ids = itertools.count(1)


class Chat(ChatBase):
    async def post(self, data: Post) -> Ack:
        message_id = next(_message_ids)
        room = f"room.{self.kwargs['room']}"
        await self.group_send_posted(room, Posted(id=message_id, text=data.text))
        return Ack(id=message_id)


class Echo(EchoBase):
    async def say(self, data: Say) -> Say:
        return data
