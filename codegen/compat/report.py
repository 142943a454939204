"""``chgen compat`` output: text for a terminal, JSON for tools, a markdown table for a
pull request comment."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .model import Surface
from .rules import Finding

__all__ = ["FORMATS", "render_report", "summary"]

FORMATS = ("text", "json", "markdown")
_ORDER = {"clients": 0, "servers": 1}


def _sorted(findings: Sequence[Finding]) -> list[Finding]:
    def key(f: Finding) -> tuple[int, str, str, str]:
        rank = min((_ORDER[b] for b in f.breaks), default=2)
        return (rank, f.where, f.rule, f.message)

    return sorted(findings, key=key)


def _breaks(f: Finding) -> str:
    return " and ".join(sorted(f.breaks)) if f.breaks else "nobody"


def summary(findings: Sequence[Finding]) -> str:
    clients = sum("clients" in f.breaks for f in findings)
    servers = sum("servers" in f.breaks for f in findings)
    safe = sum(not f.breaks for f in findings)
    noun = "difference" if len(findings) == 1 else "differences"
    broken = f"{clients} break old clients, {servers} break old servers"
    return f"{len(findings)} {noun}: {broken}, {safe} safe"


def render_report(old: Surface, new: Surface, findings: Sequence[Finding], form: str) -> str:
    ordered = _sorted(findings)
    if form == "json":
        data = {
            "old": old.label,
            "new": new.label,
            "findings": [f.data() for f in ordered],
            "summary": summary(ordered),
        }
        return json.dumps(data, indent=2, ensure_ascii=False)
    if form == "markdown":
        return _markdown(old, new, ordered)
    return _text(old, new, ordered)


def _text(old: Surface, new: Surface, findings: list[Finding]) -> str:
    lines = [f"chgen compat: old {old.label} -> new {new.label}"]
    for f in findings:
        lines.append(f"breaks {_breaks(f)}: [{f.rule}] {f.where}")
        lines.append(f"    {f.message}")
        lines.append(f"    old {f.old}, new {f.new}")
    lines.append(summary(findings))
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(old: Surface, new: Surface, findings: list[Finding]) -> str:
    lines = [
        f"**chgen compat**: `{_cell(old.label)}` → `{_cell(new.label)}`: {summary(findings)}",
        "",
    ]
    if findings:
        lines += ["| breaks | rule | where | change | old | new |", "|---|---|---|---|---|---|"]
        for f in findings:
            cells = (_breaks(f), f"`{f.rule}`", f.where, f.message, f"`{f.old}`", f"`{f.new}`")
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)
