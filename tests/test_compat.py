"""``chgen compat``: one spec pair per rule, each with the classification it must get;
the exit code for each --against; every source kind; locations on both sides."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from chgen.build import generate
from chgen.cli import main
from chgen.compat import RULES, compare, load_side

BASE = '''\
"""A spec that every case below edits in one place."""

import enum
from typing import Annotated, Literal

from annotated_types import Ge, Le, MaxLen

from chgen.spec import (
    App, Handler, JsonWebsocketConsumer, Pattern, WebsocketDemultiplexer, payload, route,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@payload
class Post:
    """A post."""

    text: Annotated[str, MaxLen(100)]
    count: Annotated[int, Ge(0)] = 0
    note: str | None = None


@payload
class Job:
    size: Annotated[int, Ge(0), Le(10)]
    name: Annotated[str, Pattern(r"^[a-z]+$")]
    mode: Literal["a", "b"]
    color: Color
    hint: str | None


@payload
class Ack:
    id: int


chat = JsonWebsocketConsumer(
    "Chat",
    method_mapping={"post": Handler(Post, reply=Ack), "work": Handler(Job)},
    sends={"posted": Post},
)
echo = JsonWebsocketConsumer(
    "Echo", method_mapping={"say": Handler(Ack, reply=Ack)}, sends={"echoed": Ack}
)
lobby = WebsocketDemultiplexer("Lobby", consumers={"chat": chat, "echo": echo})
app = App(
    "t",
    routes=[route(r"^/ws/(?P<room>[a-z]+)/$", lobby), echo.as_route(r"^/echo/$")],
    handlers="h",
    events={"echoed": Ack},
)
'''

C, S, BOTH, SAFE = {"clients"}, {"servers"}, {"clients", "servers"}, set()

# (rule, text in BASE, its replacement, whom the change breaks)
CASES = [
    ("route-removed", ', echo.as_route(r"^/echo/$")', "", C),
    ("route-changed", 'r"^/ws/(?P<room>[a-z]+)/$"', 'r"^/rooms/(?P<room>[a-z]+)/$"', BOTH),
    (
        "route-added",
        'echo.as_route(r"^/echo/$")]',
        'echo.as_route(r"^/echo/$"), chat.as_route(r"^/c/$")]',
        S,
    ),
    (
        "route-target-changed",
        'echo.as_route(r"^/echo/$")',
        'route(r"^/echo/$", WebsocketDemultiplexer("Solo", consumers={"echo": echo}))',
        BOTH,
    ),
    ("stream-removed", '"chat": chat, "echo": echo}', '"chat": chat}', C),
    (
        "stream-added",
        '"chat": chat, "echo": echo}',
        '"chat": chat, "echo": echo, "again": echo}',
        S,
    ),
    ("message-removed", ', "work": Handler(Job)', "", C),
    ("message-added", '"work": Handler(Job)}', '"work": Handler(Job), "redo": Handler(Job)}', S),
    ("reply-removed", "Handler(Post, reply=Ack)", "Handler(Post)", C),
    ("reply-added", '"work": Handler(Job)', '"work": Handler(Job, reply=Ack)', S),
    ("event-removed", 'sends={"posted": Post}', "sends={}", C),
    ("event-added", 'sends={"posted": Post}', 'sends={"posted": Post, "done": Ack}', SAFE),
    (
        "event-now-app-wide",
        'events={"echoed": Ack}',
        'events={"echoed": Ack, "posted": Post}',
        S,
    ),
    ("event-no-longer-app-wide", '    events={"echoed": Ack},\n', "", C),
    (
        "field-added-required",
        "    hint: str | None\n",
        "    hint: str | None\n    extra: int\n",
        BOTH,
    ),
    (
        "field-added-optional",
        "    hint: str | None\n",
        "    hint: str | None\n    extra: int = 0\n",
        S,
    ),
    ("field-removed", "    hint: str | None\n", "", C),
    ("field-now-required", "count: Annotated[int, Ge(0)] = 0", "count: Annotated[int, Ge(0)]", C),
    ("field-now-optional", "    hint: str | None\n", "    hint: str | None = None\n", S),
    ("type-changed", "    hint: str | None\n", "    hint: int | None\n", BOTH),
    ("constraint-narrowed", "Le(10)", "Le(5)", C),
    ("constraint-widened", "Le(10)", "Le(20)", S),
    ("pattern-changed", 'r"^[a-z]+$"', 'r"^[a-z0-9]+$"', BOTH),
    ("value-removed", 'Literal["a", "b"]', 'Literal["a"]', C),
    ("value-added", 'Literal["a", "b"]', 'Literal["a", "b", "c"]', S),
    ("null-removed", "    hint: str | None\n", "    hint: str\n", C),
    ("null-added", "    name: Annotated", "    name: None | Annotated", S),
    ("default-changed", "Ge(0)] = 0", "Ge(0)] = 1", SAFE),
    ("doc-changed", '"""A post."""', '"""A post, typed by a member."""', SAFE),
]
LOCATION = re.compile(r"^specs/t\.py:[0-9]+$")


def _spec(root: Path, text: str) -> Path:
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "t.py").write_text(text)
    return root / "specs"


def test_every_rule_has_a_case() -> None:
    assert sorted(RULES) == sorted(rule for rule, *_ in CASES)


@pytest.mark.parametrize("rule, old, new, breaks", CASES, ids=[c[0] for c in CASES])
def test_each_change_is_classified_by_its_rule(
    rule: str, old: str, new: str, breaks: set[str], tmp_path: Path
) -> None:
    assert BASE.count(old) == 1, f"the case's text must occur once in BASE: {old!r}"
    before = load_side(str(_spec(tmp_path / "old", BASE)), tmp_path)
    after = load_side(str(_spec(tmp_path / "new", BASE.replace(old, new))), tmp_path)
    findings = compare(before, after)
    mine = [f for f in findings if f.rule == rule]
    assert mine, f"no {rule} among {[(f.rule, f.message) for f in findings]}"
    assert any(set(f.breaks) == breaks for f in mine), [(f.rule, sorted(f.breaks)) for f in mine]
    for f in findings:
        # Both sides named: the file below the spec directory's parent, and a line.
        assert LOCATION.match(f.old), f
        assert LOCATION.match(f.new), f
    assert compare(before, before) == []


def test_field_findings_point_at_the_field_lines(tmp_path: Path) -> None:
    edited = BASE.replace("Le(10)", "Le(5)")
    before = load_side(str(_spec(tmp_path / "old", BASE)), tmp_path)
    after = load_side(str(_spec(tmp_path / "new", edited)), tmp_path)
    (finding,) = compare(before, after)
    line = BASE.splitlines().index("    size: Annotated[int, Ge(0), Le(10)]") + 1
    assert (finding.old, finding.new) == (f"specs/t.py:{line}", f"specs/t.py:{line}")
    assert finding.message == "$.data.size: upper bound ≤ 10 is now ≤ 5"


@pytest.mark.parametrize(
    "change, against, code",
    [
        (("Le(10)", "Le(5)"), "clients", 1),
        (("Le(10)", "Le(5)"), "servers", 0),
        (("Le(10)", "Le(20)"), "clients", 0),
        (("Le(10)", "Le(20)"), "servers", 1),
        (("Le(10)", "Le(20)"), "both", 1),
        (('"""A post."""', '"""Another."""'), "both", 0),
    ],
)
def test_the_exit_code_follows_against(
    change: tuple[str, str],
    against: str,
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = _spec(tmp_path / "old", BASE)
    new = _spec(tmp_path / "new", BASE.replace(*change))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["compat", str(old), str(new), "--against", against])
    assert result.exit_code == code, result.output


def test_json_and_markdown_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _spec(tmp_path / "old", BASE)
    new = _spec(tmp_path / "new", BASE.replace("Le(10)", "Le(5)"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["compat", str(old), str(new), "--format", "json"])
    data = json.loads(result.output)
    assert data["findings"][0]["rule"] == "constraint-narrowed"
    assert data["findings"][0]["breaks"] == ["clients"]
    markdown = CliRunner().invoke(main, ["compat", str(old), str(new), "--format", "markdown"])
    assert "| clients | `constraint-narrowed` |" in markdown.output


def test_an_old_asyncapi_document_and_a_git_revision_are_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_specs = _spec(tmp_path / "repo", BASE)
    document = tmp_path / "asyncapi.json"
    document.write_text(generate(old_specs)["t/asyncapi.json"])
    repo = tmp_path / "repo"
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "specs"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "old"], check=True)
    (old_specs / "t.py").write_text(BASE.replace('Literal["a", "b"]', 'Literal["a"]'))
    monkeypatch.chdir(repo)
    for source in (str(document), "git:HEAD:specs/"):
        result = CliRunner().invoke(main, ["compat", source, "specs"])
        assert result.exit_code == 1, result.output
        assert "[value-removed]" in result.output
        assert "the value 'b' is gone" in result.output
    bad = CliRunner().invoke(main, ["compat", "git:nope:specs/", "specs"])
    assert bad.exit_code == 2
    assert "git:nope:specs" in bad.output


def test_the_docs_list_every_rule() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "contracts.md").read_text()
    assert [rule for rule in RULES if f"| `{rule}` |" not in docs] == []
