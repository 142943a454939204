"""The example chat app: a room-scoped chat stream and an echo stream on one socket."""

from typing import Annotated

from annotated_types import MaxLen, MinLen

from chgen.spec import App, Handler, JsonWebsocketConsumer, WebsocketDemultiplexer, payload, route


@payload
class Post:
    """A message typed by a member of the room."""

    text: Annotated[str, MinLen(1), MaxLen(2000)]


@payload
class Ack:
    """The server accepted a post and gave it this id."""

    id: int


@payload
class Posted:
    """A post, as broadcast to everyone in the room."""

    id: int
    text: str


@payload
class Say:
    """Text to echo back."""

    text: Annotated[str, MaxLen(2000)]


chat = JsonWebsocketConsumer(
    "Chat",
    method_mapping={"post": Handler(Post, reply=Ack)},
    sends={"posted": Posted},
    connection_groups=["room.{room}"],
)

echo = JsonWebsocketConsumer(
    "Echo",
    method_mapping={"say": Handler(Say, reply=Say)},
)

lobby = WebsocketDemultiplexer("Lobby", consumers={"chat": chat, "echo": echo})

app = App(
    "chat",
    routes=[route(r"^/ws/(?P<room>[a-z0-9-]+)/$", lobby)],
    handlers="handlers.chat",
)
