"""``chgen build --templates DIR``: a user's template replaces the built-in one of that name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from chgen.build import generate
from chgen.cli import main
from chgen.render.environment import builtin_template_dir

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


def override(directory: Path, name: str, extra: str) -> None:
    """Put a copy of the built-in template ``name`` in ``directory``, with ``extra`` added."""
    target = directory / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text((builtin_template_dir() / name).read_text() + extra)


def build(out: Path, *args: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["build", str(SPECS), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return {
        p.relative_to(out).as_posix(): p.read_text()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def test_overriding_the_payloads_template_changes_only_payloads_py(tmp_path: Path) -> None:
    mine = tmp_path / "templates"
    override(mine, "payloads.py.jinja", "\n\n# Rendered by the project's own payloads template.\n")
    files = build(tmp_path / "out", "--templates", str(mine))
    default = generate(SPECS)

    assert "# Rendered by the project's own payloads template." in files["chat/payloads.py"]
    # Every app's payloads.py comes from the template; nothing else does.
    assert {k: v for k, v in files.items() if not k.endswith("/payloads.py")} == {
        k: v for k, v in default.items() if not k.endswith("/payloads.py")
    }


def test_overriding_a_client_template_changes_the_client(tmp_path: Path) -> None:
    mine = tmp_path / "templates"
    override(
        mine, "client/classes.ts.jinja", "\n// Rendered by the project's own client template.\n"
    )
    files = build(tmp_path / "out", "--templates", str(mine))

    assert "// Rendered by the project's own client template." in files["chat/client.ts"]
    assert "own client template" not in files["chat/client.js"]
    assert files["chat/payloads.py"] == generate(SPECS)["chat/payloads.py"]


def test_editing_or_dropping_an_override_takes_effect_on_the_next_build(tmp_path: Path) -> None:
    mine = tmp_path / "templates"
    out = tmp_path / "out"
    override(mine, "payloads.py.jinja", "\n\n# first version\n")
    assert "# first version" in build(out, "--templates", str(mine))["chat/payloads.py"]

    override(mine, "payloads.py.jinja", "\n\n# second version\n")
    assert "# second version" in build(out, "--templates", str(mine))["chat/payloads.py"]

    assert build(out) == generate(SPECS), "without --templates the built-in ones are back"


def test_a_missing_template_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["build", str(SPECS), "-o", str(tmp_path / "out"), "--templates", str(tmp_path / "nope")],
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("source", "error"),
    [("{{ app.no_such_attribute }}\n", "UndefinedError"), ("{% for %}\n", "TemplateSyntaxError")],
)
def test_a_broken_override_is_located_in_the_users_template_not_blamed_on_chgen(
    tmp_path: Path, source: str, error: str
) -> None:
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "routing.py.jinja").write_text(source)
    result = CliRunner().invoke(
        main, ["build", str(SPECS), "-o", str(tmp_path / "out"), "--templates", str(mine)]
    )
    assert result.exit_code == 1, result.output
    assert f"routing.py.jinja:1: {error}" in result.output
    assert "bug in chgen" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["payloads.py.jinja", "client/core.ts"])
def test_every_built_in_template_name_can_be_overridden(tmp_path: Path, name: str) -> None:
    mine = tmp_path / "templates"
    marker = "# marker\n" if name.endswith(".py.jinja") else "// marker\n"
    override(mine, name, marker)
    files = build(tmp_path / "out", "--templates", str(mine))
    target = "chat/payloads.py" if name.endswith(".py.jinja") else "chat/client.ts"
    assert marker.strip() in files[target]


def test_an_override_that_renders_invalid_python_names_its_line_and_exits_1(
    tmp_path: Path,
) -> None:
    mine = tmp_path / "templates"
    mine.mkdir()
    source = (builtin_template_dir() / "consumers.py.jinja").read_text()
    broken = source.replace(
        "    return consumer.{{ h.method }}(data)", "    return consumer.{{ h.method }}(data data)"
    )
    assert broken != source
    (mine / "consumers.py.jinja").write_text(broken)
    line = broken.splitlines().index("    return consumer.{{ h.method }}(data data)") + 1
    result = CliRunner().invoke(
        main, ["build", str(SPECS), "-o", str(tmp_path / "out"), "--templates", str(mine)]
    )
    assert result.exit_code == 1, result.output
    assert f"consumers.py.jinja:{line}: the template rendered invalid Python" in result.output
    assert (
        "chat/consumers.py:" in result.output
        and "'return consumer.post(data data)'" in result.output
    )
    assert "bug in chgen" not in result.output
    assert not (tmp_path / "out").exists()


def test_format_runs_black_over_an_override_that_does_not_write_blacks_style(
    tmp_path: Path,
) -> None:
    mine = tmp_path / "templates"
    override(mine, "routing.py.jinja", "\n\n\n\nextra = {'a':1}\n")
    plain = build(tmp_path / "plain", "--templates", str(mine))
    assert plain["chat/routing.py"].endswith("\n\n\n\nextra = {'a':1}\n"), (
        "as the template wrote it"
    )
    formatted = build(tmp_path / "formatted", "--templates", str(mine), "--format")
    assert formatted["chat/routing.py"].endswith('\n\nextra = {"a": 1}\n')
    assert {k: v for k, v in formatted.items() if not k.endswith("/routing.py")} == {
        k: v for k, v in plain.items() if not k.endswith("/routing.py")
    }
    # The built-in templates write black's style already: --format changes nothing.
    assert build(tmp_path / "default", "--format") == build(tmp_path / "default2")
