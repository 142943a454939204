"""Everything chgen installs lives under one import name, and each part loads only its own.

Each check runs in a fresh interpreter, so what it sees is what a user's process loads.
"""

from __future__ import annotations

import json
import subprocess
import sys

GENERATOR_ONLY = (
    "jinja2",
    "black",
    "libcst",
    "click",
    "watchfiles",
    "tree_sitter",
    "tree_sitter_toml",
)


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


# Runtime modules that adapt a server and import it (uvicorn brings click and watchfiles
# along); a deployment imports them only where that server runs.
SERVER_ADAPTERS = ("chgen.runtime.handshake",)


def test_the_whole_runtime_loads_none_of_the_generator() -> None:
    loaded = _loaded_after(
        "import importlib, pkgutil, chgen.runtime\n"
        "for info in pkgutil.iter_modules(chgen.runtime.__path__, 'chgen.runtime.'):\n"
        f"    if info.name not in {SERVER_ADAPTERS!r}:\n"
        "        importlib.import_module(info.name)"
    )
    assert not _tops(loaded["modules"]) & set(GENERATOR_ONLY), loaded["modules"]
    chgen_modules = [m for m in loaded["modules"] if m.startswith("chgen")]
    assert all(
        m in ("chgen", "chgen.runtime") or m.startswith("chgen.runtime.") for m in chgen_modules
    )


def test_a_server_adapter_loads_its_server_and_nothing_of_chgen_beyond_the_runtime() -> None:
    for adapter in SERVER_ADAPTERS:
        loaded = _loaded_after(f"import {adapter}")
        chgen_modules = [m for m in loaded["modules"] if m.startswith("chgen")]
        assert all(m == "chgen" or m.startswith("chgen.runtime") for m in chgen_modules)
        assert not _tops(loaded["modules"]) & {"jinja2", "black", "libcst", "tree_sitter"}


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
    ours = [m for m in loaded["modules"] if m.startswith("chgen")]
    assert ours == ["chgen", "chgen.runtime", "chgen.runtime.lazy"]
    used = _loaded_after("from chgen import SpecErrors, generate")
    assert "chgen.build" in used["modules"]
    assert "chgen.errors" in used["modules"]


def test_every_source_package_is_listed_for_the_wheel() -> None:
    # setuptools installs only the packages pyproject.toml lists, and a development
    # install links only those: a package missing there imports here and fails for users.
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = {name: root / folder for name, folder in config["package-dir"].items()}
    found = set()
    for name, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            found.add(".".join((name, *relative)))
    missing = sorted(found - listed)
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"
