"""A generated app refuses to start while its handler code is not what the spec needs.

Each mistake is named when the app is imported, with the file and line to change and
what to write there; a mismatched return annotation is a warning, and the app starts.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chgen.build import generate
from chgen.runtime import HandlersMissing
from chgen.writer import write

SPEC = """
from chgen.spec import App, Handler, JsonWebsocketConsumer, payload

@payload
class Text:
    text: str

greeter = JsonWebsocketConsumer(
    "Greeter", method_mapping={"hello": Handler(Text, reply=Text), "bye": Handler(Text)}
)
app = App("partial", routes=[greeter.as_route(r"^/greet/$")], handlers="partial_handlers")
"""

HEAD = """\
from partialgen.partial.consumers import GreeterBase
from partialgen.partial.payloads import Text

class Greeter(GreeterBase):
    async def hello(self, data: Text) -> Text:
        return data
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    saved = list(sys.path)  # the spec load adds the project's directories too
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "partial.py").write_text(SPEC)
    write(generate(tmp_path / "specs"), tmp_path / "partialgen")
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path[:] = saved
    for name in [m for m in sys.modules if m.startswith(("partialgen", "partial_handlers"))]:
        del sys.modules[name]


def start(project: Path, handlers: str) -> str:
    """Write the handler module, import the app; the HandlersMissing message."""
    (project / "partial_handlers.py").write_text(handlers)
    with pytest.raises(HandlersMissing) as raised:
        importlib.import_module("partialgen.partial.routing")
    return str(raised.value)


def test_a_handler_left_to_the_generated_base_is_named_at_its_class(project: Path) -> None:
    message = start(project, HEAD)
    handlers = project / "partial_handlers.py"
    assert f"{handlers}:4: Greeter.bye is not implemented; " in message
    assert "write `async def bye(self, data: Text) -> None`" in message
    assert "`chgen scaffold` writes the stub" in message


def test_a_scaffolded_stub_still_raising_not_implemented_counts_as_missing(project: Path) -> None:
    stub = '    async def bye(self, data: Text) -> None:\n        """Bye."""\n'
    stub += "        raise NotImplementedError\n"
    message = start(project, HEAD + stub)
    assert f"{project / 'partial_handlers.py'}:7: Greeter.bye is still a stub" in message
    assert "write `async def bye(self, data: Text) -> None`" in message


def test_a_handler_that_is_not_async_is_an_error(project: Path) -> None:
    message = start(project, HEAD + "    def bye(self, data: Text) -> None:\n        pass\n")
    assert ":7: Greeter.bye is not async; make it `async def bye(self, data: Text) -> None`" in (
        message
    )


def test_a_handler_with_the_wrong_parameters_is_an_error(project: Path) -> None:
    wrong = HEAD + "    async def bye(self) -> None:\n        pass\n"
    assert "Greeter.bye cannot take one payload: it is bye(self) -> None" in start(project, wrong)
    for name in [m for m in sys.modules if m.startswith(("partialgen", "partial_handlers"))]:
        del sys.modules[name]
    typed = HEAD + "    async def bye(self, status: str) -> None:\n        pass\n"
    message = start(project, typed)
    assert "Greeter.bye takes status: str, but receives a Text; " in message
    assert "make it `async def bye(self, data: Text) -> None`" in message


def test_every_mistake_is_listed_at_once(project: Path) -> None:
    message = start(project, HEAD.replace("async def hello", "def hello"))
    assert "(2 to fix)" in message
    assert "Greeter.hello is not async" in message and "Greeter.bye is not implemented" in message


def test_a_missing_handler_class_is_named_with_the_module_and_the_fix(project: Path) -> None:
    message = start(project, "X = 1\n")
    assert f"{project / 'partial_handlers.py'}: partial_handlers defines no class Greeter" in (
        message
    )
    assert "add `class Greeter(GreeterBase)`; `chgen scaffold` writes the stub" in message


def test_a_missing_handler_module_says_to_scaffold_it(project: Path) -> None:
    with pytest.raises(HandlersMissing, match=r"no handler module 'partial_handlers': run "):
        importlib.import_module("partialgen.partial.routing")


def test_a_mismatched_return_annotation_is_a_warning_and_the_app_starts(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    handlers = HEAD + "    async def bye(self, data: Text) -> Text:\n        return data\n"
    (project / "partial_handlers.py").write_text(handlers)
    with caplog.at_level(logging.WARNING, logger="chgen.runtime.startup"):
        routing = importlib.import_module("partialgen.partial.routing")
    assert routing.application.routes
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.endswith(
        "Greeter.bye is annotated to return Text, but its reply is nothing; "
        "annotate it `async def bye(self, data: Text) -> None`"
    )


def test_the_app_starts_once_every_handler_is_implemented(project: Path) -> None:
    handlers = HEAD + "\n    async def bye(self, data: Text) -> None:\n        pass\n"
    (project / "partial_handlers.py").write_text(handlers)
    routing = importlib.import_module("partialgen.partial.routing")
    assert routing.application.routes
