"""``[tool.chgen]`` in pyproject.toml: where a project keeps its specs and puts its output.

```toml
[tool.chgen]
spec-dir = "specs"               # SPEC_DIR of every command
out-dir = "src/acme/wsgen"       # -o: the generated package (default: generated/ beside SPEC_DIR)
handler-root = "src"             # --handler-root: where imports start (default: see layout)
client-dir = "frontend/src/api"  # --client-dir: client.ts/.js/.d.ts (default: in out-dir)
line-length = 100                # --line-length: handler stubs (default: black's or ruff's)

[tool.chgen.api]                 # what the AsyncAPI document and api.html say of the API
title = "Acme chat"              # default: the app's name
version = "2.1.0"                # default: "unversioned"
contact = { name = "Chat team", email = "chat@acme.example" }

[tool.chgen.api.servers.production]
host = "chat.acme.example"
protocol = "wss"
```

Paths are relative to the pyproject.toml that holds them. The file is found by walking
up from the working directory to the nearest pyproject.toml with a ``[tool.chgen]``
table, as ruff finds its own. A command-line option overrides the key; a key overrides
the default. A mistake in the table is a ``ConfigError`` (exit 2) naming the file, the
line and the key, with a did-you-mean.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .errors import UsageError
from .hints import data_kind, did_you_mean

__all__ = [
    "DEFAULT_LINE_LENGTH",
    "ApiSettings",
    "Config",
    "ConfigError",
    "Layout",
    "ServerSetting",
    "find_config",
    "layout",
    "load_config",
    "project_line_length",
    "stub_line_length",
]

PYPROJECT = "pyproject.toml"
DEFAULT_LINE_LENGTH = 88  # black's


class ConfigError(UsageError):
    """A wrong ``[tool.chgen]`` table: file, line, key, and what to write instead."""


@attrs.frozen
class Config:
    """The ``[tool.chgen]`` table of one pyproject.toml, paths made absolute."""

    file: Path
    spec_dir: Path | None = None
    out_dir: Path | None = None
    handler_root: Path | None = None
    client_dir: Path | None = None
    line_length: int | None = None
    api: ApiSettings = attrs.field(factory=lambda: ApiSettings())

    @property
    def root(self) -> Path:
        return self.file.parent


def find_config(start: Path | None = None) -> Config | None:
    """The ``[tool.chgen]`` of the nearest pyproject.toml above ``start`` (the working
    directory) that has one, or None. A pyproject.toml that is not TOML is an error."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        file = directory / PYPROJECT
        if file.is_file():
            table = _tool_table(file, _read_toml(file))
            if table is not None:
                return load_config(file, table)
    return None


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}; fix it, then run chgen again") from None


def _tool_table(file: Path, document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    tools = document.get("tool")
    table = tools.get("chgen") if isinstance(tools, Mapping) else None
    if table is None or isinstance(table, Mapping):
        return table
    raise ConfigError(
        f"{file}: tool.chgen: expected a table ([tool.chgen]), got {data_kind(table)}"
    )


def load_config(file: Path, table: Mapping[str, Any]) -> Config:
    """A Config from the parsed ``[tool.chgen]`` table of ``file``; raises ConfigError."""
    text = file.read_text(encoding="utf-8")
    values: dict[str, Any] = {}
    for key, value in table.items():
        read = _KEYS.get(key)
        if read is None:
            hint = did_you_mean(key, _KEYS) or f"the keys are: {', '.join(_KEYS)}"
            raise ConfigError(f"{_where(file, text, key)}: unknown key; {hint}")
        try:
            values[key.replace("-", "_")] = read(file.parent, value)
        except _SubKeyError as exc:
            raise ConfigError(f"{_where_sub(file, text, exc.table, exc.key)}: {exc}") from None
        except ValueError as exc:
            raise ConfigError(f"{_where(file, text, key)}: {exc}") from None
    return Config(file=file, **values)


def _path(root: Path, value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a path as a string, got {data_kind(value)}")
    return root / value


def _line_length(_: Path, value: Any) -> int:
    if type(value) is not int or value <= 0:
        raise ValueError(f"expected a positive integer, got {data_kind(value)}")
    return value


_KEYS: dict[str, Callable[[Path, Any], Any]] = {
    "spec-dir": _path,
    "out-dir": _path,
    "handler-root": _path,
    "client-dir": _path,
    "line-length": _line_length,
    "api": lambda _, value: _api_settings(value),
}


def _where(file: Path, text: str, key: str) -> str:
    """``file:line: [tool.chgen] key``, the line found by reading the table's text."""
    line = _line_of(text, key)
    at = f"{file}:{line}" if line else str(file)
    return f"{at}: [tool.chgen] {key}"


def _line_of(text: str, key: str) -> int:
    inside = False
    assignment = re.compile(
        rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*="""
    )
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped.replace(" ", "") == "[tool.chgen]"
        elif inside and assignment.match(line):
            return number
    return 0


# -- the settings of one command --------------------------------------------------------


@attrs.frozen
class Layout:
    """Where one command reads and writes, with options, config and defaults applied."""

    spec_dir: Path
    out_dir: Path
    handler_root: Path  # the directory the project's imports start from
    client_dir: Path | None  # None: the client files stay in the app's package
    config: Config | None


def layout(
    config: Config | None,
    spec_dir: Path | None = None,
    out_dir: Path | None = None,
    handler_root: Path | None = None,
    client_dir: Path | None = None,
) -> Layout:
    """The paths of a command: each option, else its ``[tool.chgen]`` key, else the
    default beside the spec directory (``generated/``; imports start beside it too, or
    in its ``src/`` when the output is there). Raises UsageError without a spec directory."""
    if spec_dir is None:
        spec_dir = config.spec_dir if config is not None else None
        if spec_dir is None:
            raise UsageError(
                "no SPEC_DIR given: pass the spec directory (e.g. specs/) or set spec-dir "
                "in [tool.chgen] of the project's pyproject.toml"
            )
        if not spec_dir.is_dir():
            assert config is not None
            raise ConfigError(
                f"{_where(config.file, config.file.read_text(encoding='utf-8'), 'spec-dir')}: "
                f"{str(spec_dir)!r} is not a directory; create it or correct the path"
            )
    beside = spec_dir.resolve().parent
    keys = config if config is not None else Config(file=beside / PYPROJECT)
    out = out_dir or keys.out_dir or beside / "generated"
    return Layout(
        spec_dir=spec_dir,
        out_dir=out,
        handler_root=handler_root or keys.handler_root or _import_root(beside, out),
        client_dir=client_dir or keys.client_dir,
        config=config,
    )


def _import_root(project: Path, out_dir: Path) -> Path:
    """Where imports start when nothing says: the project directory, or its ``src/``
    when the output goes there (a src layout: ``src`` is never a package itself)."""
    src = project / "src"
    return src if out_dir.resolve().is_relative_to(src) else project


def stub_line_length(config: Config | None, option: int | None, spec_dir: Path) -> int:
    """Handler stubs' line length: the option, ``line-length`` in [tool.chgen], else the
    project's black or ruff setting, else black's default."""
    if option is not None:
        return option
    if config is not None and config.line_length is not None:
        return config.line_length
    root = config.root if config is not None else spec_dir.resolve().parent
    return project_line_length(root)


def project_line_length(project_root: Path) -> int:
    """The line length the project formats with: ``[tool.black]`` or ``[tool.ruff]``
    ``line-length`` in its pyproject.toml, else black's default."""
    try:
        document = tomllib.loads((project_root / PYPROJECT).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return DEFAULT_LINE_LENGTH
    tools = document.get("tool")
    for tool in ("black", "ruff"):
        section = tools.get(tool) if isinstance(tools, dict) else None
        value = section.get("line-length") if isinstance(section, dict) else None
        if type(value) is int and value > 0:
            return value
    return DEFAULT_LINE_LENGTH


# -- [tool.chgen.api]: what the contracts say of the API ----------------------------------
#
# The AsyncAPI document and api.html of every app take their title, version, contact and
# servers from here. Nothing is made up when a key is absent: the title is the app's name,
# the version reads "unversioned", and there is no contact and no server.


@attrs.frozen
class ServerSetting:
    """One server of ``[tool.chgen.api.servers.NAME]``: where the API is deployed."""

    name: str
    host: str
    protocol: str = "wss"
    pathname: str | None = None
    description: str | None = None


@attrs.frozen
class ApiSettings:
    """``[tool.chgen.api]``. ``title`` may contain ``{app}``, replaced by each app's name."""

    title: str | None = None
    version: str | None = None
    description: str | None = None
    contact: tuple[tuple[str, str], ...] = ()  # (name | url | email, value), in that order
    servers: tuple[ServerSetting, ...] = ()

    def key(self) -> str:
        """Everything here, as text: a build whose settings changed renders again."""
        return repr(attrs.astuple(self))


class _SubKeyError(ValueError):
    """A mistake inside a sub-table of [tool.chgen], located by ``_where_sub``."""

    def __init__(self, table: str, key: str, message: str) -> None:
        super().__init__(message)
        self.table = table
        self.key = key


_API_KEYS = ("title", "version", "description", "contact", "servers")
_CONTACT_KEYS = ("name", "url", "email")
_SERVER_KEYS = ("host", "protocol", "pathname", "description")
_PROTOCOLS = ("ws", "wss")


def _api_settings(table: Any) -> ApiSettings:
    if not isinstance(table, Mapping):
        raise ValueError(f"expected a table ([tool.chgen.api]), got {data_kind(table)}")
    _known(table, _API_KEYS, "api")
    values: dict[str, Any] = {}
    for key in ("title", "version", "description"):
        if key in table:
            values[key] = _text(table[key], "api", key)
    if "contact" in table:
        contact = _table(table["contact"], "api", "contact")
        _known(contact, _CONTACT_KEYS, "api.contact")
        values["contact"] = tuple(
            (key, _text(contact[key], "api.contact", key))
            for key in _CONTACT_KEYS
            if key in contact
        )
    if "servers" in table:
        servers = _table(table["servers"], "api", "servers")
        values["servers"] = tuple(_server(name, servers[name]) for name in sorted(servers))
    return ApiSettings(**values)


def _server(name: str, value: Any) -> ServerSetting:
    where = f"api.servers.{name}"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise _SubKeyError("api.servers", name, "a server name may hold letters, digits, _ . -")
    table = _table(value, "api.servers", name)
    _known(table, _SERVER_KEYS, where)
    if "host" not in table:
        raise _SubKeyError(where, name, 'missing key host, e.g. host = "chat.acme.example"')
    protocol = _text(table.get("protocol", "wss"), where, "protocol")
    if protocol not in _PROTOCOLS:
        raise _SubKeyError(where, "protocol", f"expected ws or wss, got {protocol!r}")
    optional = {k: _text(table[k], where, k) for k in ("pathname", "description") if k in table}
    return ServerSetting(name, _text(table["host"], where, "host"), protocol, **optional)


def _known(table: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in keys:
            hint = did_you_mean(key, keys) or f"the keys are: {', '.join(keys)}"
            raise _SubKeyError(where, key, f"unknown key; {hint}")


def _table(value: Any, where: str, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _SubKeyError(where, key, f"expected a table, got {data_kind(value)}")
    return value


def _text(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _SubKeyError(where, key, f"expected a non-empty string, got {data_kind(value)}")
    return value


def _where_sub(file: Path, text: str, table: str, key: str) -> str:
    """``file:line: [tool.chgen.TABLE] key``: the key's line under its own table header,
    or under ``[tool.chgen]`` where the sub-table is written inline."""
    line = _line_in(text, f"tool.chgen.{table}", key) or _line_in(
        text, "tool.chgen", table.partition(".")[0]
    )
    at = f"{file}:{line}" if line else str(file)
    return f"{at}: [tool.chgen.{table}] {key}"


def _line_in(text: str, header: str, key: str) -> int:
    inside = False
    assignment = re.compile(
        rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*[=.]"""
    )
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped.replace(" ", "") in (f"[{header}]", f"[{header}.{key}]")
            if inside and stripped.replace(" ", "") == f"[{header}.{key}]":
                return number
        elif inside and assignment.match(line):
            return number
    return 0
