"""Mistakes a newcomer makes, each answered by one precise message with a way out.

Each case writes a small spec module and runs ``chgen build`` in-process, as a user would.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner

from chgen.cli import main

HEAD = """\
from typing import Annotated

import attrs
from chgen.spec import App, Handler, JsonWebsocketConsumer, WebsocketDemultiplexer
from chgen.spec import payload, route

@payload
class Post:
    text: str
"""


def build(tmp_path: Path, body: str) -> list[str]:
    """The ``Error:`` lines and their hints of a build of HEAD + ``body``; exit 1."""
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "app.py").write_text(HEAD + textwrap.dedent(body))
    result = CliRunner().invoke(main, ["build", str(specs), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert not (tmp_path / "out").exists(), "nothing is written when a spec is wrong"
    return [
        line.strip()
        for line in result.output.splitlines()
        if line.startswith(" ") or line.startswith("Error")
    ]


def test_a_spec_written_without_handlers_is_told_the_argument(tmp_path: Path) -> None:
    lines = build(
        tmp_path,
        """
        chat = JsonWebsocketConsumer("Chat", method_mapping={"post": Handler(Post)})
        app = App("demo", routes=[route("^/$", chat)])
        """,
    )
    assert lines[0].startswith("Error: ") and "app.py:" in lines[0]
    assert "missing 1 required positional argument: 'handlers'" in lines[0]
    assert lines[1] == (
        "App(...) needs handlers=: the module holding one handler class per consumer, e.g. "
        'handlers="handlers.chat"'
    )


def test_a_misspelt_argument_of_a_spec_class_gets_a_did_you_mean(tmp_path: Path) -> None:
    lines = build(
        tmp_path, 'chat = JsonWebsocketConsumer("Chat", method_maping={"post": Handler(Post)})\n'
    )
    assert "unexpected keyword argument 'method_maping'" in lines[0]
    assert lines[1] == "did you mean 'method_mapping'?"


def test_pythons_own_did_you_mean_is_kept_when_a_spec_module_fails(tmp_path: Path) -> None:
    lines = build(tmp_path, "posting = Post\nchat = postng\n")
    assert "NameError: name 'postng' is not defined" in lines[0]
    assert lines[1] == "did you mean 'posting'?"
    lines = build(tmp_path, "from chgen.spec import paylaod\n")
    assert "cannot import name 'paylaod'" in lines[0]
    assert lines[1] == "did you mean 'payload'?"


def test_sets_and_tuples_suggest_a_list_also_in_a_payload_nothing_uses_yet(tmp_path: Path) -> None:
    lines = build(
        tmp_path,
        """
        @payload
        class Later:
            tags: set[int]
            pair: tuple[int, int]

        chat = JsonWebsocketConsumer("Chat", method_mapping={"post": Handler(Post)})
        app = App("demo", routes=[route("^/$", chat)], handlers="h")
        """,
    )
    assert lines == [
        f"Error: {tmp_path / 'specs' / 'app.py'}:13: $.tags: unsupported type set",
        "a JSON array is a list: write list[T] (and check uniqueness in the handler)",
        f"Error: {tmp_path / 'specs' / 'app.py'}:14: $.pair: unsupported type tuple",
        "a JSON array is a list: write list[T]; MinLen and MaxLen can fix its length",
    ]


def test_a_mutable_default_names_the_factory_to_use(tmp_path: Path) -> None:
    lines = build(
        tmp_path,
        """
        @payload
        class Tagged:
            tags: list[str] = []

        chat = JsonWebsocketConsumer("Chat", method_mapping={"post": Handler(Tagged)})
        app = App("demo", routes=[route("^/$", chat)], handlers="h")
        """,
    )
    assert "$.tags: unsupported default []" in lines[0]
    assert "attrs.field(factory=list)" in lines[1]


def test_one_reserved_consumer_name_is_one_error_however_often_it_is_used(tmp_path: Path) -> None:
    lines = build(
        tmp_path,
        """
        promise = JsonWebsocketConsumer("Promise", method_mapping={"post": Handler(Post)})
        lobby = WebsocketDemultiplexer("Lobby", consumers={"a": promise, "b": promise})
        app = App("demo", routes=[route("^/$", lobby), route("^/p/$", promise)], handlers="h")
        """,
    )
    errors = [line for line in lines if line.startswith("Error")]
    assert len(errors) == 1, lines
    assert "consumer name is reserved: 'Promise' is a name the generated TypeScript" in errors[0]


def test_a_stream_named_like_a_member_of_the_client_object_is_refused(tmp_path: Path) -> None:
    for stream in ("close", "connection", "__proto__"):
        lines = build(
            tmp_path,
            f"""
            chat = JsonWebsocketConsumer("Chat", method_mapping={{"post": Handler(Post)}})
            lobby = WebsocketDemultiplexer("Lobby", consumers={{{stream!r}: chat}})
            app = App("demo", routes=[route("^/$", lobby)], handlers="h")
            """,
        )
        assert len([line for line in lines if line.startswith("Error")]) == 1, lines
        assert f"stream name {stream!r} is reserved: the TypeScript client object" in lines[0]


def test_a_wrong_rate_limit_or_origin_pattern_is_located_with_its_path(tmp_path: Path) -> None:
    lines = build(
        tmp_path,
        """
        from chgen.spec import RateLimit

        chat = JsonWebsocketConsumer(
            "Chat",
            method_mapping={"post": Handler(Post)},
            rate_limit=RateLimit(per_second=0, burst=2.5),
        )
        app = App(
            "demo",
            routes=[route("^/$", chat)],
            handlers="handlers.demo",
            allowed_origins=["https://example.com", "https://example.com/app"],
        )
        """,
    )
    text = "\n".join(lines)
    assert "$.rate_limit.per_second: per_second must be a number above 0, got 0" in text
    assert "$.rate_limit.burst: burst must be an int >= 1, got 2.5" in text
    assert "$.allowed_origins[1]: 'https://example.com/app' is not an origin" in text
    assert all("app.py:" in line for line in lines if line.startswith("Error"))


def test_a_wrong_history_is_located_with_its_path_and_a_suggestion(tmp_path: Path) -> None:
    lines = build(
        tmp_path,
        """
        from chgen.spec import History

        chat = JsonWebsocketConsumer(
            "Chat",
            method_mapping={"post": Handler(Post)},
            connection_groups=["room.{room}"],
            history={"rooms.{room}": History(200, 60), "room.{room}": History(0, 0)},
        )
        every = JsonWebsocketConsumer("Every", history=200)
        app = App(
            "demo",
            routes=[route("^/(?P<room>[a-z]+)/$", chat), route("^/e/$", every)],
            handlers="handlers.demo",
        )
        """,
    )
    text = "\n".join(lines)
    assert (
        """$.history["rooms.{room}"]: 'rooms.{room}' is not one of the consumer's """
        "connection_groups templates" in text
    )
    assert "did you mean 'room.{room}'?" in text
    assert """$.history["room.{room}"].size: size must be an int from 1 to 100,000, got 0""" in text
    assert """$.history["room.{room}"].ttl: ttl must be seconds above 0""" in text
    assert "$.history: history must be a History" in text
    assert "write History(size=200, ttl=120)" in text
    assert all("app.py:" in line for line in lines if line.startswith("Error"))


def test_a_payload_named_like_a_name_the_generated_python_imports_is_refused(
    tmp_path: Path,
) -> None:
    # Every name the generated modules import or define, not a list kept here: a payload
    # called Awaitable once made consumers.py write Awaitable[Awaitable].
    from chgen.render import vocabulary

    spec_imports = {
        "Annotated",
        "App",
        "Handler",
        "JsonWebsocketConsumer",
        "WebsocketDemultiplexer",
    }
    names = sorted(
        n
        for n in vocabulary.python_module_names() - spec_imports
        if n.isidentifier() and n[0].isupper()
    )
    assert "Awaitable" in names
    for name in names:
        lines = build(
            tmp_path,
            f"""
            @payload
            class {name}:
                text: str

            chat = JsonWebsocketConsumer("Chat", method_mapping={{"post": Handler({name})}})
            app = App("demo", routes=[route("^/$", chat)], handlers="h")
            """,
        )
        errors = [line for line in lines if line.startswith("Error")]
        assert len(errors) == 1, (name, lines)
        assert f"{name!r} is a name the generated Python imports or defines" in errors[0], lines
