"""The source of a new handler module, and stubs formatted as black would write them."""

from __future__ import annotations

from collections.abc import Sequence

import black

from .. import naming
from ..config import DEFAULT_LINE_LENGTH
from .model import ClassStub, MethodStub

__all__ = ["DEFAULT_LINE_LENGTH", "class_source", "format_source", "fresh_module", "method_source"]


def format_source(source: str, line_length: int) -> str:
    return black.format_str(source, mode=black.Mode(line_length=line_length))


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
        lines += ["", "", class_source(stub)]
    return format_source("\n".join(lines) + "\n", line_length).encode()


def class_source(stub: ClassStub) -> str:
    if not stub.methods:
        return f"class {stub.name}({stub.base}):\n    pass\n"
    methods = "\n".join(method_source(m) for m in stub.methods)
    return f"class {stub.name}({stub.base}):\n{methods}"


def method_source(method: MethodStub) -> str:
    return f"    {method.signature}:\n        raise NotImplementedError\n"
