"""``[tool.chgen]`` in pyproject.toml: found from the working directory, overridden by
options, its mistakes located; a src layout's handlers land under src/; the client goes
to its own directory and is checked, cached and protected like every other output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from chgen.cli import main

ROOT = Path(__file__).resolve().parents[1]
CHAT = ROOT / "specs" / "chat.py"


def _project(tmp_path: Path, config: str, handlers: str = "acme.ws_handlers") -> Path:
    """A project with specs/chat.py (handlers in ``handlers``) and a pyproject.toml."""
    (tmp_path / "specs").mkdir()
    spec = CHAT.read_text().replace('handlers="handlers.chat"', f'handlers="{handlers}"')
    (tmp_path / "specs" / "chat.py").write_text(spec)
    (tmp_path / "pyproject.toml").write_text(config)
    return tmp_path


def _chgen(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, list(args))


SRC_LAYOUT = """
[project]
name = "acme"

[tool.chgen]
spec-dir = "specs"
out-dir = "src/acme/wsgen"
handler-root = "src"
"""


def test_a_src_layout_gets_its_handlers_under_src_importing_the_package_from_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, SRC_LAYOUT)
    nested = project / "specs"  # the config is found from below, as ruff finds its own
    result = _chgen(nested, monkeypatch, "scaffold")
    assert result.exit_code == 0, result.output
    module = project / "src" / "acme" / "ws_handlers.py"
    assert "from acme.wsgen.chat.consumers import ChatBase, EchoBase" in module.read_text()
    assert (project / "src" / "acme" / "__init__.py").is_file()
    assert not (project / "acme").exists()

    built = _chgen(nested, monkeypatch, "build")
    assert built.exit_code == 0, built.output
    assert (project / "src" / "acme" / "wsgen" / "chat" / "routing.py").is_file()


def test_without_config_an_output_inside_src_makes_src_the_import_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, "[project]\nname = 'acme'\n")
    result = _chgen(project, monkeypatch, "scaffold", "specs", "-o", "src/acme/wsgen")
    assert result.exit_code == 0, result.output
    module = project / "src" / "acme" / "ws_handlers.py"
    assert "from acme.wsgen.chat.consumers import" in module.read_text()


def test_options_override_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, SRC_LAYOUT, handlers="ws_handlers")
    result = _chgen(project, monkeypatch, "scaffold", "-o", "gen/wsgen", "--handler-root", "gen")
    assert result.exit_code == 0, result.output
    module = project / "gen" / "ws_handlers.py"
    assert "from wsgen.chat.consumers import" in module.read_text()

    assert _chgen(project, monkeypatch, "build", "-o", "gen/wsgen").exit_code == 0
    assert (project / "gen" / "wsgen" / "chat" / "routing.py").is_file()
    assert not (project / "src" / "acme" / "wsgen").exists()


def test_line_length_comes_from_the_option_then_the_config_then_black(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SRC_LAYOUT + "line-length = 30\n"
    project = _project(tmp_path, config + "\n[tool.black]\nline-length = 120\n")
    assert _chgen(project, monkeypatch, "scaffold").exit_code == 0
    module = project / "src" / "acme" / "ws_handlers.py"
    assert "    async def post(\n" in module.read_text(), "wrapped at 30 columns"

    module.unlink()
    assert _chgen(project, monkeypatch, "scaffold", "--line-length", "120").exit_code == 0
    assert "    async def post(self, data: Post) -> Ack:\n" in module.read_text()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'spec_dir = "specs"',
            "pyproject.toml:3: [tool.chgen] spec_dir: unknown key; did you mean 'spec-dir'?",
        ),
        (
            'line-length = "88"',
            "pyproject.toml:3: [tool.chgen] line-length: expected a positive integer, "
            "got a string ('88')",
        ),
        ("out-dir = 5", "pyproject.toml:3: [tool.chgen] out-dir: expected a path as a string"),
        (
            'spec-dir = "spces"',
            "pyproject.toml:3: [tool.chgen] spec-dir: '",
        ),
    ],
)
def test_a_mistake_in_the_table_names_file_line_and_key_and_exits_2(
    table: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, f"[project]\n[tool.chgen]\n{table}\n")
    for command in ("build", "scaffold", "dev"):
        result = _chgen(project, monkeypatch, command)
        assert result.exit_code == 2, result.output
        assert message in result.output, result.output
    assert not (project / "generated").exists()


def test_a_pyproject_that_is_not_toml_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, "[tool.chgen\n")
    result = _chgen(project, monkeypatch, "build")
    assert result.exit_code == 2
    assert "pyproject.toml: not valid TOML" in result.output


def test_without_spec_dir_anywhere_the_error_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _chgen(tmp_path, monkeypatch, "build")
    assert result.exit_code == 2
    assert "no SPEC_DIR given" in result.output
    assert "spec-dir in [tool.chgen]" in result.output


def test_a_nearer_pyproject_without_the_table_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, SRC_LAYOUT)
    inner = project / "tools"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    result = _chgen(inner, monkeypatch, "build")
    assert result.exit_code == 0, result.output
    assert "in ../src/acme/wsgen" not in result.output  # shown as the user would type it
    assert (project / "src" / "acme" / "wsgen" / "chat" / "routing.py").is_file()


# -- the client directory ------------------------------------------------------------------

CLIENT_FILES = ("client.ts", "client.js", "client.d.ts")


def test_the_client_goes_to_the_client_dir_and_is_checked_like_any_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, SRC_LAYOUT + 'client-dir = "frontend/src/api"\n')
    result = _chgen(project, monkeypatch, "build")
    assert result.exit_code == 0, result.output
    api = project / "frontend" / "src" / "api" / "chat"
    package = project / "src" / "acme" / "wsgen" / "chat"
    for name in CLIENT_FILES:
        assert (api / name).read_text().startswith("// @generated by chgen")
        assert not (package / name).exists()
    assert (package / "routing.py").is_file()

    # Cached: a second build renders nothing.
    again = _chgen(project, monkeypatch, "build")
    assert "(rendered 0 of 1 apps)" in again.output, again.output

    # --check sees a hand edit of the client, and a build repairs it.
    (api / "client.ts").write_text((api / "client.ts").read_text() + "// edited\n")
    check = _chgen(project, monkeypatch, "build", "--check")
    assert check.exit_code == 1
    assert "-// edited" in check.output
    assert _chgen(project, monkeypatch, "build").exit_code == 0
    assert "// edited" not in (api / "client.ts").read_text()
    assert _chgen(project, monkeypatch, "build", "--check").exit_code == 0


def test_a_client_file_chgen_did_not_write_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, SRC_LAYOUT)
    api = project / "web" / "chat"
    api.mkdir(parents=True)
    (api / "client.ts").write_text("// my own client\n")
    result = _chgen(project, monkeypatch, "build", "--client-dir", "web")
    assert result.exit_code == 1
    assert "were not generated by chgen, so they were left alone" in result.output
    assert (api / "client.ts").read_text() == "// my own client\n"
    assert not (project / "src" / "acme" / "wsgen").exists(), "nothing was written"


def test_moving_the_client_dir_removes_the_old_client_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, SRC_LAYOUT)
    (project / "web").mkdir()
    (project / "web" / "index.html").write_text("<!doctype html>\n")
    assert _chgen(project, monkeypatch, "build", "--client-dir", "web").exit_code == 0
    assert (project / "web" / "chat" / "client.js").is_file()

    assert _chgen(project, monkeypatch, "build", "--client-dir", "frontend").exit_code == 0
    assert (project / "frontend" / "chat" / "client.js").is_file()
    assert sorted(p.name for p in (project / "web").iterdir()) == ["index.html"]

    # Back into the package: the client files there, none left in frontend/.
    assert _chgen(project, monkeypatch, "build").exit_code == 0
    assert (project / "src" / "acme" / "wsgen" / "chat" / "client.js").is_file()
    assert list((project / "frontend").iterdir()) == []


def test_an_app_removed_from_the_specs_takes_its_client_along(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, SRC_LAYOUT + 'client-dir = "web"\n')
    shutil.copy(
        ROOT / "tests" / "fixtures" / "scaffold" / "fresh" / "spec.py", project / "specs" / "x.py"
    )
    assert _chgen(project, monkeypatch, "build").exit_code == 0
    apps = sorted(p.name for p in (project / "web").iterdir())
    assert len(apps) == 2, apps
    (project / "specs" / "x.py").unlink()
    assert _chgen(project, monkeypatch, "build").exit_code == 0
    assert sorted(p.name for p in (project / "web").iterdir()) == ["chat"]
