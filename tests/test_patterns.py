"""Patterns keep to the syntax Python and JavaScript read alike; anything else is refused
with a hint, by the generator, before a client and a server could disagree.

Each accepted pattern runs in both engines here over the same strings (Node's RegExp with
the u flag, as the generated client runs it) and must give the same verdicts.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from chgen.runtime.patterns import PatternError, portable
from prereq import require_executable

# Strings on which the two engines' defaults differ.
PROBES = [
    "",
    "abc",
    "abc\n",
    "\nabc",
    "a\rb",
    "a\u2028b",
    "a\nb",
    "123",
    "١٢٣",
    "x_1",
    "é",
    "ÉCOLE",
    "😀",
    "😀😀",
    "a b",
    "a\u00a0b",
    "a\tb",
    "-",
    "]",
    "\\",
]

ACCEPTED = [
    r"^[a-z]+$",
    r"^\d{3}$",
    r"\d",
    r"^\w+$",
    r"\bx",
    r"x\B",
    r"^.$",
    r"a.b",
    r"^..$",
    r"[^a-z]",
    r"[\d-]",
    r"[-a]",
    r"^(?:ab|cd)*$",
    r"^(?=.*\d)\w+$",
    r"^(?!abc)",
    r"\$\^\.\*\+\?\(\)\[\]\{\}\|\\\/",
    r"[\]\\]",
    r"\x41|\u00e9",
    r"\t|\n|\r|\f|\v",
    "😀{2}",
    r"^a{2,}$",
    r"^a{1,3}?$",
    r"é",
    "",
]

REFUSED = {
    r"\s": "list them",
    r"(?i)abc": "no flags",
    r"(?P<name>x)": "no flags, names",
    r"(?<=a)b": "lookbehind",
    r"(a)\1": "",
    r"a**": "group it",
    r"[]a]": "escape a bracket",
    r"x{2,1}": "",
    r"\ud83d\ude00": "write the character itself",
    r"(?=a)+": "quantify a character",
    r"^*": "quantify",
    r"[a-z": "",
    r"a{": r"escape it as \{",
    r"a}": r"escape it as \}",
    r"]": r"escape it as \]",
    r"\-": "",
    r"\Z": "",
    r"\A": "",
    r"\p{L}": "",
    r"\u{1F600}": "",
    r"\U0001F600": "",
    r"[a&&b]": r"\x26",
    r"[a--]": "",
    r"[\d-z]": "escape the '-'",
    r"[z-a]": "",
    r"a)": "escape it as \\)",
    "(a": "",
    "\\": "",
}


def test_python_reads_the_accepted_patterns_with_its_translation() -> None:
    assert portable(r"^[a-z]+$").python == r"^[a-z]+\Z"
    assert portable(r"a.b").python == r"a[^\n]b"
    assert portable(r"a.b").javascript == r"a[^\n]b"
    assert portable(r"^[a-z]+$").javascript == r"^[a-z]+$"


@pytest.mark.parametrize(("regex", "hint"), sorted(REFUSED.items()))
def test_a_pattern_outside_the_subset_is_refused_with_a_hint(regex: str, hint: str) -> None:
    with pytest.raises(PatternError) as caught:
        portable(regex)
    assert hint in caught.value.hint, (caught.value, caught.value.hint)
    assert repr(regex) in str(caught.value)


def test_both_engines_give_every_accepted_pattern_the_same_verdicts() -> None:
    node = require_executable("node", "Node.js 20 runs the patterns as the client does")
    cases = [(portable(r).javascript, probe) for r in ACCEPTED for probe in PROBES]
    script = (
        "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.stringify("
        "JSON.parse(s).map(([r,p])=>new RegExp(r,'u').test(p)))))"
    )
    result = subprocess.run(
        [node, "-e", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    javascript = json.loads(result.stdout)
    python = [portable(r).compile().search(p) is not None for r in ACCEPTED for p in PROBES]
    differ = [
        (r, p, py)
        for (r, p), py, js in zip(
            [(r, p) for r in ACCEPTED for p in PROBES], python, javascript, strict=True
        )
        if py != js
    ]
    assert not differ, differ


def test_plain_python_would_have_disagreed_on_some_of_them() -> None:
    # Why the translation exists: these are the cases it changes.
    assert re.search(r"^[a-z]+$", "abc\n") is not None  # $ before a final newline
    assert re.search(r"^\d{3}$", "١٢٣") is not None  # other scripts' digits
    assert portable(r"^[a-z]+$").compile().search("abc\n") is None
    assert portable(r"^\d{3}$").compile().search("١٢٣") is None
