"""Reading a handler module's libcst tree: what names it binds, what its methods say.

Nothing here changes a tree; ``update`` and ``imports`` do that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import attrs
import libcst as cst

from ..resolve import CONSUMER_ATTRIBUTES
from .model import MethodStub

__all__ = [
    "Binding",
    "class_members",
    "code",
    "dotted",
    "dotted_tail",
    "is_docstring",
    "is_import",
    "leading",
    "looks_like_handler",
    "matches",
    "module_name",
    "signature",
    "target_names",
    "top_level_bindings",
]


@attrs.frozen
class Binding:
    """A top-level name and what binds it: a class, an import (module, name) or other."""

    kind: str  # "class", "import", "other"
    module: str = ""
    name: str = ""
    line: int = 0


def top_level_bindings(
    body: Sequence[cst.BaseStatement], line_of: Callable[[cst.CSTNode], int]
) -> dict[str, Binding]:
    """Names bound at the top level of a module by statements we understand."""
    found: dict[str, Binding] = {}
    for statement in body:
        line = line_of(statement)
        if isinstance(statement, cst.ClassDef):
            found[statement.name.value] = Binding("class", line=line)
        elif isinstance(statement, cst.FunctionDef):
            found[statement.name.value] = Binding("other", line=line)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                found.update(_small_bindings(small, line))
        else:  # if/try/with/for...: whatever they bind, we do not add it again
            for name in _names_assigned_in(statement):
                found.setdefault(name, Binding("other", line=line))
    return found


def _small_bindings(small: cst.BaseSmallStatement, line: int) -> Iterable[tuple[str, Binding]]:
    if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
        module = module_name(small)
        for alias in small.names:
            original = dotted(alias.name)
            bound = dotted(alias.asname.name) if alias.asname is not None else original
            yield bound, Binding("import", module=module, name=original, line=line)
    elif isinstance(small, cst.Import):
        for alias in small.names:
            if alias.asname is not None:
                yield dotted(alias.asname.name), Binding("other", line=line)
            else:
                yield dotted(alias.name).split(".")[0], Binding("other", line=line)
    elif isinstance(small, cst.Assign):
        for target in small.targets:
            for name in target_names(target.target):
                yield name, Binding("other", line=line)
    elif isinstance(small, cst.AnnAssign | cst.AugAssign):
        for name in target_names(small.target):
            yield name, Binding("other", line=line)


class _AssignedNames(cst.CSTVisitor):
    """Collects the names bound anywhere inside a statement, without entering defs."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        bound = node.asname.name if node.asname is not None else node.name
        self.names.add(dotted(bound).split(".")[0])

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.names.update(target_names(node.target))


def _names_assigned_in(node: cst.CSTNode) -> set[str]:
    """Names bound anywhere inside a compound top-level statement (if/try/with...)."""
    visitor = _AssignedNames()
    node.visit(visitor)
    return visitor.names


def target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        return [n for element in target.elements for n in target_names(element.value)]
    return []


def dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted(node.value)}.{node.attr.value}"
    return ""


def dotted_tail(node: cst.BaseExpression) -> str:
    return dotted(node).rpartition(".")[2]


def module_name(node: cst.ImportFrom) -> str:
    dots = "." * len(node.relative)
    return dots + (dotted(node.module) if node.module is not None else "")


def leading(statement: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    if isinstance(statement, cst.SimpleStatementLine | cst.BaseCompoundStatement):
        return statement.leading_lines
    return ()


def is_import(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, cst.Import | cst.ImportFrom) for s in statement.body
    )


def is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def class_members(node: cst.ClassDef) -> dict[str, cst.CSTNode]:
    """Names defined directly in a class body: methods, and assigned attributes."""
    members: dict[str, cst.CSTNode] = {}
    body = node.body
    statements: Sequence[cst.CSTNode] = (
        body.body
        if isinstance(body, cst.IndentedBlock)
        else [cst.SimpleStatementLine(cst.ensure_type(body, cst.SimpleStatementSuite).body)]
    )
    for statement in statements:
        if isinstance(statement, cst.FunctionDef):
            members[statement.name.value] = statement
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                for name in _assigned_attributes(small):
                    members.setdefault(name, small)
        else:
            for name in _names_assigned_in(statement):
                members.setdefault(name, statement)
    return members


def _assigned_attributes(small: cst.BaseSmallStatement) -> list[str]:
    """What ``x = ...`` or ``x: T = ...`` in a class body defines (a bare ``x: T`` does not)."""
    if isinstance(small, cst.Assign):
        return [name for target in small.targets for name in target_names(target.target)]
    if isinstance(small, cst.AnnAssign) and small.value is not None:
        return target_names(small.target)
    return []


def code(node: cst.CSTNode) -> str:
    return " ".join(cst.Module(body=[]).code_for_node(node).split())


def signature(node: cst.FunctionDef) -> str:
    """The method's header as written, on one line, for messages."""
    params = code(node.params).rstrip(",")
    returns = f" -> {code(node.returns.annotation)}" if node.returns is not None else ""
    prefix = "async def" if node.asynchronous is not None else "def"
    return f"{prefix} {node.name.value}({params}){returns}"


def matches(node: cst.FunctionDef, method: MethodStub) -> bool:
    """Whether ``node`` is ``async def m(self, <any name>: <payload>) -> <reply>``."""
    params = node.params
    plain = params.params
    if node.asynchronous is None or node.returns is None:
        return False
    if method.payload is None:  # a fixed signature: compare it as written
        expected = f"self, {method.params}"
        return code(params).rstrip(",") == expected and code(node.returns.annotation) == "None"
    if len(plain) != 2:
        return False
    if params.star_arg is not cst.MaybeSentinel.DEFAULT and params.star_arg is not None:
        return False
    if params.kwonly_params or params.posonly_params or params.star_kwarg is not None:
        return False
    data = plain[1]
    return (
        data.annotation is not None
        and data.default is None
        and code(data.annotation.annotation) == method.payload
        and code(node.returns.annotation) == method.returns
    )


def looks_like_handler(node: cst.FunctionDef, payload_names: set[str]) -> bool:
    """A public ``async def name(self, data: <generated payload>)`` that is not consumer API."""
    name = node.name.value
    if node.asynchronous is None or name.startswith("_") or name in CONSUMER_ATTRIBUTES:
        return False
    if name.startswith(("send_", "group_send_")):
        return False
    params = node.params.params
    if len(params) != 2 or params[1].annotation is None:
        return False
    return dotted_tail(params[1].annotation.annotation) in payload_names
