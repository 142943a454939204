"""The names generated code uses: what it may import, define and refer to.

The renderers write names from elsewhere only from here (``Imports.use`` refuses any
other), and the resolver reserves exactly these, so a spec can never name something
that would shadow them. This is the one module of ``render`` that the resolver reads.
"""

from __future__ import annotations

import functools
import re

from .environment import builtin_template_dir

__all__ = [
    "ANNOTATION_BUILTINS",
    "GENERATED_CLASS_ATTRIBUTES",
    "GLOBAL_TYPES",
    "IMPORTABLE",
    "IMPORTABLE_MODULES",
    "MODULE_DEFINED",
    "RUNTIME",
    "RUNTIME_CLIENT",
    "client_member_names",
    "client_type_names",
    "python_module_names",
]

# -- Python ------------------------------------------------------------------------------

RUNTIME = "chgen.runtime"
RUNTIME_CLIENT = "chgen.runtime.client"

# Every name a generated module may import, with the module it comes from. ``Imports``
# takes no other, so the resolver can keep spec names off exactly these
# (``resolve.reserved``), and a template that starts using a new name fails at once.
IMPORTABLE: dict[str, str] = {
    "Annotated": "typing",
    "ClassVar": "typing",
    "Literal": "typing",
    "Awaitable": "collections.abc",
    "Callable": "collections.abc",
    "Mapping": "collections.abc",
    "date": "datetime",
    "datetime": "datetime",
    "Decimal": "decimal",
    "UUID": "uuid",
    "Ge": "annotated_types",
    "Gt": "annotated_types",
    "Le": "annotated_types",
    "Lt": "annotated_types",
    "MaxLen": "annotated_types",
    "MinLen": "annotated_types",
    "BigInt": RUNTIME,
    "DispatchTable": RUNTIME,
    "JsonWebsocketConsumer": RUNTIME,
    "MessageRoute": RUNTIME,
    "Pattern": RUNTIME,
    "Router": RUNTIME,
    "WebsocketConsumer": RUNTIME,
    "WebsocketDemultiplexer": RUNTIME,
    "WorkerConsumer": RUNTIME,
    "encoder": RUNTIME,
    "require_handlers": RUNTIME,
    "route": RUNTIME,
    "unimplemented": RUNTIME,
    # the typed Python client (client.py)
    "Channel": RUNTIME_CLIENT,
    "ChgenClient": RUNTIME_CLIENT,
    "ChgenSocket": RUNTIME_CLIENT,
    "ChgenStream": RUNTIME_CLIENT,
    "ChgenStreamPart": RUNTIME_CLIENT,
    "ClientOptions": RUNTIME_CLIENT,
    "ChgenSubscription": RUNTIME_CLIENT,
}
# Modules imported whole (``import attrs``), for ``attrs.frozen`` and ``enum.Enum``.
IMPORTABLE_MODULES = ("attrs", "enum")
# Names the templates define at module level, besides the spec's own classes.
MODULE_DEFINED = ("application", "routes", "workers")
# Builtins that payload field annotations and defaults use.
ANNOTATION_BUILTINS = ("bool", "dict", "float", "int", "list", "str")
# Class attributes the consumer and route templates set from the spec.
GENERATED_CLASS_ATTRIBUTES = frozenset(
    {
        "app_events",
        "connection_group_templates",
        "consumer_name",
        "consumers",
        "dispatch_table",
        "layer_table",
    }
)


@functools.cache
def python_module_names() -> frozenset[str]:
    """Every name a generated Python module may import or define at module level."""
    return frozenset({*IMPORTABLE, *IMPORTABLE_MODULES, *MODULE_DEFINED})


# -- TypeScript --------------------------------------------------------------------------

# Global TypeScript types that ts_type writes besides the app's own names.
GLOBAL_TYPES = ("Readonly", "ReadonlyArray", "Record")

# Jinja tags and expressions, then comments and quoted strings of the TypeScript around
# them: what is left is code, whose capitalised words are the names that matter.
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_COMMENT_OR_STRING = re.compile(
    r"""//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'""", re.S
)
_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9_$]*\b")


@functools.cache
def client_type_names() -> frozenset[str]:
    """Every capitalised name the generated client declares or uses at module scope,
    besides the app's own: the core's exports and the globals it and the client
    templates use (``Promise``, ``Map``...). Read from the built-in templates, so the
    set follows the core as it changes; a payload or consumer named like one of them
    would break the client."""
    directory = builtin_template_dir() / "client"
    found = set(GLOBAL_TYPES)
    for path in sorted(directory.iterdir()):
        if path.suffix in (".ts", ".jinja", ".js"):
            code = _COMMENT_OR_STRING.sub(" ", _JINJA.sub(" ", path.read_text(encoding="utf-8")))
            found.update(_CAPITALISED.findall(code))
    return frozenset(found)


# A member declared at the class body's own indent (two spaces in core.ts).
_CLASS_MEMBER = re.compile(
    r"^  (?:(?:readonly|private|protected|public|static|declare|async)\s+)*"
    r"([A-Za-z_$][\w$]*)\s*[(:;=<?]",
    re.M,
)


@functools.cache
def client_member_names() -> frozenset[str]:
    """The members of a demultiplexer's client object (``connection``, ``close``...),
    read from the core's ``ChgenClient``: each stream is a property beside them, so a
    stream may not take one of their names. ``__proto__`` would set the prototype."""
    core = (builtin_template_dir() / "client" / "core.ts").read_text(encoding="utf-8")
    found = re.search(r"^export class ChgenClient\b.*?^}", core, re.M | re.S)
    members = set(_CLASS_MEMBER.findall(found.group(0))) if found else set()
    return frozenset({*members, "__proto__"})
