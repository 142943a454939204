"""Extending an existing handler module with libcst: add what is missing, change nothing.

``update_module`` adds the classes, stubs and imports the spec asks for and the module
lacks, each formatted as black would and indented like the module. It reports what it
will not touch: handlers the spec no longer maps, methods whose signature differs from
the spec's, consumers bound some other way. A module with nothing to add comes back
byte-identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .imports import add_import
from .model import ClassStub, MethodStub, Notice, UnparsableModule
from .source import DEFAULT_LINE_LENGTH, class_source, format_source, method_source
from .syntax import (
    class_members,
    dotted_tail,
    looks_like_handler,
    matches,
    signature,
    top_level_bindings,
)

__all__ = ["update_module"]

Updated = tuple[bytes, tuple[str, ...], tuple[Notice, ...]]


def update_module(
    source: bytes,
    stubs: Sequence[ClassStub],
    file: Path,
    line_length: int = DEFAULT_LINE_LENGTH,
) -> Updated:
    """``source`` with the missing stubs, classes and imports added; nothing else changes.

    Returns the new source, what was added, and notices about handlers the spec no
    longer maps and methods that do not match the spec. Raises UnparsableModule.
    """
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise UnparsableModule(
            f"{file}:{exc.raw_line}:{exc.raw_column + 1}: cannot parse the handler module, "
            f"so it was left untouched: {exc.message}"
        ) from None
    except (UnicodeDecodeError, LookupError) as exc:
        raise UnparsableModule(
            f"{file}: cannot read the handler module, so it was left untouched: {exc}"
        ) from None
    return _Updater(module, stubs, file, line_length).run()


class _Updater:
    """One pass over a module: collects additions in ``body`` and notices as it goes."""

    def __init__(
        self, module: cst.Module, stubs: Sequence[ClassStub], file: Path, line_length: int
    ) -> None:
        self.line_length = line_length
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.positions = wrapper.resolve(PositionProvider)
        self.module = module
        self.stubs = stubs
        self.file = file
        self.added: list[str] = []
        self.imported: list[str] = []
        self.notices: list[Notice] = []
        self.bindings = top_level_bindings(module.body, self._line)
        self.body: list[cst.BaseStatement] = list(module.body)
        self.needed_imports: list[tuple[str, str]] = []  # (module, name), in order

    def run(self) -> Updated:
        for stub in self.stubs:
            self._class(stub)
        self._stale_classes()
        self._imports()
        if not (self.added or self.imported):
            return self.module.bytes, (), tuple(self.notices)
        new = self.module.with_changes(body=self.body)
        added = [*self.added, *(f"import {name}" for name in self.imported)]
        return new.bytes, tuple(added), tuple(self.notices)

    def _line(self, node: cst.CSTNode) -> int:
        position = self.positions.get(node)
        return position.start.line if position is not None else 1

    def _notice(self, level: str, node: cst.CSTNode, message: str) -> None:
        self.notices.append(Notice(level, self.file, self._line(node), message))

    # -- classes and methods ----------------------------------------------------------

    def _class(self, stub: ClassStub) -> None:
        classes = {
            s.name.value: (i, s) for i, s in enumerate(self.body) if isinstance(s, cst.ClassDef)
        }
        if stub.name in classes:
            index, node = classes[stub.name]
            self._check_bases(node, stub)
            self.body[index] = self._methods(node, stub)
            return
        binding = self.bindings.get(stub.name)
        if binding is not None:
            where = f" from {binding.module}" if binding.kind == "import" else ""
            self.notices.append(
                Notice(
                    "warning",
                    self.file,
                    binding.line,
                    f"{stub.name} is bound{where} but not by a class statement in this "
                    f"module, so its handlers were not checked or added",
                )
            )
            return
        self._new_class(stub)

    def _new_class(self, stub: ClassStub) -> None:
        self._require(stub.consumers_module, stub.base)
        for method in stub.methods:
            for name in method.imports:
                self._require(stub.payloads_module, name)
        node = _parse_class(class_source(stub), self.module, self.line_length)
        blank = cst.EmptyLine(indent=False)
        self.body.append(node.with_changes(leading_lines=[blank, blank]))
        self.added.append(f"class {stub.name}")

    def _check_bases(self, node: cst.ClassDef, stub: ClassStub) -> None:
        bases = {dotted_tail(arg.value) for arg in node.bases}
        if stub.base not in bases:
            self._notice(
                "warning",
                node,
                f"{stub.name} does not subclass {stub.base} (from {stub.consumers_module}), "
                "which gives it the spec's dispatch table, send helpers and checks",
            )

    def _methods(self, node: cst.ClassDef, stub: ClassStub) -> cst.ClassDef:
        existing = class_members(node)
        new_methods: list[cst.FunctionDef] = []
        for method in stub.methods:
            found = existing.get(method.name)
            if isinstance(found, cst.FunctionDef):
                self._check_signature(stub, method, found)
                continue
            if found is not None:
                continue  # bound some other way (an assignment): the user's business
            for name in method.imports:
                self._require(stub.payloads_module, name)
            new_methods.append(_parse_method(method, self.module, self.line_length))
            self.added.append(f"{stub.name}.{method.name}")
        self._stale_methods(stub, existing)
        if not new_methods:
            return node
        return node.with_changes(body=_append_to_block(node.body, new_methods))

    def _check_signature(self, stub: ClassStub, method: MethodStub, node: cst.FunctionDef) -> None:
        if not matches(node, method):
            self._notice(
                "warning",
                node,
                f"{stub.name}.{method.name} is `{signature(node)}`, but the spec expects "
                f"`{method.signature}`; it was left alone",
            )

    def _stale_methods(self, stub: ClassStub, existing: dict[str, cst.CSTNode]) -> None:
        mapped = {m.name for m in stub.methods}
        payload_names = self._imported_from(".payloads")
        for name, member in existing.items():
            if name in mapped or not isinstance(member, cst.FunctionDef):
                continue
            if looks_like_handler(member, payload_names):
                self._notice(
                    "note",
                    member,
                    f"{stub.name}.{name} is no longer mapped by the spec; delete it when ready",
                )

    def _stale_classes(self) -> None:
        wanted = {s.name for s in self.stubs}
        bases = {n for n in self._imported_from(".consumers") if n.endswith("Base")}
        for statement in self.module.body:
            if not isinstance(statement, cst.ClassDef) or statement.name.value in wanted:
                continue
            if any(dotted_tail(arg.value) in bases for arg in statement.bases):
                self._notice(
                    "note",
                    statement,
                    f"class {statement.name.value} is no longer a consumer of the spec; "
                    "delete it when ready",
                )

    def _imported_from(self, suffix: str) -> set[str]:
        """The names this module imports from a module whose name ends with ``suffix``."""
        return {
            name
            for name, b in self.bindings.items()
            if b.kind == "import" and b.module.endswith(suffix)
        }

    # -- imports ----------------------------------------------------------------------

    def _require(self, module: str, name: str) -> None:
        if (module, name) not in self.needed_imports:
            self.needed_imports.append((module, name))

    def _imports(self) -> None:
        by_module: dict[str, list[str]] = {}
        for module, name in self.needed_imports:
            binding = self.bindings.get(name)
            if binding is None:
                by_module.setdefault(module, []).append(name)
            elif binding.kind != "import" or binding.module != module:
                self.notices.append(
                    Notice(
                        "warning",
                        self.file,
                        binding.line,
                        f"the stubs use {name} from {module}, but this module binds {name} "
                        "otherwise; it was not imported",
                    )
                )
        for module, names in by_module.items():
            add_import(self.body, self.module, module, sorted(names), self.line_length)
            self.imported.extend(sorted(names))


def _append_to_block(block: cst.BaseSuite, methods: list[cst.FunctionDef]) -> cst.IndentedBlock:
    """``block`` with ``methods`` after its last statement, one blank line before each.

    Comments at the end of the block stay where they are, above the new methods.
    """
    blank = cst.EmptyLine(indent=False)
    if isinstance(block, cst.SimpleStatementSuite):
        # `class X(Base): pass` becomes an indented block holding the same statements.
        header_line = cst.SimpleStatementLine(
            body=block.body, trailing_whitespace=block.trailing_whitespace
        )
        block = cst.IndentedBlock(body=[header_line], header=cst.TrailingWhitespace())
    assert isinstance(block, cst.IndentedBlock)
    footer = list(block.footer)
    first_lines = [*footer, blank] if not footer or footer[-1].comment is not None else footer
    placed = [
        m.with_changes(leading_lines=first_lines if i == 0 else [blank])
        for i, m in enumerate(methods)
    ]
    return block.with_changes(body=[*block.body, *placed], footer=[])


def _parse_class(source: str, module: cst.Module, line_length: int) -> cst.ClassDef:
    formatted = format_source(source, line_length)
    # Parse in the user's module config so indentation and newlines follow the file.
    return cst.ensure_type(
        cst.parse_statement(_reindent(formatted, module), module.config_for_parsing),
        cst.ClassDef,
    )


def _parse_method(method: MethodStub, module: cst.Module, line_length: int) -> cst.FunctionDef:
    node = _parse_class(f"class _Stub:\n{method_source(method)}", module, line_length)
    body = node.body
    assert isinstance(body, cst.IndentedBlock)
    return cst.ensure_type(body.body[0], cst.FunctionDef)


def _reindent(source: str, module: cst.Module) -> str:
    """Black's 4-space source in the module's own indentation and line endings."""
    indent = module.default_indent
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip(" ")
        lines.append(indent * ((len(line) - len(stripped)) // 4) + stripped)
    return "".join(f"{line}{module.default_newline}" for line in lines)
