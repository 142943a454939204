"""Checks a generated app makes once, when it is imported: the handler classes exist, and
each implements every handler the spec maps as an ``async def`` taking the payload.

Every mistake is reported with the file and line to change and what to write there,
before any socket can meet it. Nothing here runs per message.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import textwrap
import typing
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any

import attrs

from .dispatch import is_unimplemented

__all__ = ["Expected", "HandlersMissing", "Problem", "check_handlers", "require_handlers"]

log = logging.getLogger(__name__)

_SCAFFOLD = "`chgen scaffold` writes the stub"


class HandlersMissing(Exception):
    """The app's handler code is not ready (missing, a stub, or not callable as the spec
    says); raised when the app is imported, with every problem and its fix."""


@attrs.frozen
class Expected:
    """One handler the generated base declares for the user to implement."""

    method: str
    signature: str  # as the user should write it: "async def post(self, data: Post) -> Ack"
    payload: type[Any] | None = None  # the one argument's type; None: fixed parameters
    reply: type[Any] | None = None  # None: returns nothing

    @classmethod
    def for_payload(cls, method: str, payload: type[Any], reply: type[Any] | None) -> Expected:
        returns = reply.__name__ if reply is not None else "None"
        signature = f"async def {method}(self, data: {payload.__name__}) -> {returns}"
        return cls(method, signature, payload, reply)


@attrs.frozen
class Problem:
    where: str  # file:line
    message: str
    fix: str
    fatal: bool = True  # False: a warning, logged once; the app still starts

    def __str__(self) -> str:
        return f"{self.where}: {self.message}; {self.fix}"


def require_handlers(module: str, *bases: type[Any]) -> None:
    """Import the handler module and check that it defines one class per consumer, named
    as the consumer, subclassing its generated base; raise HandlersMissing if not."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise  # the module exists but imports something missing: the user's error
        raise HandlersMissing(
            f"no handler module {module!r}: run `chgen scaffold` to write it, with one class "
            f"per consumer ({', '.join(_name_of(b) for b in bases)})"
        ) from None
    problems = [p for base in bases if (p := _class_problem(found, base)) is not None]
    if problems:
        raise HandlersMissing(_report(problems))


def check_handlers(classes: Iterable[type[Any]]) -> None:
    """Check every handler of ``classes``; raise HandlersMissing listing every error, and
    log each warning once."""
    problems = [p for cls in _unique(classes) for p in _class_handlers(cls)]
    for warning in (p for p in problems if not p.fatal):
        log.warning("%s", warning)
    errors = [p for p in problems if p.fatal]
    if errors:
        raise HandlersMissing(_report(errors))


def _report(problems: Sequence[Problem]) -> str:
    lines = "\n".join(f"  {p}" for p in problems)
    return f"the app's handlers are not ready ({len(problems)} to fix):\n{lines}"


def _unique(classes: Iterable[type[Any]]) -> list[type[Any]]:
    return list(dict.fromkeys(classes))


def _name_of(base: type[Any]) -> str:
    return str(getattr(base, "consumer_name", "") or base.__name__)


def _class_problem(module: ModuleType, base: type[Any]) -> Problem | None:
    name = _name_of(base)
    where = _module_file(module)
    cls = getattr(module, name, None)
    if cls is None:
        message = f"{module.__name__} defines no class {name}"
        return Problem(where, message, f"add `class {name}({base.__name__})`; {_SCAFFOLD}")
    if not (isinstance(cls, type) and issubclass(cls, base)):
        message = f"{module.__name__}.{name} does not subclass {base.__name__}"
        return Problem(
            _location(cls) or where, message, f"declare it `class {name}({base.__name__})`"
        )
    return None


# -- one class ---------------------------------------------------------------------------


def _class_handlers(cls: type[Any]) -> list[Problem]:
    expected: Sequence[Expected] = cls.expected_handlers()
    found: list[Problem] = []
    for handler in expected:
        found.extend(_handler_problems(cls, handler))
    return found


def _handler_problems(cls: type[Any], handler: Expected) -> list[Problem]:
    method = getattr(cls, handler.method, None)
    qualified = f"{cls.__name__}.{handler.method}"
    write = f"write `{handler.signature}`"
    if method is None or is_unimplemented(method):
        where = _location(cls) or "<unknown>"
        return [Problem(where, f"{qualified} is not implemented", f"{write}; {_SCAFFOLD}")]
    where = _location(method) or _location(cls) or "<unknown>"
    if _only_raises_not_implemented(method):
        return [Problem(where, f"{qualified} is still a stub raising NotImplementedError", write)]
    if not _is_async(method):
        return [Problem(where, f"{qualified} is not async", f"make it `{handler.signature}`")]
    return _signature_problems(method, handler, qualified, where)


def _signature_problems(
    method: Callable[..., Any], handler: Expected, qualified: str, where: str
) -> list[Problem]:
    fix = f"make it `{handler.signature}`"
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return []  # a callable without a signature: nothing to check
    if handler.payload is None:
        return []  # fixed parameters (a plain consumer's receive): any form may do
    try:
        signature.bind(None, None)
    except TypeError:
        shown = f"{handler.method}{signature}"
        return [Problem(where, f"{qualified} cannot take one payload: it is {shown}", fix)]
    hints = _hints(method)
    parameter = list(signature.parameters)[1]
    takes = hints.get(parameter)
    if isinstance(takes, type) and not issubclass(handler.payload, takes):
        received = handler.payload.__name__
        message = f"{qualified} takes {parameter}: {_shown(takes)}, but receives a {received}"
        return [Problem(where, message, fix)]
    return _return_problems(hints, handler, qualified, where)


def _return_problems(
    hints: dict[str, Any], handler: Expected, qualified: str, where: str
) -> list[Problem]:
    if "return" not in hints:
        return []
    returns, reply = hints["return"], handler.reply
    expected = type(None) if reply is None else reply
    wrong = returns is None and reply is not None
    wrong = wrong or (isinstance(returns, type) and not issubclass(returns, expected))
    if not wrong:
        return []
    message = f"{qualified} is annotated to return {_shown(returns)}, but its reply is "
    message += "nothing" if reply is None else f"a {reply.__name__}"
    return [Problem(where, message, f"annotate it `{handler.signature}`", fatal=False)]


# -- introspection -----------------------------------------------------------------------


def _is_async(method: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(method) or inspect.iscoroutinefunction(
        inspect.unwrap(method)
    )


def _hints(method: Callable[..., Any]) -> dict[str, Any]:
    """The method's resolved annotations; none when one cannot be resolved."""
    try:
        return typing.get_type_hints(inspect.unwrap(method))
    except Exception:
        return {}


def _shown(tp: Any) -> str:
    return "None" if tp in (None, type(None)) else getattr(tp, "__name__", repr(tp))


def _only_raises_not_implemented(method: Callable[..., Any]) -> bool:
    """Whether the method's body (after a docstring) is ``raise NotImplementedError``:
    a scaffolded stub nobody filled in. Without its source, it cannot be told."""
    try:
        source = textwrap.dedent(inspect.getsource(inspect.unwrap(method)))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return False
    function = tree.body[0] if tree.body else None
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def _location(obj: Any) -> str | None:
    """``file:line`` where ``obj`` (a class or function) is defined, if known."""
    try:
        target = inspect.unwrap(obj)
        file = inspect.getsourcefile(target)
        line = inspect.getsourcelines(target)[1]
    except (OSError, TypeError):
        return None
    return f"{file}:{line}" if file else None


def _module_file(module: ModuleType) -> str:
    return str(getattr(module, "__file__", None) or module.__name__)
