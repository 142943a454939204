"""chgen.runtime.delivery.forwarding: forward tables are shared by sockets with the same entries."""

from __future__ import annotations

import gc

from chgen.runtime.delivery.forwarding import _TABLES, with_entry, without_entry

CHAT = ("room.a", "Chat", '{"stream":"chat","payload":')
PLAIN = ("room.a", "Chat", "")
OTHER = ("room.b", "Other", "")


def test_the_same_entries_share_one_table_whatever_the_order() -> None:
    one = with_entry(with_entry(None, CHAT), OTHER)
    two = with_entry(with_entry(None, OTHER), CHAT)
    assert one is two
    assert one == {"room.a": {"Chat": (CHAT[2],)}, "room.b": {"Other": ("",)}}


def test_two_streams_of_one_consumer_give_two_prefixes() -> None:
    table = with_entry(with_entry(None, CHAT), PLAIN)
    assert sorted(table["room.a"]["Chat"]) == sorted([CHAT[2], ""])


def test_removing_entries_leads_back_to_the_shared_table_and_then_to_none() -> None:
    single = with_entry(None, CHAT)
    both = with_entry(single, OTHER)
    assert without_entry(both, OTHER) is single
    assert without_entry(single, CHAT) is None
    assert without_entry(single, OTHER) is single, "an entry it lacks changes nothing"
    assert without_entry(None, CHAT) is None


def test_a_table_nobody_uses_is_freed() -> None:
    entry = ("room.gone", "Chat", "")
    table = with_entry(None, entry)
    key = table.entries
    assert key in _TABLES
    del table
    gc.collect()
    assert key not in _TABLES
