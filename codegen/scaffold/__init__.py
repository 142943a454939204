"""``chgen scaffold``: create and extend the user's handler modules from the spec.

Each App names a handler module (``App.handlers``, e.g. ``handlers.chat``) that defines
one class per consumer, subclassing the generated ``<Name>Base``. The first run writes
that module with a typed stub per mapped message type. Later runs edit it with libcst:
they only *add* what the spec gained (stubs, classes, imports) and leave every existing
byte alone, so hand-written bodies, comments and formatting survive. Handlers the spec
no longer maps and methods whose signature differs from the spec are reported, never
changed. A run that finds nothing to add leaves the file byte-identical.

The modules, in the order data flows through them:

* ``model``: the stubs the spec asks for, notices and per-module results;
* ``source``: the source of a fresh module (pure);
* ``syntax``: reading a module's libcst tree (bindings, members, signatures);
* ``imports``: adding an import in the module's own style;
* ``update``: extending an existing module (pure: bytes in, bytes out);
* ``plan``: reading specs and modules, then writing (the only I/O).
"""

from __future__ import annotations

from .model import ClassStub, MethodStub, ModuleResult, Notice, UnparsableModule, stubs_for
from .plan import package_for, plan_scaffold, scaffold, write_scaffold
from .source import fresh_module
from .update import update_module

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
