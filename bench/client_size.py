"""Minified + gzipped size of the generated client, beside other WebSocket client libraries.

The app's part is everything after the core: its validators (the check functions its
payloads use and a check per payload) and its typed classes; the validators are also
measured alone.

Every row is measured in this run the same way: esbuild --bundle --minify (ES module,
browser platform), then gzip -9. Run from the repo root after `scripts/setup`:

    .venv/bin/python bench/client_size.py
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project's packages, not modules beside this script

from chgen.render.client import APP_BANNER, CHECKS_BANNER, CORE_BANNER  # noqa: E402

ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"
# 3 KB, and 384 B for recovery (positions in unbroken runs, the recover token, recovery frames)
CORE_BUDGET = 3 * 1024 + 384

# (label, ES module source bundled as the entry point)
PEERS = [
    (
        "socket.io-client (io)",
        'export { io } from "socket.io-client";',
    ),
    (
        "tRPC client + WebSocket link",
        'export { createTRPCClient, createWSClient, wsLink } from "@trpc/client";',
    ),
    (
        "reconnecting-websocket",
        'export { default } from "reconnecting-websocket";',
    ),
]


def min_gzip(entry: Path) -> tuple[int, int]:
    """(minified bytes, minified+gzip -9 bytes) of ``entry`` bundled with its imports."""
    result = subprocess.run(
        [
            str(ESBUILD),
            str(entry),
            "--bundle",
            "--minify",
            "--format=esm",
            "--platform=browser",
            "--log-level=error",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return len(result.stdout), len(gzip.compress(result.stdout, compresslevel=9))


def core_and_app(client_js: Path, work: Path) -> tuple[Path, Path, Path]:
    """The parts of a generated client.js: the reusable core, the app's validators (the
    check functions its payloads use, and one check constant per payload and enum), and
    the app's part after the core (which uses the core's names without importing them)."""
    text = client_js.read_text(encoding="utf-8")
    start = text.index(CORE_BANNER) + len(CORE_BANNER)
    kit_start = text.index(CHECKS_BANNER)
    end = text.index(APP_BANNER)
    core, checks, app = work / "core.js", work / "checks.js", work / "app.js"
    core.write_text(text[start:kit_start], encoding="utf-8")
    constants = re.findall(r"^const (\$\w+) = .*?;$", text[end:], flags=re.M | re.S)
    body = re.findall(r"^const \$\w+ = .*?;$", text[end:], flags=re.M | re.S)
    # Exported, so that bundling keeps them: nothing else uses them in this file.
    exports = f"export {{ {', '.join(constants)} }};\n"
    checks.write_text(text[kit_start:end] + "\n".join(body) + "\n" + exports, encoding="utf-8")
    app.write_text(text[kit_start:], encoding="utf-8")
    return core, checks, app


def main() -> int:
    if not ESBUILD.exists():
        print("esbuild is missing: run scripts/setup (npm ci) first", file=sys.stderr)
        return 2
    client_js = ROOT / "generated" / "chat" / "client.js"
    rows: list[tuple[str, int, int]] = []
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        core, checks, app = core_and_app(client_js, work)
        rows.append(("chgen core (reusable part)", *min_gzip(core)))
        rows.append(("chgen chat, its validators", *min_gzip(checks)))
        rows.append(("chgen chat, the app's part", *min_gzip(app)))
        rows.append(("chgen chat client.js (whole)", *min_gzip(client_js)))
        for label, source in PEERS:
            entry = work / f"peer{len(rows)}.js"
            entry.write_text(source, encoding="utf-8")
            rows.append((label, *min_gzip(entry)))
    core_gz = rows[0][2]
    print("Client size: esbuild --bundle --minify, then gzip -9 (bytes)")
    print(f"{'client':32} {'minified':>9} {'min+gz':>8} {'vs chgen core':>14}")
    for label, minified, gz in rows:
        print(f"{label:32} {minified:9,d} {gz:8,d} {gz / core_gz:13.1f}x")
    verdict = "within" if core_gz <= CORE_BUDGET else "OVER"
    print(f"\nchgen core: {core_gz:,d} B min+gz, {verdict} the {CORE_BUDGET:,d} B budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
