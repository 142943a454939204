"""The one rule of what may import what (docs/architecture.md), checked on the source.

Each module belongs to a layer; it may import its own layer and the layers below it,
never one above. Imports are read with ``ast`` (also those inside functions), so a
lazy import cannot hide a dependency. The runtime imports nothing of the generator.
"""

from __future__ import annotations

import ast
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[1]


@attrs.frozen
class Layers:
    """The layers of one program, bottom to top: (name, top-level modules) each."""

    folder: str  # "codegen" (installed as chgen) or "runtime" (chgen.runtime)
    layers: tuple[tuple[str, tuple[str, ...]], ...]
    allowed_upward: frozenset[tuple[str, str]] = frozenset()  # (importer's layer, module)

    def index(self, module: str) -> int | None:
        top = module.split(".")[0] or "__init__"
        return next((i for i, (_, tops) in enumerate(self.layers) if top in tops), None)

    def modules(self) -> list[tuple[str, Path]]:
        """(name relative to the program, file) of every module of the program."""
        folder = ROOT / self.folder
        return [(_module_name(p, folder), p) for p in sorted(folder.rglob("*.py"))]

    def imported(self, module: str, path: Path) -> set[str]:
        """The program's own modules that ``module`` imports, relative to the program."""
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        prefix = () if self.folder == "codegen" else ("runtime",)
        found = _imports(path, (*prefix, *[p for p in package if p and p != "__init__"]))
        own = {t.lstrip(".") for t in found}
        if self.folder == "codegen":
            return {t for t in own if t and not t.startswith("runtime")}
        return {t.removeprefix("runtime").lstrip(".") for t in own if t.startswith("runtime")}

    def violations(self, module: str, path: Path) -> list[str]:
        own = self.index(module)
        assert own is not None, f"{module} has no layer"
        name = self.layers[own][0]
        above = []
        for target in sorted(self.imported(module, path)):
            layer = self.index(target)
            if layer is not None and layer > own and (name, target) not in self.allowed_upward:
                above.append(f"{target} ({self.layers[layer][0]})")
        return above


def _module_name(path: Path, folder: Path) -> str:
    parts = path.relative_to(folder).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def _imports(path: Path, package: tuple[str, ...]) -> set[str]:
    """Names (below ``chgen``) of the chgen modules ``path`` imports; ``from x import y``
    counts as importing ``x.y`` when that is a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.startswith("chgen"):
                target = node.module.removeprefix("chgen").lstrip(".")
            else:
                continue
            found.update(_submodule_or(target, a.name) for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("chgen").lstrip(".")
                for a in node.names
                if a.name.startswith("chgen")
            )
    return found


def _submodule_or(package: str, name: str) -> str:
    """``package.name`` if that is a module of the source tree, else ``package``."""
    parts = package.split(".") if package else []
    folder = ROOT / ("runtime" if parts[:1] == ["runtime"] else "codegen")
    inner = parts[1:] if parts[:1] == ["runtime"] else parts
    candidate = folder.joinpath(*inner, name)
    if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
        return ".".join([*parts, name])
    return package


GENERATOR = Layers(
    "codegen",
    (
        ("shared", ("errors", "hints", "naming", "sourcelines", "urlpattern", "spec", "ir",
                    "typemap", "atomic", "manifest", "progress", "config")),
        ("loader", ("loader", "import_hints", "dataspec")),
        ("resolve", ("resolve",)),
        ("render", ("render",)),
        ("writer", ("writer", "clientdir", "fingerprint")),
        ("build", ("build",)),
        ("commands", ("cli", "watch", "dev", "project", "scaffold", "compat", "workerrun",
                      "__init__", "__main__")),
    ),
    # The resolver reserves the names generated code uses, so it reads their vocabulary.
    frozenset({("resolve", "render.vocabulary"), ("resolve", "render.environment")}),
)  # fmt: skip
RUNTIME = Layers(
    "runtime",
    (
        ("protocol core", ("protocol", "values", "constraints", "codec", "lean", "dispatch",
                           "status", "defaults", "lazy", "origins", "ratelimit", "outbound",
                           "patterns", "jobs", "positions")),
        ("the Python client", ("client",)),
        ("channel layers", ("layers",)),
        ("group history", ("history",)),
        ("group delivery", ("delivery",)),
        ("the socket", ("connection",)),
        ("consumers", ("base", "consumer", "websocket", "demux", "multiplexer", "hooks",
                       "running", "startup", "worker", "workerpool", "retention", "appretention",
                       "recovery")),
        ("ASGI", ("asgi", "routing", "testing", "handshake", "__init__")),
    ),
)  # fmt: skip
PROGRAMS = [GENERATOR, RUNTIME]
MODULES = [(program, module, path) for program in PROGRAMS for module, path in program.modules()]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.folder)
def test_every_module_has_a_layer(program: Layers) -> None:
    assert [m for m, _ in program.modules() if program.index(m) is None] == []


@pytest.mark.parametrize(
    "program, module, path", MODULES, ids=[f"{p.folder}/{m}" for p, m, _ in MODULES]
)
def test_a_module_imports_nothing_from_a_layer_above_its_own(
    program: Layers, module: str, path: Path
) -> None:
    assert program.violations(module, path) == [], f"{program.folder}/{module} imports from above"


def test_the_runtime_imports_nothing_of_the_generator() -> None:
    wrong = {}
    for module, path in RUNTIME.modules():
        package = ("runtime", *module.split(".")[:-1])
        outside = {t for t in _imports(path, package) if t and not t.startswith("runtime")}
        if outside:
            wrong[module] = sorted(outside)
    assert wrong == {}
