"""The one rule of what may import what (docs/architecture.md), checked on the source.

Each module belongs to a layer; it may import its own layer and the layers below it,
never one above. Imports are read with ``ast`` (also those inside functions), so a
lazy import cannot hide a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The generator, bottom to top: data flows loader -> resolve -> render -> writer.
GENERATOR_LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("shared", ("errors", "hints", "naming", "sourcelines", "urlpattern", "spec", "ir",
                "typemap", "atomic", "manifest", "progress", "config")),
    ("loader", ("loader", "import_hints", "dataspec")),
    ("resolve", ("resolve",)),
    ("render", ("render",)),
    ("writer", ("writer", "clientdir", "fingerprint")),
    ("build", ("build",)),
    ("commands", ("cli", "watch", "dev", "project", "scaffold", "__init__", "__main__")),
]  # fmt: skip
# The resolver reserves the names generated code uses, so it reads their vocabulary.
ALLOWED_UPWARD = {("resolve", "render.vocabulary"), ("resolve", "render.environment")}


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
                base = [p for p in package[: len(package) - node.level + 1] if p]
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


def _layer_of(module: str) -> int | None:
    top = module.split(".")[0]
    for index, (_, members) in enumerate(GENERATOR_LAYERS):
        if top in members:
            return index
    return None


def _generator_modules() -> list[tuple[str, Path]]:
    folder = ROOT / "codegen"
    return [(_module_name(p, folder), p) for p in sorted(folder.rglob("*.py"))]


def test_every_generator_module_has_a_layer() -> None:
    assert [m for m, _ in _generator_modules() if _layer_of(m) is None] == []


@pytest.mark.parametrize("module, path", _generator_modules(), ids=lambda v: str(v))
def test_a_generator_module_imports_nothing_from_a_layer_above_its_own(
    module: str, path: Path
) -> None:
    own = _layer_of(module)
    assert own is not None
    package = (
        tuple(module.split(".")) if path.name == "__init__.py" else tuple(module.split(".")[:-1])
    )
    above = []
    for target in sorted(_imports(path, ("", *package))):
        target = target.lstrip(".")
        if target.startswith("runtime") or not target:
            continue
        layer = _layer_of(target)
        name = GENERATOR_LAYERS[own][0]
        if layer is not None and layer > own and (name, target) not in ALLOWED_UPWARD:
            above.append(f"{target} ({GENERATOR_LAYERS[layer][0]})")
    assert above == [], f"{module} ({GENERATOR_LAYERS[own][0]}) imports from above: {above}"


def test_the_runtime_imports_nothing_of_the_generator() -> None:
    folder = ROOT / "runtime"
    wrong = {}
    for path in sorted(folder.rglob("*.py")):
        module = _module_name(path, folder)
        package = ("runtime", *module.split(".")[:-1])
        outside = {
            t
            for t in _imports(path, ("", *package))
            if t and not t.lstrip(".").startswith("runtime")
        }
        if outside:
            wrong[module] = sorted(outside)
    assert wrong == {}


# The runtime, bottom to top (docs/architecture.md); the package's __init__ re-exports.
RUNTIME_LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("protocol core", ("protocol", "values", "constraints", "codec", "lean", "dispatch",
                       "status", "defaults", "lazy")),
    ("channel layers", ("layers",)),
    ("group delivery", ("delivery",)),
    ("the socket", ("connection",)),
    ("consumers", ("base", "consumer", "websocket", "demux", "multiplexer", "hooks", "running",
                   "startup")),
    ("ASGI", ("asgi", "routing", "testing", "__init__")),
]  # fmt: skip


def _runtime_layer(module: str) -> int | None:
    top = module.removeprefix("runtime").lstrip(".").split(".")[0] or "__init__"
    for index, (_, members) in enumerate(RUNTIME_LAYERS):
        if top in members:
            return index
    return None


def _runtime_modules() -> list[tuple[str, Path]]:
    folder = ROOT / "runtime"
    return [(_module_name(p, folder), p) for p in sorted(folder.rglob("*.py"))]


def test_every_runtime_module_has_a_layer() -> None:
    assert [m for m, _ in _runtime_modules() if _runtime_layer(m) is None] == []


@pytest.mark.parametrize("module, path", _runtime_modules(), ids=lambda v: str(v))
def test_a_runtime_module_imports_nothing_from_a_layer_above_its_own(
    module: str, path: Path
) -> None:
    own = _runtime_layer(module)
    assert own is not None
    parts = (
        module.split(".")
        if path.name == "__init__.py" and module != "__init__"
        else module.split(".")[:-1]
    )
    package = ("runtime", *[p for p in parts if p and p != "__init__"])
    above = []
    for target in sorted(_imports(path, ("", *package))):
        layer = _runtime_layer(target)
        if layer is not None and layer > own:
            above.append(f"{target} ({RUNTIME_LAYERS[layer][0]})")
    assert above == [], f"{module} ({RUNTIME_LAYERS[own][0]}) imports from above: {above}"
