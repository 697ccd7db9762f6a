"""Unknown query parameters are refused: 422 naming each, for every operation of the API.

A misspelt filter (`?stauts=open`) silently ignored returns the unfiltered list, which a
client takes for the filtered one; a PHP-style `name[$ne]=x` is refused rather than
ignored. What is known is what the OpenAPI document declares for the operation, so the
rule covers operations that read no query at all and those that read it through more than
one schema. Requests outside the document's operations (the UI, the document itself) are
not checked here.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, current_app, request

from .errors import error_response

_PATH_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_KEY = "crm_query_parameters"
_METHODS = ("get", "put", "post", "patch", "delete")
_MAX_NAMED = 20


def declared(spec: dict[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """(path as the document writes it, method) → the query parameter names it declares."""
    out: dict[tuple[str, str], frozenset[str]] = {}
    for path, item in spec.get("paths", {}).items():
        shared = [p for p in item.get("parameters", []) if p.get("in") == "query"]
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [*shared, *(p for p in op.get("parameters", []) if p.get("in") == "query")]
            out[(path, method)] = frozenset(p["name"] for p in params)
    return out


def _known(app: Flask) -> dict[tuple[str, str], frozenset[str]]:
    known = app.extensions.get(_KEY)
    if known is None:
        known = declared(app.extensions["crm_api"].spec.to_dict())
        app.extensions[_KEY] = known
    return known


def check_query_parameters() -> Response | None:
    """Refuse a request to an API operation naming a query parameter it does not declare."""
    if not request.args or request.url_rule is None:
        return None
    path = _PATH_PARAM.sub(r"{\1}", request.url_rule.rule)
    names = _known(current_app).get((path, request.method.lower()))
    if names is None:  # not an operation of the API document
        return None
    unknown = sorted(set(request.args) - names)
    if not unknown:
        return None
    return error_response(
        422,
        "validation_error",
        "unknown query parameter: " + ", ".join(unknown[:_MAX_NAMED]),
        {name: ["unknown query parameter"] for name in unknown[:_MAX_NAMED]},
    )
