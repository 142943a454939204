"""Everything chgen installs lives under one import name, and each part loads only its own.

Each check runs in a fresh interpreter, so what it sees is what a user's process loads.
"""

from __future__ import annotations

import json
import subprocess
import sys

GENERATOR_ONLY = ("jinja2", "black", "libcst", "click", "watchfiles")


def _loaded_after(code: str) -> dict[str, list[str]]:
    """Run ``code`` in a fresh interpreter; report the modules and loggers it created."""
    probe = (
        "import json, logging, sys\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps({'modules': sorted(set(sys.modules) - before),"
        " 'loggers': sorted(logging.Logger.manager.loggerDict)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: dict[str, list[str]] = json.loads(done.stdout)
    return loaded


def _tops(modules: list[str]) -> set[str]:
    return {m.partition(".")[0] for m in modules}


def test_the_whole_runtime_loads_none_of_the_generator() -> None:
    loaded = _loaded_after(
        "import importlib, pkgutil, chgen.runtime\n"
        "for info in pkgutil.iter_modules(chgen.runtime.__path__, 'chgen.runtime.'):\n"
        "    importlib.import_module(info.name)"
    )
    assert not _tops(loaded["modules"]) & set(GENERATOR_ONLY), loaded["modules"]
    chgen_modules = [m for m in loaded["modules"] if m.startswith("chgen")]
    assert all(
        m in ("chgen", "chgen.runtime") or m.startswith("chgen.runtime.") for m in chgen_modules
    )


def test_runtime_loggers_are_named_under_chgen() -> None:
    loaded = _loaded_after(
        "import importlib, pkgutil, chgen.runtime\n"
        "for info in pkgutil.iter_modules(chgen.runtime.__path__, 'chgen.runtime.'):\n"
        "    importlib.import_module(info.name)"
    )
    ours = [n for n in loaded["loggers"] if n.partition(".")[0] in ("chgen", "runtime", "codegen")]
    assert ours, "the runtime creates no logger at all"
    assert all(n == "chgen" or n.startswith("chgen.") for n in ours), ours


def test_a_spec_module_import_loads_neither_the_runtime_nor_the_generator() -> None:
    # Every spec module starts with this import; it should cost attrs and annotated-types,
    # not asyncio, the converter or the build.
    loaded = _loaded_after("import chgen.spec")
    tops = _tops(loaded["modules"])
    assert not tops & {*GENERATOR_ONLY, "asyncio", "cattrs", "orjson"}, sorted(tops)
    assert "chgen.build" not in loaded["modules"]
    assert "chgen.runtime.consumer" not in loaded["modules"]


def test_the_package_root_loads_its_public_names_on_first_use() -> None:
    loaded = _loaded_after("import chgen")
    assert [m for m in loaded["modules"] if m.startswith("chgen")] == ["chgen"]
    used = _loaded_after("from chgen import SpecErrors, generate")
    assert "chgen.build" in used["modules"]
    assert "chgen.errors" in used["modules"]
