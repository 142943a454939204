"""Worker specs: what they generate, and every mistake in one reported with its place.

Each case writes a small spec module and runs ``chgen build`` in-process, as a user would;
tests/test_workers.py runs what a correct one generates.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from click.testing import CliRunner

from chgen.cli import main

HEAD = """\
from typing import Literal

from chgen.spec import App, Handler, JsonWebsocketConsumer, Worker, payload, route

@payload
class Resize:
    url: str

@payload
class Tagged:
    type: Literal["x"]

chat = JsonWebsocketConsumer("Chat", method_mapping={"post": Handler(Resize)})
"""


def run_build(tmp_path: Path, body: str) -> tuple[int, str]:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "app.py").write_text(HEAD + textwrap.dedent(body))
    result = CliRunner().invoke(main, ["build", str(specs), "-o", str(tmp_path / "out")])
    return result.exit_code, result.output


def errors(tmp_path: Path, body: str) -> list[str]:
    """The ``Error:`` lines and their hints; nothing may be written."""
    code, output = run_build(tmp_path, body)
    assert code == 1, output
    assert not (tmp_path / "out").exists(), "nothing is written when a spec is wrong"
    return [line.strip() for line in output.splitlines() if line.startswith((" ", "Error"))]


def test_every_consumer_and_worker_gets_a_typed_sender_per_job(tmp_path: Path) -> None:
    code, output = run_build(
        tmp_path,
        """
        thumbs = Worker("ThumbNails", channel="thumbs.v1", mapping={
            "resize": Handler(Resize),
            "image.resize": Handler(Resize, method="again"),
        })
        app = App("demo", routes=[route("^/$", chat)], handlers="h", workers=[thumbs])
        """,
    )
    assert code == 0, output
    source = (tmp_path / "out" / "demo" / "consumers.py").read_text()
    classes = {
        node.name: {f.name for f in node.body if isinstance(f, ast.AsyncFunctionDef)}
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef)
    }
    senders = {"send_to_thumb_nails_resize", "send_to_thumb_nails_image_resize"}
    assert senders <= classes["ChatBase"]
    assert classes["ThumbNailsBase"] == senders | {"resize", "again"}
    assert 'await self.send_to("thumbs.v1", "image.resize", _encode_Resize(data))' in source
    routing = (tmp_path / "out" / "demo" / "routing.py").read_text()
    assert "application = Router(routes, workers=workers)" in routing
    workers = (tmp_path / "out" / "demo" / "workers.py").read_text()
    assert "workers = [ThumbNails]" in workers


def test_a_wrong_channel_or_mapping_is_located_with_its_path(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        """
        a = Worker("Alpha", channel="bad channel!", mapping={"Run": Handler(Resize)})
        b = Worker("Beta", channel="jobs", mapping={"go": Handler(Resize, reply=Resize)})
        c = Worker("Gamma", channel="jobs", mapping={"tag": Handler(Tagged)})
        d = Worker("Delta", channel="delta", mapping={})
        e = Worker("Epsilon", channel="eps", mapping={"dispatch": Handler(Resize)})
        app = App("demo", routes=[route("^/$", chat)], handlers="h", workers=[a, b, c, d, e, chat])
        """,
    )
    text = "\n".join(lines)
    assert "$.channel: channel name 'bad channel!' is not valid" in text
    assert "use ASCII letters, digits, '_', '.' and '-'" in text
    assert """$.mapping["Run"]: job type 'Run' is not usable""" in text
    assert 'use lowercase names with dots, e.g. "resize" or "image.resize"' in text
    assert "$.reply: a job has nobody to reply to" in text
    assert "$.channel: channel 'jobs' is already read by worker Beta" in text
    assert "$.mapping: the worker handles no jobs" in text
    assert (
        "$.method: handler method name is reserved: 'dispatch' is a method of every worker" in text
    )
    assert "$.workers[5]: expected a Worker(...), got" in text
    assert "Error: " in lines[0] and "app.py:" in lines[0]


def test_a_payload_with_a_type_field_cannot_be_a_job(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        """
        w = Worker("Tags", channel="tags", mapping={"tag": Handler(Tagged)})
        app = App("demo", routes=[route("^/$", chat)], handlers="h", workers=[w])
        """,
    )
    assert any(
        """$.mapping["tag"]: payload Tagged has a field named 'type', which a job message uses"""
        in line
        for line in lines
    ), lines


def test_names_a_sender_would_take_are_refused_where_they_clash(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        """
        a = Worker("ZedFoo", channel="zf", mapping={"c": Handler(Resize)})
        b = Worker("Zed", channel="z", mapping={"foo_c": Handler(Resize)})
        talker = JsonWebsocketConsumer(
            "Talker",
            method_mapping={"send_to_zed_foo_c": Handler(Resize)},
            sends={"to_zed_foo_c": Resize},
        )
        app = App(
            "demo",
            routes=[
                route("^/$", chat),
                route("^/t/$", talker),
                chat.as_route("^/r/$", method_mapping={"send_to_zed_foo_c": Handler(Resize)}),
            ],
            handlers="h",
            workers=[a, b],
        )
        """,
    )
    text = "\n".join(lines)
    assert (
        "$.mapping[\"foo_c\"]: job 'foo_c' would generate send_to_zed_foo_c(), which sends "
        "ZedFoo's 'c' jobs" in text
    )
    assert (
        "$.sends[\"to_zed_foo_c\"]: event 'to_zed_foo_c' would generate send_to_zed_foo_c()" in text
    )
    clash = "handler method 'send_to_zed_foo_c' clashes with a generated send helper"
    assert text.count(clash) == 2, text  # the consumer's own mapping, and the route's


def test_a_data_spec_worker_is_checked_and_located_in_its_file(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "jobs.toml").write_text(
        "[app]\n"
        'name = "jobs"\n'
        'handlers = "h"\n'
        "routes = [{ path = '^/$', target = \"Chat\" }]\n"
        "\n"
        "[payloads.Note.fields]\n"
        'text = "str"\n'
        "\n"
        "[consumers.Chat]\n"
        'method_mapping.post = "Note"\n'
        "\n"
        "[workers.Archive]\n"
        'channel = "archive"\n'
        'mapping.keep = "Nope"\n'
    )
    result = CliRunner().invoke(main, ["build", str(specs), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "jobs.toml:14: $.workers.Archive.mapping.keep: no payload named 'Nope'" in result.output
    assert "did you mean 'Note'?" in result.output
