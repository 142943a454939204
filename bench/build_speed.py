"""How fast chgen builds a large spec set, beside datamodel-code-generator on the same schemas.

A synthetic spec set (by default 10 apps x 10 consumers x 100 payloads: 100 consumers and
1,000 payloads, with every field type and constraint the spec language supports) is
written into a temporary directory, with an equivalent JSON Schema of the same 1,000
payloads. Every row runs the real command line in a fresh process, as a user would:

* chgen cold build: an empty output directory;
* chgen no-op rebuild: nothing changed since the last build;
* chgen one app changed: one spec module edited, the other nine untouched;
* datamodel-code-generator: pydantic v2 models from the JSON Schema (black-formatted,
  its default).

Times are wall-clock medians over ``--runs`` runs; memory is the peak resident set of
the process (``os.wait4``). Run from the repository root after
``pip install -r bench/requirements.txt``:

    .venv/bin/python bench/build_speed.py [--runs 5] [--apps 10 --consumers 10 --payloads 100]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOOP_TARGET_S = 0.3

# -- the synthetic spec set --------------------------------------------------------------

_HEADER = '''"""Synthetic app {a}: {consumers} consumers, {payloads} payloads."""

from datetime import datetime
from typing import Annotated, Literal

import attrs
from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen

from chgen.spec import (
    App,
    Handler,
    JsonWebsocketConsumer,
    Pattern,
    WebsocketDemultiplexer,
    payload,
    route,
)
'''

Field = tuple[str, dict[str, Any], str | None]  # annotation, JSON Schema, default source


def _field_kind(kind: int, n: int, ref: str) -> Field:
    """One field kind; ``ref`` names an earlier payload of the same app (nesting) and
    ``n`` varies the constraint values."""
    nested = [
        (f"{ref} | None", {"anyOf": [{"$ref": f"#/$defs/{ref}"}, {"type": "null"}]}, "None"),
        (f"list[{ref}]", {"type": "array", "items": {"$ref": f"#/$defs/{ref}"}}, None),
    ]
    kinds: list[Field] = [
        (
            f"Annotated[str, MinLen(1), MaxLen({n})]",
            {"type": "string", "minLength": 1, "maxLength": n},
            None,
        ),
        (f"Annotated[int, Ge(0), Le({n})]", {"type": "integer", "minimum": 0, "maximum": n}, None),
        (
            f"Annotated[float, Gt(0.0), Lt({n}.5)]",
            {"type": "number", "exclusiveMinimum": 0.0, "exclusiveMaximum": n + 0.5},
            None,
        ),
        ("bool", {"type": "boolean"}, None),
        ("datetime", {"type": "string", "format": "date-time"}, None),
        ('Literal["red", "green", "blue"]', {"enum": ["red", "green", "blue"]}, None),
        (
            'Annotated[str, Pattern(r"^[a-z0-9-]+$")]',
            {"type": "string", "pattern": "^[a-z0-9-]+$"},
            None,
        ),
        (
            f"Annotated[list[Annotated[str, MaxLen(40)]], MaxLen({n})]",
            {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": n},
            None,
        ),
        *(nested if ref else [("str", {"type": "string"}, None)] * 2),
        ("int | None", {"anyOf": [{"type": "integer"}, {"type": "null"}]}, "None"),
        ("str", {"type": "string"}, '"x"'),
        ("list[int]", {"type": "array", "items": {"type": "integer"}}, "attrs.field(factory=list)"),
    ]
    return kinds[kind % len(kinds)]


FIELDS_PER_PAYLOAD = 8


def payload_name(app: int, index: int) -> str:
    return f"A{app}P{index}"


def _fields(app: int, index: int) -> list[tuple[str, str, dict[str, Any], str | None]]:
    """(name, annotation, schema, default) of one payload's fields, deterministic."""
    fields = []
    for k in range(FIELDS_PER_PAYLOAD):
        ref = payload_name(app, (index * 7 + k) % index) if index else ""
        n = 10 + (index * 13 + k * 7) % 990
        annotation, schema, default = _field_kind(index * 3 + k, n, ref)
        fields.append((f"f{k}", annotation, schema, default))
    return fields


def spec_module(app: int, consumers: int, payloads: int, variant: int = 0) -> str:
    out = [_HEADER.format(a=app, consumers=consumers, payloads=payloads)]
    for i in range(payloads):
        out.append(
            f'\n@payload\nclass {payload_name(app, i)}:\n    """Payload {i} of app {app}."""\n'
        )
        for name, annotation, _, default in _fields(app, i):
            if variant and i == 0 and name == "f0":
                annotation = annotation.replace("MinLen(1)", f"MinLen({1 + variant})")
            out.append(f"    {name}: {annotation}" + (f" = {default}" if default else "") + "\n")
    per = max(1, payloads // consumers)
    for c in range(consumers):
        mine = [payload_name(app, (c * per + j) % payloads) for j in range(per)]
        handlers = ", ".join(
            f'"do_{j}": Handler({p}, reply={mine[(j + 1) % len(mine)]})'
            for j, p in enumerate(mine[: per // 2 or 1])
        )
        sends = ", ".join(f'"ev_{j}": {p}' for j, p in enumerate(mine[per // 2 :]))
        out.append(
            f'\n\nc{c} = JsonWebsocketConsumer(\n    "C{c}",\n'
            f"    method_mapping={{{handlers}}},\n    sends={{{sends}}},\n"
            '    connection_groups=["room.{room}"],\n)\n'
        )
    streams = ", ".join(f'"s{c}": c{c}' for c in range(consumers))
    out.append(
        f'\nhub = WebsocketDemultiplexer("Hub", consumers={{{streams}}})\n\n'
        f'app = App(\n    "app{app}",\n'
        f'    routes=[route(r"^/ws/{app}/(?P<room>[a-z0-9-]+)/$", hub)],\n'
        f'    handlers="handlers.app{app}",\n)\n'
    )
    return "".join(out)


def json_schema(apps: int, payloads: int) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for a in range(apps):
        for i in range(payloads):
            props: dict[str, Any] = {}
            required = []
            for name, _, schema, default in _fields(a, i):
                prop = dict(schema)
                if default is None:
                    required.append(name)
                elif default == "None":
                    prop["default"] = None
                elif default == '"x"':
                    prop["default"] = "x"
                else:
                    prop["default"] = []
                props[name] = prop
            defs[payload_name(a, i)] = {
                "type": "object",
                "description": f"Payload {i} of app {a}.",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Bench",
        "$defs": defs,
        # A root that references every payload, so every model is generated.
        "type": "object",
        "properties": {name.lower(): {"$ref": f"#/$defs/{name}"} for name in defs},
    }


def write_spec_set(spec_dir: Path, apps: int, consumers: int, payloads: int) -> None:
    spec_dir.mkdir(parents=True, exist_ok=True)
    for a in range(apps):
        (spec_dir / f"app{a}.py").write_text(spec_module(a, consumers, payloads))


# -- measuring ---------------------------------------------------------------------------


def run(cmd: Sequence[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one command; fail loudly if it fails."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            log.seek(0)
            sys.exit(f"{' '.join(cmd)} failed:\n{log.read().decode(errors='replace')}")
    return elapsed, usage.ru_maxrss


def chgen(spec_dir: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "chgen", "build", str(spec_dir), "-o", str(out)]


def datamodel_codegen() -> str | None:
    beside = Path(sys.executable).with_name("datamodel-codegen")
    return str(beside) if beside.exists() else shutil.which("datamodel-codegen")


Row = tuple[str, list[float], int]  # label, seconds of each run, peak RSS in KiB


def measure(
    label: str,
    cmd: Sequence[str] | Callable[[int], Sequence[str]],
    cwd: Path,
    runs: int,
    before: Callable[[int], None] | None = None,
) -> Row:
    """Run a command ``runs`` times (``before(n)`` first, if given)."""
    times: list[float] = []
    peak = 0
    for n in range(runs):
        if before is not None:
            before(n)
        seconds, rss = run(cmd(n) if callable(cmd) else cmd, cwd)
        times.append(seconds)
        peak = max(peak, rss)
    return label, times, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each fast row (median)")
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of each cold build")
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--consumers", type=int, default=10, help="per app")
    parser.add_argument("--payloads", type=int, default=100, help="per app")
    parser.add_argument(
        "--quick", action="store_true", help="a small spec set and fewer runs: proves it works"
    )
    args = parser.parse_args()
    if args.quick:
        args.apps, args.consumers, args.payloads, args.runs, args.slow_runs = 3, 4, 20, 3, 1
    runs, slow = max(1, args.runs), max(1, args.slow_runs)

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="chgen-bench-") as tmp:
        work = Path(tmp)
        specs = work / "specs"
        write_spec_set(specs, args.apps, args.consumers, args.payloads)
        out = work / "out"
        schema = work / "schema.json"
        schema.write_text(json.dumps(json_schema(args.apps, args.payloads), indent=1))

        # The slow rows take turns within each round, so that a busy spell of the
        # machine does not land on one of them only.
        slow_rows: list[tuple[str, Callable[[int], Sequence[str]], Path]] = [
            ("chgen cold build", lambda n: chgen(specs, work / f"cold-{n}"), ROOT),
            (
                "chgen cold build, one process (-j1)",
                lambda n: [*chgen(specs, work / f"cold-j1-{n}"), "-j1"],
                ROOT,
            ),
        ]
        peer = datamodel_codegen()
        if peer is None:
            print("datamodel-codegen not found: pip install -r bench/requirements.txt\n")
        else:
            peer_cmd = [
                peer,
                "--input",
                str(schema),
                "--input-file-type",
                "jsonschema",
                "--output-model-type",
                "pydantic_v2.BaseModel",
                "--formatters",  # its current default, spelled out: black, then isort
                "black",
                "isort",
                "--output",
                str(work / "models.py"),
            ]
            slow_rows.append(("datamodel-codegen", lambda n: peer_cmd, work))
        run(chgen(specs, work / "warm-up"), ROOT)  # untimed: byte-compiles the specs once
        results: dict[str, Row] = {label: (label, [], 0) for label, _, _ in slow_rows}
        for n in range(slow):
            for label, cmd, cwd in slow_rows:
                _, times, peak = results[label]
                seconds, rss = run(cmd(n), cwd)
                results[label] = (label, [*times, seconds], max(peak, rss))
        rows += [results[label] for label, _, _ in slow_rows if label != "datamodel-codegen"]

        run(chgen(specs, out), ROOT)
        rows.append(measure("chgen no-op rebuild", chgen(specs, out), ROOT, runs))

        def edit_one_app(n: int) -> None:
            text = spec_module(0, args.consumers, args.payloads, variant=n + 1)
            (specs / "app0.py").write_text(text)

        rows.append(
            measure("chgen one app changed", chgen(specs, out), ROOT, runs, before=edit_one_app)
        )
        if peer is not None:
            _, times, peak = results["datamodel-codegen"]
            made = (work / "models.py").read_text().count("(BaseModel):")
            rows.append((f"datamodel-codegen ({made} models)", times, peak))

    total = args.apps * args.payloads
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"chgen build vs datamodel-code-generator: {args.apps} apps, "
        f"{args.apps * args.consumers} consumers, {total} payloads "
        f"({FIELDS_PER_PAYLOAD} fields each); each run a fresh process; "
        f"medians of {slow} (cold) and {runs} (rebuild) runs; "
        f"{os.cpu_count()} CPUs, load average {load} at the end\n"
    )
    print("peak RSS: of the largest process of the run (the build or one of its workers)\n")
    print(f"| {'row':<40} | {'median s':>9} | {'min s':>7} | {'peak RSS MiB':>12} |")
    print(f"|{'-' * 42}|{'-' * 11}|{'-' * 9}|{'-' * 14}|")
    for label, times, rss in rows:
        print(
            f"| {label:<40} | {statistics.median(times):>9.3f} | {min(times):>7.3f} "
            f"| {rss / 1024:>12.1f} |"
        )
    medians = {label: statistics.median(times) for label, times, _ in rows}
    noop = medians["chgen no-op rebuild"]
    verdict = "meets" if noop < NOOP_TARGET_S else "misses"
    print(f"\nno-op rebuild: {noop:.3f} s, {verdict} the {NOOP_TARGET_S} s target")
    if len(rows) > 4:
        ratio = medians["chgen cold build"] / statistics.median(rows[4][1])
        print(f"cold build / datamodel-codegen: {ratio:.2f}x (below 1: chgen is faster)")


if __name__ == "__main__":
    main()
