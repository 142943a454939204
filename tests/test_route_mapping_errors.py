"""Route-level mapping overrides and route attributes that cannot work: each is reported
at the route's file and line, with its ``$.path`` and a way out, and nothing is written.

Each case writes a small spec module and runs ``chgen build`` in-process, as a user would.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from click.testing import CliRunner

from chgen.cli import main

HEAD = """\
from chgen.spec import App, Handler, JsonWebsocketConsumer, WebsocketConsumer
from chgen.spec import WebsocketDemultiplexer, payload, route

@payload
class Post:
    text: str

@payload
class Other:
    n: int

chat = JsonWebsocketConsumer(
    "Chat", method_mapping={"post": Handler(Post, reply=Post)}, sends={"posted": Post}
)
"""


def errors(tmp_path: Path, routes: str) -> list[str]:
    """The ``Error:`` lines and hints of a build whose app has ``routes``; exit 1."""
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    body = f'app = App("demo", handlers="h", routes=[\n{textwrap.dedent(routes)}])\n'
    (specs / "app.py").write_text(HEAD + body)
    result = CliRunner().invoke(main, ["build", str(specs), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert not (tmp_path / "out").exists(), "nothing is written when a spec is wrong"
    return [line.strip() for line in result.output.splitlines() if line.strip()]


def _line_of(text: str) -> int:
    found = re.search(r"app\.py:(\d+)", text)
    assert found, text
    return int(found.group(1))


ROUTE_LINE = HEAD.count("\n") + 2  # the first route of the app


def test_a_misspelt_method_to_reuse_gets_a_did_you_mean(tmp_path: Path) -> None:
    lines = errors(tmp_path, 'chat.as_route("^/a/$", method_mapping={"say": "pots"}),\n')
    assert _line_of(lines[0]) == ROUTE_LINE
    assert '$.method_mapping["say"]' in lines[0]
    assert "Chat has no handler method 'pots' to reuse (it has: post)" in lines[0]
    assert "did you mean 'post'" in lines[1].lower()


def test_channels_attrs_spelling_is_checked_the_same_way(tmp_path: Path) -> None:
    lines = errors(tmp_path, 'chat.as_route("^/a/$", attrs={"method_mapping": {"say": 5}}),\n')
    assert _line_of(lines[0]) == ROUTE_LINE
    assert "expected Handler(...) or a method name, got" in lines[0]


def test_one_method_cannot_take_two_kinds_of_message(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        'chat.as_route("^/a/$", method_mapping={"n": Handler(Other, method="post")}),\n',
    )
    assert _line_of(lines[0]) == ROUTE_LINE
    assert "handler method 'post' of Chat takes Post and replies Post" in lines[0]
    assert 'reuse it as it is with "post"' in lines[1]


def test_a_route_mapping_names_a_payload_and_valid_types(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        'chat.as_route("^/a/$", method_mapping={"Bad-Type": Handler(Post), "x": Handler(int)}),\n',
    )
    text = "\n".join(lines)
    assert "message type 'Bad-Type' is not a valid name" in text
    assert "$.payload" in text and "int" in text


def test_a_mapping_given_twice_or_on_a_demultiplexer_or_plain_route_is_refused(
    tmp_path: Path,
) -> None:
    lines = errors(
        tmp_path,
        """\
        route("^/a/$", chat, attrs={"method_mapping": {}}, method_mapping={}),
        route("^/b/$", WebsocketDemultiplexer("Lobby", consumers={"c": chat}), method_mapping={}),
        route("^/c/$", WebsocketConsumer("Raw"), method_mapping={}),
        """,
    )
    text = "\n".join(lines)
    assert "method_mapping is given twice, in attrs and as method_mapping=" in text
    assert "a route to a demultiplexer cannot replace a mapping" in text
    assert "as_route(path, method_mapping=...)" in text
    assert "has no method_mapping to replace" in text


def test_overridable_settings_are_checked_and_other_attrs_must_be_scalars(
    tmp_path: Path,
) -> None:
    lines = errors(
        tmp_path,
        """\
        chat.as_route("^/a/$", attrs={"strict_ordering": "no", "max_concurrency": 0}),
        chat.as_route("^/b/$", attrs={"greeting": ["hi"]}),
        """,
    )
    text = "\n".join(lines)
    assert "$.attrs[\"strict_ordering\"]: strict_ordering must be True or False, got 'no'" in text
    assert "max_concurrency must be an int >= 1, got 0" in text
    assert "only method_mapping may be more" in text


def test_a_multiplexer_class_is_a_dotted_path(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        """\
        route("^/a/$", WebsocketDemultiplexer("Lobby", {"c": chat}, multiplexer_class="Signed")),
        """,
    )
    assert "$.multiplexer_class" in lines[0]
    assert "'Signed' is not a dotted path to a class" in lines[0]
    assert 'e.g. "myapp.mux.Signed"' in lines[1]
