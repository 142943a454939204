"""What the runtime's modules may import of each other: no cycles, and the layers apart.

Read from the source with ``ast``, every import statement counts, also one inside a
function or under ``TYPE_CHECKING``: a cycle hidden there is still a cycle to a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import chgen.runtime

RUNTIME = Path(chgen.runtime.__path__[0])


def _module_name(path: Path) -> str:
    parts = path.relative_to(RUNTIME).with_suffix("").parts
    return ".".join(("chgen.runtime", *parts)).removesuffix(".__init__")


def _imports() -> dict[str, set[str]]:
    """Runtime module -> the runtime modules it imports."""
    modules = {_module_name(path): path for path in RUNTIME.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
                candidates = [target, *(f"{target}.{alias.name}" for alias in node.names)]
                found.update(c for c in candidates if c in modules)
            elif isinstance(node, ast.ImportFrom) and (node.module or "") in modules:
                found.add(node.module or "")
        graph[name] = found - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, or None (depth-first search, colouring visits)."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)) is not None:
            return found
    return None


def test_no_runtime_module_imports_another_in_a_cycle() -> None:
    graph = _imports()
    assert "chgen.runtime.delivery.inbox" in graph, sorted(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or ())


def test_a_cycle_would_be_found() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_the_protocol_core_and_group_delivery_stay_below_the_consumers() -> None:
    graph = _imports()
    above = {
        "chgen.runtime.asgi",
        "chgen.runtime.base",
        "chgen.runtime.connection",
        "chgen.runtime.consumer",
        "chgen.runtime.demux",
        "chgen.runtime.routing",
    }
    assert not _reach(graph, "chgen.runtime.protocol") & above
    delivery = [name for name in graph if name.startswith("chgen.runtime.delivery")]
    for name in delivery:
        assert not _reach(graph, name) & (above | {"chgen.runtime.protocol"}), name
