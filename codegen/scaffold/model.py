"""What scaffolding writes and reports: stubs for the spec's handlers, notices, results.

``stubs_for`` turns an app of the intermediate model into the handler classes its
module needs; everything else here is plain data the other modules pass around.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from ..errors import ChgenError
from ..ir import AppIR

__all__ = [
    "RECEIVE",
    "ClassStub",
    "MethodStub",
    "ModuleResult",
    "Notice",
    "UnparsableModule",
    "shown",
    "stubs_for",
]


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
        return f"{self.level}: {shown(self.file, root)}:{self.line}: {self.message}"


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


def stubs_for(app: AppIR, package: str) -> list[ClassStub]:
    """The handler classes ``app`` needs (its consumers', then its workers'), in the
    generated package ``package``."""
    base = f"{package}.{app.name}"
    return [
        ClassStub(
            name=c.name,
            base=c.base_name,
            consumers_module=f"{base}.consumers",
            payloads_module=f"{base}.payloads",
            methods=(
                *((RECEIVE,) if c.kind == "plain" else ()),
                *(
                    MethodStub(h.method, h.payload, h.reply)
                    for h in (*c.all_handlers, *c.route_methods)
                ),
            ),
        )
        for c in app.consumers
    ] + [
        ClassStub(
            name=w.name,
            base=w.base_name,
            consumers_module=f"{base}.consumers",
            payloads_module=f"{base}.payloads",
            methods=tuple(MethodStub(h.method, h.payload, None) for h in w.handlers),
        )
        for w in app.workers
    ]


def shown(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` when it lies below it, else as it is."""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)
