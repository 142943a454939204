"""The contracts of an app for the rest of the ecosystem, rendered beside its package:
``asyncapi.json`` (AsyncAPI 3.0, with a JSON Schema per payload) and ``api.html`` (a
self-contained reference page). Both are read from one view of the app (``surface``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...config import ApiSettings
from ...ir import AppIR
from . import asyncapi

if TYPE_CHECKING:
    import jinja2

__all__ = ["ASYNCAPI_FILE", "PAGE_FILE", "render_contracts"]

ASYNCAPI_FILE = "asyncapi.json"
PAGE_FILE = "api.html"


def render_contracts(app: AppIR, env: jinja2.Environment, api: ApiSettings) -> dict[str, str]:
    """``{<app>/asyncapi.json: ..., <app>/api.html: ...}`` for one app."""
    from .page import render_page

    doc = asyncapi.document(app, api)
    return {
        f"{app.name}/{ASYNCAPI_FILE}": asyncapi.dumps(doc),
        f"{app.name}/{PAGE_FILE}": render_page(app, doc, env),
    }
