"""Adding ``from module import name`` to a handler module in the style it already has.

A name joins an existing ``from module import ...`` statement in sorted position (and
the statement is exploded over several lines, as black would, once it gets too long);
otherwise a new statement goes after the import from the nearest sibling module, or
after the last import, or after the docstring.
"""

from __future__ import annotations

import libcst as cst

from .syntax import dotted, is_docstring, is_import, leading, module_name

__all__ = ["add_import"]


def add_import(
    body: list[cst.BaseStatement],
    tree: cst.Module,
    module: str,
    names: list[str],
    line_length: int,
) -> None:
    """Import ``names`` from ``module`` in ``body`` (the statements of ``tree``), in place."""
    for index, statement in enumerate(body):
        found = _import_from(statement, module)
        if found is not None:
            body[index] = statement.with_changes(
                body=[_extend_import(found, names, tree, line_length)]
            )
            return
    statement = cst.parse_statement(
        f"from {module} import {', '.join(names)}\n", tree.config_for_parsing
    )
    index = _import_position(body, module)
    blank = cst.EmptyLine(indent=False)
    if index == 0 and body:
        # Above the first statement, which keeps its own comments below a blank line.
        body[0] = body[0].with_changes(leading_lines=[blank, *leading(body[0])])
    elif index < len(body) and not is_import(body[index]):
        # After a docstring or the last import: one blank line above the next code.
        if not leading(body[index]):
            body[index] = body[index].with_changes(leading_lines=[blank])
        if index > 0 and not is_import(body[index - 1]):
            statement = statement.with_changes(leading_lines=[blank])
    body.insert(index, statement)


def _import_position(body: list[cst.BaseStatement], module: str) -> int:
    """After the import from the nearest sibling module, else after the last import."""
    package = module.rpartition(".")[0]
    sibling = last_import = None
    for index, statement in enumerate(body):
        if not is_import(statement):
            if last_import is not None or not is_docstring(statement):
                break
            continue
        last_import = index
        assert isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and module_name(small).startswith(package + "."):
                sibling = index
    if sibling is not None:
        return sibling + 1
    if last_import is not None:
        return last_import + 1
    if body and is_docstring(body[0]):
        return 1
    return 0


def _import_from(statement: cst.CSTNode, module: str) -> cst.ImportFrom | None:
    """The plain ``from module import a, b`` that ``statement`` is, if it is one."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    node = statement.body[0]
    if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
        return None
    return node if module_name(node) == module else None


def _extend_import(
    node: cst.ImportFrom, names: list[str], tree: cst.Module, line_length: int
) -> cst.ImportFrom:
    """``node`` with ``names`` added in sorted position, in the statement's own style."""
    aliases = list(node.names)  # type: ignore[arg-type]
    existing = [dotted(a.name) for a in aliases]
    in_order = existing == sorted(existing)
    middle = _separator(node, aliases)
    for name in names:
        new = cst.ImportAlias(name=cst.Name(name))
        position = len(aliases)
        if in_order:
            position = next((i for i, a in enumerate(aliases) if dotted(a.name) > name), position)
        if position == len(aliases):
            last = aliases[-1]
            aliases[-1] = last.with_changes(comma=middle)
            aliases.append(new.with_changes(comma=last.comma))
        else:
            aliases.insert(position, new.with_changes(comma=middle))
    extended = node.with_changes(names=aliases)
    line = tree.code_for_node(extended)
    if node.lpar is None and len(line) > max(line_length, len(tree.code_for_node(node))):
        return _exploded(node, aliases, tree)
    return extended


def _exploded(
    node: cst.ImportFrom, aliases: list[cst.ImportAlias], tree: cst.Module
) -> cst.ImportFrom:
    """Too long for one line: the import over several lines, the way black writes it."""
    items = "".join(f"    {dotted(a.name)}{_as(a)},\n" for a in aliases)
    source = f"from {module_name(node)} import (\n{items})\n"
    parsed = cst.ensure_type(
        cst.parse_statement(source, tree.config_for_parsing), cst.SimpleStatementLine
    )
    return cst.ensure_type(parsed.body[0], cst.ImportFrom)


def _as(alias: cst.ImportAlias) -> str:
    return f" as {dotted(alias.asname.name)}" if alias.asname is not None else ""


def _separator(node: cst.ImportFrom, aliases: list[cst.ImportAlias]) -> cst.Comma:
    """The comma that sits between two names of this import statement."""
    if len(aliases) >= 2 and isinstance(aliases[0].comma, cst.Comma):
        return aliases[0].comma
    if node.lpar is not None and isinstance(
        node.lpar.whitespace_after, cst.ParenthesizedWhitespace
    ):
        return cst.Comma(whitespace_after=node.lpar.whitespace_after)
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
