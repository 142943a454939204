"""Generated Python is already in black's style: the build need not run black.

The templates write black's layout and the encoders black's literals; statements that a
spec makes too wide are laid out by black alone (``chgen.render.pyformat.fit_width``).
These golden checks run over every example and fixture spec; the property tests check
the same for random specs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chgen.build import generate
from chgen.render.pyformat import fit_width, format_with_black, too_wide

ROOT = Path(__file__).resolve().parents[1]
SPEC_DIRS = [
    ROOT / "specs",
    ROOT / "tests" / "fixtures" / "alltypes" / "specs",
    ROOT / "tests" / "fixtures" / "seed" / "specs",
    ROOT / "tests" / "fixtures" / "djangoproject" / "specs",
    ROOT / "tests" / "fixtures" / "workers" / "specs",
]


@pytest.mark.parametrize("spec_dir", SPEC_DIRS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_black_leaves_every_generated_module_unchanged(spec_dir: Path) -> None:
    files = generate(spec_dir)
    python = {rel: source for rel, source in files.items() if rel.endswith(".py")}
    assert python
    changed = [rel for rel, source in python.items() if format_with_black(source) != source]
    assert changed == []


def test_a_statement_too_wide_for_its_line_is_laid_out_as_black_would(tmp_path: Path) -> None:
    long = "Q" + "q" * 90
    spec = tmp_path / "specs"
    spec.mkdir()
    (spec / "wide.py").write_text(
        "from typing import Annotated\n"
        "from chgen.spec import App, Handler, JsonWebsocketConsumer, Pattern, payload, route\n"
        "\n"
        "@payload\n"
        f"class {long}:\n"
        f"    text: Annotated[str, Pattern({'^' + 'a' * 80 + '$'!r})] = {'a' * 80!r}\n"
        "\n"
        f"say = Handler({long}, reply={long})\n"
        "c = JsonWebsocketConsumer('Wide', method_mapping={'say': say})\n"
        "app = App('wide', routes=[route('^/$', c)], handlers='wide_handlers')\n"
    )
    files = generate(spec)
    for rel, source in files.items():
        if rel.endswith(".py"):
            assert format_with_black(source) == source, rel
    # The statements that did not fit were split where black splits them.
    assert "    text: Annotated[\n        str,\n        Pattern(\n" in files["wide/payloads.py"]
    assert '            MessageRoute(\n                "say",\n' in files["wide/consumers.py"]


def test_fit_width_leaves_code_that_fits_alone_and_keeps_the_rest_of_the_module() -> None:
    short = "x = 1\n\n\nclass A:\n    y: int = 2\n"
    assert fit_width(short) == short
    wide = "    z: " + " | ".join(f"T{i}" for i in range(30)) + "\n"
    source = short + wide
    fitted = fit_width(source)
    assert fitted.startswith(short)
    assert format_with_black(fitted) == fitted
    assert not any(too_wide(line) for line in fitted.splitlines())


def test_too_wide_counts_non_ascii_characters_as_two_columns() -> None:
    assert not too_wide("a" * 88)
    assert too_wide("a" * 89)
    assert too_wide("é" * 45)
    assert not too_wide("é" * 44)


def test_numbers_are_written_as_black_writes_them(tmp_path: Path) -> None:
    spec = tmp_path / "specs"
    spec.mkdir()
    (spec / "nums.py").write_text(
        "from typing import Annotated\n"
        "from annotated_types import Ge, Lt\n"
        "from chgen.spec import App, Handler, JsonWebsocketConsumer, payload, route\n"
        "\n"
        "@payload\n"
        "class Reading:\n"
        "    big: Annotated[float, Ge(-1e16), Lt(1.5e300)] = 2.5e-20\n"
        "    small: float = 1e-07\n"
        "\n"
        "c = JsonWebsocketConsumer('Meter', method_mapping={'read': Handler(Reading)})\n"
        "app = App('nums', routes=[route('^/$', c)], handlers='nums_handlers')\n"
    )
    payloads = generate(spec)["nums/payloads.py"]
    assert "Ge(-1e16), Lt(1.5e300)] = 2.5e-20" in payloads
    assert format_with_black(payloads) == payloads
