"""Wire formats of the servers under test: how to build a request and a post, and where a
reply keeps its id and an event its sequence number.

Texts are fixed-size so every server moves the same bytes. The load client
(bench/load.py) and the in-process harness (bench/inproc.py) both speak them.
"""

from __future__ import annotations

from typing import Any

TEXT = "hello, this is a benchmark message"


class Flavor:
    """The plain chgen wire protocol: {"type", "id", "data"}; hand-written servers too."""

    def request(self, i: int) -> bytes:
        return b'{"type":"say","id":%d,"data":{"text":"%s"}}' % (i, TEXT.encode())

    def post(self, seq: int) -> bytes:
        return b'{"type":"post","id":%d,"data":{"text":"%d"}}' % (seq, seq)

    def reply_id(self, obj: Any) -> Any:
        return obj.get("id")

    def event_seq(self, obj: Any) -> int | None:
        if obj.get("type") == "posted":
            return int(obj["data"]["text"])
        return None


class MuxFlavor(Flavor):
    """The {"stream", "payload"} envelope of chgen's and channelsmultiplexer's demuxers."""

    def request(self, i: int) -> bytes:
        return b'{"stream":"echo","payload":%s}' % super().request(i)

    def post(self, seq: int) -> bytes:
        return b'{"stream":"chat","payload":%s}' % super().post(seq)

    def reply_id(self, obj: Any) -> Any:
        payload = obj.get("payload")
        return payload.get("id") if type(payload) is dict else None

    def event_seq(self, obj: Any) -> int | None:
        payload = obj.get("payload")
        if type(payload) is dict and payload.get("type") == "posted":
            return int(payload["data"]["text"])
        return None


class ChanxFlavor(Flavor):
    """chanx's frames: {"action", "payload"}, correlated by a string "ref"."""

    def request(self, i: int) -> bytes:
        return b'{"action":"say","payload":{"text":"%s"},"ref":"%d"}' % (TEXT.encode(), i)

    def post(self, seq: int) -> bytes:
        return b'{"action":"post","payload":{"text":"%d"},"ref":"%d"}' % (seq, seq)

    def reply_id(self, obj: Any) -> Any:
        ref = obj.get("ref")
        return int(ref) if ref is not None else None

    def event_seq(self, obj: Any) -> int | None:
        if obj.get("action") == "posted":
            return int(obj["payload"]["text"])
        return None


FLAVORS: dict[str, Flavor] = {"plain": Flavor(), "mux": MuxFlavor(), "chanx": ChanxFlavor()}
