"""The contracts every build writes: asyncapi.json checked by the reference parser, its
examples accepted by the server's decoder, api.html inert to hostile spec strings, both
protected like every generated file; ``[tool.chgen.api]`` and ``chgen schema``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from chgen.build import generate
from chgen.cli import main
from chgen.errors import OutputConflict
from chgen.loader import load_specs
from chgen.render.contracts.schema import standalone_schema
from chgen.render.contracts.wire import ERROR_CODES
from chgen.resolve import resolve
from chgen.runtime import protocol
from chgen.runtime.codec import decoder
from chgen.writer import is_generated, write
from prereq import require_executable

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SPEC_DIRS = {
    "chat": ROOT / "specs",
    "trading": ROOT / "specs",
    "contract": FIXTURES / "contracts" / "specs",
    "alltypes": FIXTURES / "alltypes" / "specs",
    "seed": FIXTURES / "seed" / "specs",
}
PARSER = ROOT / "tests" / "contracts" / "asyncapi_parse.mjs"
# What the parser may still say of a document chgen writes, each with its reason in
# docs/contracts.md. Anything else fails the test.
ALLOWED_WARNINGS: set[str] = set()
ALLOWED_INFOS = {"asyncapi-latest-version"}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each app's asyncapi.json as chgen build writes it: the example apps' are the
    committed ones, the fixtures' are built into a temporary directory."""
    out = tmp_path_factory.mktemp("contracts")
    found = {}
    for name, spec_dir in SPEC_DIRS.items():
        if spec_dir == ROOT / "specs":
            found[name] = ROOT / "generated" / name / "asyncapi.json"
            continue
        plan = generate(spec_dir)
        path = out / f"{name}.json"
        path.write_text(plan[f"{name}/asyncapi.json"])
        (out / f"{name}.html").write_text(plan[f"{name}/api.html"])
    for path in out.glob("*.json"):
        found[path.stem] = path
    return found


def _parse(*files: Path) -> tuple[int, list[dict[str, Any]]]:
    node = require_executable("node", "Node.js runs @asyncapi/parser")
    if not (ROOT / "node_modules" / "@asyncapi" / "parser" / "package.json").is_file():
        message = "node_modules/@asyncapi/parser is missing (run npm ci)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI must provide it", pytrace=False)
        pytest.skip(message)
    done = subprocess.run(
        [node, str(PARSER), *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == len(files), done.stdout + done.stderr
    return done.returncode, reports


def test_the_reference_parser_accepts_every_document(documents: dict[str, Path]) -> None:
    code, reports = _parse(*documents.values())
    for report in reports:
        assert report["parsed"] and report["errors"] == [], report
        assert {d["code"] for d in report["warnings"]} <= ALLOWED_WARNINGS, report
        assert {d["code"] for d in report["infos"]} <= ALLOWED_INFOS, report
    assert code == 0


def test_the_parser_check_fails_on_a_broken_document(
    documents: dict[str, Path], tmp_path: Path
) -> None:
    doc = json.loads(documents["chat"].read_text())
    operation = next(iter(doc["operations"].values()))
    operation["action"] = "listen"  # AsyncAPI 3 knows send and receive
    del doc["components"]["schemas"]["Post"]  # a dangling $ref
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    code, (report,) = _parse(broken)
    assert code == 1
    assert report["errors"], report


def _registry(doc: dict[str, Any]) -> Registry:
    return Registry().with_resource("urn:doc", Resource.from_contents(doc, DRAFT202012))


def _examples(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    found = []
    for key, message in doc["components"]["messages"].items():
        for example in message.get("examples", []):
            found.append((key, message, example["payload"]))
    return found


@pytest.mark.parametrize("name", sorted(SPEC_DIRS))
def test_every_example_fits_its_message_and_the_server_decodes_its_data(
    name: str, documents: dict[str, Path]
) -> None:
    doc = json.loads(documents[name].read_text())
    loaded, _ = load_specs(SPEC_DIRS[name])
    mine = [item for item in loaded if item.app.name == name]
    classes = {c.__name__: c for item in mine for c in item.module_payloads}
    registry = _registry(doc)
    checked = 0
    for key, message, example in _examples(doc):
        schema = {"$ref": "urn:doc#/components/messages/" + key + "/payload"}
        errors = list(Draft202012Validator(schema, registry=registry).iter_errors(example))
        assert errors == [], f"{key}: {[e.message for e in errors]}"
        mark = message["x-chgen-message"]
        frame = example["payload"] if mark.get("stream") else example
        payload = mark.get("payload")
        if payload is not None and mark["role"] in ("request", "reply", "event"):
            decoder(classes[payload])(frame["data"])  # raises ProtocolError if refused
            checked += 1
    assert checked > 0


def test_hostile_spec_strings_stay_inert_on_the_page(documents: dict[str, Path]) -> None:
    page = documents["contract"].with_suffix(".html").read_text()
    assert page.count("</script>") == 1  # the page's own, after its script
    assert "<script>alert" not in page and "<img src=x" not in page and "</b><i>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("-->") == 1  # the header comment's own end
    doc = json.loads(documents["contract"].read_text())
    assert doc["components"]["schemas"]["Mood"]["enum"] == ["happy", "</b><i>angry", '"*/ -->']


def test_the_error_codes_are_the_runtimes() -> None:
    codes = {
        value
        for name, value in vars(protocol).items()
        if name.isupper()
        and isinstance(value, str)
        and value.islower()
        and "_" not in name[:1]
        and name in protocol.__all__
    }
    assert codes <= {code for code, _ in ERROR_CODES}, codes


def test_the_contracts_are_generated_files_and_never_overwrite_a_users(tmp_path: Path) -> None:
    plan = generate(ROOT / "specs")
    out = tmp_path / "out"
    write(plan, out)
    assert is_generated(out / "chat" / "asyncapi.json")
    assert is_generated(out / "chat" / "api.html")
    mine = '{"asyncapi": "3.0.0", "info": {"title": "mine", "version": "1"}}\n'
    (out / "chat" / "asyncapi.json").write_text(mine)
    (out / "chat" / "api.html").write_text("<!DOCTYPE html><p>my page</p>\n")
    with pytest.raises(OutputConflict, match=r"api\.html, chat/asyncapi\.json"):
        write(plan, out)
    assert (out / "chat" / "asyncapi.json").read_text() == mine


API_CONFIG = """
[tool.chgen]
spec-dir = "specs"

[tool.chgen.api]
title = "Acme {app}"
version = "2.1.0"
contact = { name = "Chat team", email = "chat@acme.example" }

[tool.chgen.api.servers.production]
host = "chat.acme.example"
description = "</li><script>x</script>"
"""


def _project(tmp_path: Path, config: str) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "chat.py").write_text((ROOT / "specs" / "chat.py").read_text())
    (tmp_path / "pyproject.toml").write_text(config)
    return tmp_path


def test_tool_chgen_api_fills_info_and_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, API_CONFIG)
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["build"])
    assert result.exit_code == 0, result.output
    doc = json.loads((project / "generated" / "chat" / "asyncapi.json").read_text())
    assert doc["info"] == {
        "title": "Acme chat",
        "version": "2.1.0",
        "contact": {"name": "Chat team", "email": "chat@acme.example"},
    }
    assert doc["servers"]["production"]["host"] == "chat.acme.example"
    assert doc["servers"]["production"]["protocol"] == "wss"
    page = (project / "generated" / "chat" / "api.html").read_text()
    assert "Acme chat" in page and "<script>x" not in page
    # A changed setting renders again, though no spec changed.
    (project / "pyproject.toml").write_text(API_CONFIG.replace("2.1.0", "2.2.0"))
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    doc = json.loads((project / "generated" / "chat" / "asyncapi.json").read_text())
    assert doc["info"]["version"] == "2.2.0"


def test_without_settings_nothing_is_made_up() -> None:
    doc = json.loads((ROOT / "generated" / "chat" / "asyncapi.json").read_text())
    assert doc["info"] == {"title": "chat", "version": "unversioned"}
    assert "servers" not in doc


def test_a_wrong_api_key_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, API_CONFIG.replace('host = "chat', 'hots = "chat'))
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["build"])
    assert result.exit_code == 2
    assert "pyproject.toml:11: [tool.chgen.api.servers.production] hots: unknown key" in (
        result.output
    )
    assert "did you mean 'host'?" in result.output


def test_chgen_schema_prints_one_payload_standing_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(
        main, ["schema", "contract", "Everything", "--spec-dir", str(SPEC_DIRS["contract"])]
    )
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"Tag", "Dot", "Ring", "Mood", "Rank"} <= set(schema["$defs"])
    loaded, _ = load_specs(SPEC_DIRS["contract"])
    (app,) = resolve(loaded, SPEC_DIRS["contract"])
    assert schema == json.loads(json.dumps(standalone_schema(app, "Everything")))

    wrong = CliRunner().invoke(main, ["schema", "chat", "Pots", "--spec-dir", "specs"])
    assert wrong.exit_code == 2
    assert "app 'chat' has no payload or enum 'Pots'; did you mean 'Post'?" in wrong.output
