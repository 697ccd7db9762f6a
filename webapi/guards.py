"""Checks on every JSON request body before any view sees it.

No key starting with `$` may reach a query (operator injection), and nothing the
database cannot store (lone surrogates, integers beyond 64 bits, NaN) gets past the edge.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Response, request

from .errors import error_response

MAX_DEPTH = 64
_INT64 = 2**63


def _problems(value: Any, path: str, depth: int, found: dict[str, list[str]]) -> None:
    if len(found) >= 20:
        return
    where = path or "$root"
    if depth > MAX_DEPTH:
        found[where] = [f"nested deeper than {MAX_DEPTH} levels"]
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if key.startswith("$"):
                found[inner] = ["keys must not start with '$'"]
            elif not _encodable(key):
                found[inner] = ["keys must be valid Unicode"]
            else:
                _problems(item, inner, depth + 1, found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _problems(item, f"{path}[{i}]", depth + 1, found)
    elif isinstance(value, str):
        if not _encodable(value):
            found[where] = ["must be valid Unicode (no lone surrogates)"]
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            found[where] = ["integers must fit in 64 bits"]
    elif isinstance(value, float) and not math.isfinite(value):
        found[where] = ["numbers must be finite"]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_json_body() -> Response | None:
    """Refuse malformed JSON (400) and unsafe or unstorable content (422)."""
    if not request.is_json or not request.get_data(cache=True):
        return None
    try:
        body = request.get_json(force=True, silent=False)
    except Exception:  # werkzeug raises BadRequest; RecursionError on absurd nesting
        return error_response(
            400, "bad_request", "the body is not valid JSON", {"json": ["not valid JSON"]}
        )
    found: dict[str, list[str]] = {}
    _problems(body, "", 0, found)
    if found:
        return error_response(422, "validation_error", "the request has invalid fields", found)
    return None
