"""A generated app refuses to start while a handler is still the generated placeholder."""

from __future__ import annotations

import importlib
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

HANDLERS = """
from partialgen.partial.consumers import GreeterBase
from partialgen.partial.payloads import Text

class Greeter(GreeterBase):
    async def hello(self, data: Text) -> Text:
        return data
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "partial.py").write_text(SPEC)
    (tmp_path / "partial_handlers.py").write_text(HANDLERS)
    write(generate(tmp_path / "specs"), tmp_path / "partialgen")
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith(("partialgen", "partial_handlers"))]:
        del sys.modules[name]


def test_missing_handler_is_named_when_the_app_is_imported(project: Path) -> None:
    with pytest.raises(HandlersMissing, match=r"not implemented: Greeter\.bye\b"):
        importlib.import_module("partialgen.partial.routing")


def test_app_starts_once_every_handler_is_implemented(project: Path) -> None:
    handlers = project / "partial_handlers.py"
    handlers.write_text(HANDLERS + "\n    async def bye(self, data: Text) -> None:\n        pass\n")
    routing = importlib.import_module("partialgen.partial.routing")
    assert routing.application.routes
