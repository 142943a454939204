"""``chgen scaffold``: create and extend the user's handler modules from the spec.

Each App names a handler module (``App.handlers``, e.g. ``handlers.chat``) that defines
one class per consumer, subclassing the generated ``<Name>Base``. The first run writes
that module with a typed stub per mapped message type. Later runs edit it with libcst:
they only *add* what the spec gained (stubs, classes, imports) and leave every existing
byte alone, so hand-written bodies, comments and formatting survive. Handlers the spec
no longer maps and methods whose signature differs from the spec are reported, never
changed. A run that finds nothing to add leaves the file byte-identical.

``fresh_module`` and ``update_module`` are pure (source bytes in, source bytes out);
``plan_scaffold`` reads the specs and handler modules, ``write_scaffold`` writes.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs
import black
import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from . import naming
from .errors import ChgenError, UsageError
from .ir import AppIR
from .loader import load_apps
from .resolve import CONSUMER_ATTRIBUTES, resolve
from .writer import atomic_write

__all__ = [
    "ClassStub",
    "MethodStub",
    "ModuleResult",
    "Notice",
    "UnparsableModule",
    "fresh_module",
    "package_for",
    "plan_scaffold",
    "scaffold",
    "stubs_for",
    "update_module",
    "write_scaffold",
]

DEFAULT_LINE_LENGTH = 88  # black's; a project's pyproject.toml may set another


def project_line_length(project_root: Path) -> int:
    """The line length the project formats with: ``[tool.black]`` or ``[tool.ruff]``
    ``line-length`` in its pyproject.toml, else black's default."""
    try:
        config = tomllib.loads((project_root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return DEFAULT_LINE_LENGTH
    tools = config.get("tool")
    for tool in ("black", "ruff"):
        section = tools.get(tool) if isinstance(tools, dict) else None
        value = section.get("line-length") if isinstance(section, dict) else None
        if type(value) is int and value > 0:
            return value
    return DEFAULT_LINE_LENGTH


def _format(source: str, line_length: int) -> str:
    return black.format_str(source, mode=black.Mode(line_length=line_length))


class UnparsableModule(ChgenError):
    """A handler module that libcst cannot parse; it is left untouched (exit 1)."""


@attrs.frozen
class MethodStub:
    """One handler the spec maps: ``async def <name>(self, data: <payload>) -> <reply>``.

    A method with a fixed signature instead (``receive`` of a plain consumer) has no
    payload and gives its parameters after ``self`` in ``params``.
    """

    name: str
    payload: str | None
    reply: str | None
    params: str = ""

    @property
    def returns(self) -> str:
        return self.reply or "None"

    @property
    def parameters(self) -> str:
        return self.params or f"data: {self.payload}"

    @property
    def signature(self) -> str:
        return f"async def {self.name}(self, {self.parameters}) -> {self.returns}"

    @property
    def imports(self) -> tuple[str, ...]:
        """The payload names the stub's signature uses."""
        return tuple(n for n in (self.payload, self.reply) if n is not None)


# The frame handler of a plain (text and bytes) consumer, as runtime.WebsocketConsumer has it.
RECEIVE = MethodStub("receive", None, None, "text: str | None = None, bytes: bytes | None = None")


@attrs.frozen
class ClassStub:
    """One consumer's handler class and where its base and payloads are imported from."""

    name: str
    base: str
    consumers_module: str  # e.g. generated.chat.consumers
    payloads_module: str  # e.g. generated.chat.payloads
    methods: tuple[MethodStub, ...]

    def payload_names(self) -> set[str]:
        return {name for m in self.methods for name in m.imports}


@attrs.frozen
class Notice:
    """Something the user should know about a handler module; ``level`` is note or warning."""

    level: str
    file: Path
    line: int
    message: str

    def render(self, root: Path | None = None) -> str:
        shown = _shown(self.file, root)
        return f"{self.level}: {shown}:{self.line}: {self.message}"


@attrs.frozen
class ModuleResult:
    """What scaffolding one handler module gives: its new bytes and what changed."""

    path: Path
    module: str
    old: bytes | None  # None: the module does not exist yet
    new: bytes
    added: tuple[str, ...]  # e.g. "Chat.edit", "class Moderation"
    notices: tuple[Notice, ...]
    packages: tuple[Path, ...] = ()  # __init__.py files to create

    @property
    def changed(self) -> bool:
        return self.old != self.new


# -- what the spec asks for -----------------------------------------------------------


def package_for(out_dir: Path, project_root: Path) -> str:
    """The dotted import path of the generated output directory ``out_dir``."""
    out = out_dir.resolve()
    root = project_root.resolve()
    try:
        parts = out.relative_to(root).parts
    except ValueError:
        raise UsageError(
            f"the output directory {str(out_dir)!r} is not inside the project root "
            f"{str(root)!r}, so handler modules cannot import it; choose -o inside it"
        ) from None
    if not parts or not all(naming.is_python_identifier(p) for p in parts):
        raise UsageError(
            f"the output directory {str(out_dir)!r} is not an importable package path "
            f"below {str(root)!r}; choose -o like 'generated'"
        )
    return ".".join(parts)


def stubs_for(app: AppIR, package: str) -> list[ClassStub]:
    """The handler classes ``app`` needs, in the generated package ``package``."""
    base = f"{package}.{app.name}"
    return [
        ClassStub(
            name=c.name,
            base=c.base_name,
            consumers_module=f"{base}.consumers",
            payloads_module=f"{base}.payloads",
            methods=(
                *((RECEIVE,) if c.kind == "plain" else ()),
                *(MethodStub(h.method, h.payload, h.reply) for h in c.all_handlers),
            ),
        )
        for c in app.consumers
    ]


def module_path(module: str, project_root: Path) -> Path:
    """The file of dotted ``module`` below ``project_root`` (a package's ``__init__.py``)."""
    parts = module.split(".")
    package_init = project_root.joinpath(*parts, "__init__.py")
    if package_init.is_file():
        return package_init
    return project_root.joinpath(*parts[:-1], f"{parts[-1]}.py")


# -- a fresh module -------------------------------------------------------------------


def fresh_module(
    stubs: Sequence[ClassStub], doc: str, line_length: int = DEFAULT_LINE_LENGTH
) -> bytes:
    """The complete source of a new handler module: imports and one class per consumer."""
    imports: dict[str, set[str]] = {}
    for stub in stubs:
        imports.setdefault(stub.consumers_module, set()).add(stub.base)
        if stub.payload_names():
            imports.setdefault(stub.payloads_module, set()).update(stub.payload_names())
    lines = [naming.py_docstring(doc, ""), ""]
    for module in sorted(imports):
        lines.append(f"from {module} import {', '.join(sorted(imports[module]))}")
    for stub in stubs:
        lines += ["", "", _class_source(stub)]
    return _format("\n".join(lines) + "\n", line_length).encode()


def _class_source(stub: ClassStub) -> str:
    if not stub.methods:
        return f"class {stub.name}({stub.base}):\n    pass\n"
    methods = "\n".join(_method_source(m) for m in stub.methods)
    return f"class {stub.name}({stub.base}):\n{methods}"


def _method_source(method: MethodStub) -> str:
    return f"    {method.signature}:\n        raise NotImplementedError\n"


# -- updating an existing module ------------------------------------------------------


@attrs.frozen
class _Binding:
    """A top-level name and what binds it: a class, an import (module, name) or other."""

    kind: str  # "class", "import", "other"
    module: str = ""
    name: str = ""
    line: int = 0


def update_module(
    source: bytes,
    stubs: Sequence[ClassStub],
    file: Path,
    line_length: int = DEFAULT_LINE_LENGTH,
) -> tuple[bytes, tuple[str, ...], tuple[Notice, ...]]:
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
        self.bindings = self._bindings()
        self.body: list[cst.BaseStatement] = list(module.body)
        self.needed_imports: list[tuple[str, str]] = []  # (module, name), in order

    def run(self) -> tuple[bytes, tuple[str, ...], tuple[Notice, ...]]:
        for stub in self.stubs:
            self._class(stub)
        self._stale_classes()
        self._imports()
        if not (self.added or self.imported):
            return self.module.bytes, (), tuple(self.notices)
        new = self.module.with_changes(body=self.body)
        added = [*self.added, *(f"import {name}" for name in self.imported)]
        return new.bytes, tuple(added), tuple(self.notices)

    # -- reading ----------------------------------------------------------------------

    def _line(self, node: cst.CSTNode) -> int:
        position = self.positions.get(node)
        return position.start.line if position is not None else 1

    def _notice(self, level: str, node: cst.CSTNode | None, message: str) -> None:
        line = self._line(node) if node is not None else 1
        self.notices.append(Notice(level, self.file, line, message))

    def _bindings(self) -> dict[str, _Binding]:
        """Names bound at the top level of the module by statements we understand."""
        found: dict[str, _Binding] = {}
        for statement in self.module.body:
            line = self._line(statement)
            if isinstance(statement, cst.ClassDef):
                found[statement.name.value] = _Binding("class", line=line)
            elif isinstance(statement, cst.FunctionDef):
                found[statement.name.value] = _Binding("other", line=line)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    for name, binding in _small_bindings(small, line):
                        found[name] = binding
            else:  # if/try/with/for...: whatever they bind, we do not add it again
                for name in _names_assigned_in(statement):
                    found.setdefault(name, _Binding("other", line=line))
        return found

    def _class_nodes(self) -> dict[str, tuple[int, cst.ClassDef]]:
        return {
            s.name.value: (i, s) for i, s in enumerate(self.body) if isinstance(s, cst.ClassDef)
        }

    # -- classes and methods ----------------------------------------------------------

    def _class(self, stub: ClassStub) -> None:
        classes = self._class_nodes()
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
        self._require(stub.consumers_module, stub.base)
        for method in stub.methods:
            for name in method.imports:
                self._require(stub.payloads_module, name)
        node = _parse_class(_class_source(stub), self.module, self.line_length)
        blank = cst.EmptyLine(indent=False)
        node = node.with_changes(leading_lines=[blank, blank])
        self.body.append(node)
        self.added.append(f"class {stub.name}")

    def _check_bases(self, node: cst.ClassDef, stub: ClassStub) -> None:
        bases = {_dotted_tail(arg.value) for arg in node.bases}
        if stub.base not in bases:
            self._notice(
                "warning",
                node,
                f"{stub.name} does not subclass {stub.base} (from {stub.consumers_module}), "
                "which gives it the spec's dispatch table, send helpers and checks",
            )

    def _methods(self, node: cst.ClassDef, stub: ClassStub) -> cst.ClassDef:
        existing = _class_members(node)
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
        self._stale_methods(stub, node, existing)
        if not new_methods:
            return node
        return node.with_changes(body=_append_to_block(node.body, new_methods))

    def _check_signature(self, stub: ClassStub, method: MethodStub, node: cst.FunctionDef) -> None:
        if not _matches(node, method):
            self._notice(
                "warning",
                node,
                f"{stub.name}.{method.name} is `{_signature(node)}`, but the spec expects "
                f"`{method.signature}`; it was left alone",
            )

    def _stale_methods(
        self, stub: ClassStub, node: cst.ClassDef, existing: dict[str, cst.CSTNode]
    ) -> None:
        mapped = {m.name for m in stub.methods}
        payload_names = self._payload_imports()
        for name, member in existing.items():
            if name in mapped or not isinstance(member, cst.FunctionDef):
                continue
            if _looks_like_handler(member, payload_names):
                self._notice(
                    "note",
                    member,
                    f"{stub.name}.{name} is no longer mapped by the spec; delete it when ready",
                )

    def _stale_classes(self) -> None:
        wanted = {s.name for s in self.stubs}
        bases = {
            name
            for name, b in self.bindings.items()
            if b.kind == "import" and b.module.endswith(".consumers") and name.endswith("Base")
        }
        for statement in self.module.body:
            if not isinstance(statement, cst.ClassDef) or statement.name.value in wanted:
                continue
            if any(_dotted_tail(arg.value) in bases for arg in statement.bases):
                self._notice(
                    "note",
                    statement,
                    f"class {statement.name.value} is no longer a consumer of the spec; "
                    "delete it when ready",
                )

    def _payload_imports(self) -> set[str]:
        return {
            name
            for name, b in self.bindings.items()
            if b.kind == "import" and b.module.endswith(".payloads")
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
            self._add_import(module, sorted(names))

    def _add_import(self, module: str, names: list[str]) -> None:
        for index, statement in enumerate(self.body):
            found = _import_from(statement, module)
            if found is not None:
                self.body[index] = statement.with_changes(
                    body=[_extend_import(found, names, self.module, self.line_length)]
                )
                self.imported.extend(names)
                return
        statement = cst.parse_statement(
            f"from {module} import {', '.join(names)}\n", self.module.config_for_parsing
        )
        index = self._import_position(module)
        if index == 0 and self.body:
            # Above the first statement, which keeps its own comments below a blank line.
            first = self.body[0]
            blank = cst.EmptyLine(indent=False)
            self.body[0] = first.with_changes(leading_lines=[blank, *_leading(first)])
        elif index < len(self.body) and not _is_import(self.body[index]):
            # After a docstring or the last import: one blank line above the next code.
            nxt = self.body[index]
            if not _leading(nxt):
                self.body[index] = nxt.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
            if index > 0 and not _is_import(self.body[index - 1]):
                statement = statement.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        self.body.insert(index, statement)
        self.imported.extend(names)

    def _import_position(self, module: str) -> int:
        """After the import from the nearest sibling module, else after the last import."""
        package = module.rpartition(".")[0]
        sibling = last_import = None
        for index, statement in enumerate(self.body):
            if not _is_import(statement):
                if last_import is not None or not _is_docstring(statement):
                    break
                continue
            last_import = index
            assert isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body:
                if isinstance(small, cst.ImportFrom) and _module_name(small).startswith(
                    package + "."
                ):
                    sibling = index
        if sibling is not None:
            return sibling + 1
        if last_import is not None:
            return last_import + 1
        if self.body and _is_docstring(self.body[0]):
            return 1
        return 0


# -- libcst helpers -------------------------------------------------------------------


def _small_bindings(small: cst.BaseSmallStatement, line: int) -> Iterable[tuple[str, _Binding]]:
    if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
        module = _module_name(small)
        for alias in small.names:
            original = _dotted(alias.name)
            bound = _dotted(alias.asname.name) if alias.asname is not None else original
            yield bound, _Binding("import", module=module, name=original, line=line)
    elif isinstance(small, cst.Import):
        for alias in small.names:
            if alias.asname is not None:
                yield _dotted(alias.asname.name), _Binding("other", line=line)
            else:
                yield _dotted(alias.name).split(".")[0], _Binding("other", line=line)
    elif isinstance(small, cst.Assign):
        for target in small.targets:
            for name in _target_names(target.target):
                yield name, _Binding("other", line=line)
    elif isinstance(small, cst.AnnAssign | cst.AugAssign):
        for name in _target_names(small.target):
            yield name, _Binding("other", line=line)


def _names_assigned_in(node: cst.CSTNode) -> set[str]:
    """Names bound anywhere inside a compound top-level statement (if/try/with...)."""
    names: set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            names.add(node.name.value)
            return False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            names.add(node.name.value)
            return False

        def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
            bound = node.asname.name if node.asname is not None else node.name
            names.add(_dotted(bound).split(".")[0])

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            names.update(_target_names(node.target))

    node.visit(Visitor())
    return names


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        return [n for element in target.elements for n in _target_names(element.value)]
    return []


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _dotted_tail(node: cst.BaseExpression) -> str:
    return _dotted(node).rpartition(".")[2]


def _module_name(node: cst.ImportFrom) -> str:
    dots = "." * len(node.relative)
    return dots + (_dotted(node.module) if node.module is not None else "")


def _leading(statement: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    if isinstance(statement, cst.SimpleStatementLine | cst.BaseCompoundStatement):
        return statement.leading_lines
    return ()


def _is_import(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, cst.Import | cst.ImportFrom) for s in statement.body
    )


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _import_from(statement: cst.CSTNode, module: str) -> cst.ImportFrom | None:
    """The plain ``from module import a, b`` that ``statement`` is, if it is one."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    node = statement.body[0]
    if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
        return None
    return node if _module_name(node) == module else None


def _extend_import(
    node: cst.ImportFrom, names: list[str], module: cst.Module, line_length: int
) -> cst.ImportFrom:
    """``node`` with ``names`` added in sorted position, in the statement's own style."""
    aliases = list(node.names)  # type: ignore[arg-type]
    existing = [_dotted(a.name) for a in aliases]
    in_order = existing == sorted(existing)
    middle = _separator(node, aliases)
    for name in names:
        new = cst.ImportAlias(name=cst.Name(name))
        position = len(aliases)
        if in_order:
            position = next((i for i, a in enumerate(aliases) if _dotted(a.name) > name), position)
        if position == len(aliases):
            last = aliases[-1]
            aliases[-1] = last.with_changes(comma=middle)
            aliases.append(new.with_changes(comma=last.comma))
        else:
            aliases.insert(position, new.with_changes(comma=middle))
    extended = node.with_changes(names=aliases)
    line = module.code_for_node(extended)
    if node.lpar is None and len(line) > max(line_length, len(module.code_for_node(node))):
        # Too long for one line now: explode it the way black would.
        items = "".join(f"    {_dotted(a.name)}{_as(a)},\n" for a in aliases)
        source = f"from {_module_name(node)} import (\n{items})\n"
        parsed = cst.ensure_type(
            cst.parse_statement(source, module.config_for_parsing), cst.SimpleStatementLine
        )
        return cst.ensure_type(parsed.body[0], cst.ImportFrom)
    return extended


def _as(alias: cst.ImportAlias) -> str:
    return f" as {_dotted(alias.asname.name)}" if alias.asname is not None else ""


def _separator(node: cst.ImportFrom, aliases: list[cst.ImportAlias]) -> cst.Comma:
    """The comma that sits between two names of this import statement."""
    if len(aliases) >= 2 and isinstance(aliases[0].comma, cst.Comma):
        return aliases[0].comma
    if node.lpar is not None and isinstance(
        node.lpar.whitespace_after, cst.ParenthesizedWhitespace
    ):
        return cst.Comma(whitespace_after=node.lpar.whitespace_after)
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _class_members(node: cst.ClassDef) -> dict[str, cst.CSTNode]:
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
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        for name in _target_names(target.target):
                            members.setdefault(name, small)
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    for name in _target_names(small.target):
                        members.setdefault(name, small)
        else:
            for name in _names_assigned_in(statement):
                members.setdefault(name, statement)
    return members


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
    formatted = _format(source, line_length)
    # Parse in the user's module config so indentation and newlines follow the file.
    return cst.ensure_type(
        cst.parse_statement(_reindent(formatted, module), module.config_for_parsing),
        cst.ClassDef,
    )


def _parse_method(method: MethodStub, module: cst.Module, line_length: int) -> cst.FunctionDef:
    node = _parse_class(f"class _Stub:\n{_method_source(method)}", module, line_length)
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


def _code(node: cst.CSTNode) -> str:
    return " ".join(cst.Module(body=[]).code_for_node(node).split())


def _signature(node: cst.FunctionDef) -> str:
    """The method's header as written, on one line, for messages."""
    params = _code(node.params).rstrip(",")
    returns = f" -> {_code(node.returns.annotation)}" if node.returns is not None else ""
    prefix = "async def" if node.asynchronous is not None else "def"
    return f"{prefix} {node.name.value}({params}){returns}"


def _matches(node: cst.FunctionDef, method: MethodStub) -> bool:
    """Whether ``node`` is ``async def m(self, <any name>: <payload>) -> <reply>``."""
    params = node.params
    plain = params.params
    if node.asynchronous is None or node.returns is None:
        return False
    if method.payload is None:  # a fixed signature: compare it as written
        expected = f"self, {method.params}"
        return _code(params).rstrip(",") == expected and _code(node.returns.annotation) == "None"
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
        and _code(data.annotation.annotation) == method.payload
        and _code(node.returns.annotation) == method.returns
    )


def _looks_like_handler(node: cst.FunctionDef, payload_names: set[str]) -> bool:
    """A public ``async def name(self, data: <generated payload>)`` that is not consumer API."""
    name = node.name.value
    if node.asynchronous is None or name.startswith("_") or name in CONSUMER_ATTRIBUTES:
        return False
    if name.startswith(("send_", "group_send_")):
        return False
    params = node.params.params
    if len(params) != 2 or params[1].annotation is None:
        return False
    return _dotted_tail(params[1].annotation.annotation) in payload_names


def _shown(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


# -- the whole command ----------------------------------------------------------------


def plan_scaffold(
    spec_dir: Path, out_dir: Path | None = None, app_name: str | None = None
) -> list[ModuleResult]:
    """What scaffolding would write, per handler module; raises SpecErrors, UsageError,
    UnparsableModule. Nothing is written."""
    spec_dir = spec_dir.resolve()
    root = spec_dir.parent
    line_length = project_line_length(root)
    apps = resolve(load_apps(spec_dir), spec_dir)
    if app_name is not None:
        chosen = [a for a in apps if a.name == app_name]
        if not chosen:
            known = ", ".join(a.name for a in apps) or "none"
            raise UsageError(f"no app named {app_name!r} in {str(spec_dir)!r} (apps: {known})")
        apps = chosen
    package = package_for(out_dir if out_dir is not None else root / "generated", root)
    by_module: dict[str, list[AppIR]] = {}
    for app in apps:
        by_module.setdefault(app.handlers_module, []).append(app)
    results = []
    for module, module_apps in sorted(by_module.items()):
        stubs = [s for app in module_apps for s in stubs_for(app, package)]
        path = module_path(module, root)
        packages = tuple(
            init
            for i in range(1, len(module.split(".")))
            if not (init := root.joinpath(*module.split(".")[:i], "__init__.py")).exists()
        )
        if path.exists():
            old = path.read_bytes()
            new, added, notices = update_module(old, stubs, path, line_length)
            results.append(ModuleResult(path, module, old, new, added, notices, packages))
        else:
            names = " and ".join(a.name for a in module_apps)
            specs = ", ".join(a.spec_file for a in module_apps)
            doc = (
                f"Handlers of the {names} app (spec: {specs}).\n\n"
                "`chgen scaffold` adds a stub here when the spec maps a new message type;\n"
                "it never changes what you write."
            )
            new = fresh_module(stubs, doc, line_length)
            added = tuple(f"class {s.name}" for s in stubs)
            results.append(ModuleResult(path, module, None, new, added, (), packages))
    return results


def write_scaffold(results: Sequence[ModuleResult]) -> None:
    """Write every changed module (and missing package ``__init__.py``) atomically."""
    for result in results:
        for init in result.packages:
            if not init.exists():
                atomic_write(init, b"")
        if result.changed:
            atomic_write(result.path, result.new)


def scaffold(
    spec_dir: Path, out_dir: Path | None = None, app_name: str | None = None
) -> list[ModuleResult]:
    results = plan_scaffold(spec_dir, out_dir, app_name)
    write_scaffold(results)
    return results
