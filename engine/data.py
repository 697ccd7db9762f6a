"""Checks on data that enters an instance: variables, task data, subjects."""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import DataInvalid

# `typename` breaks SpiffWorkflow 3.2.0's serializer round trip (NOTES.md bug 4).
RESERVED_KEYS = frozenset({"typename"})
MAX_DEPTH = 32
MAX_BYTES = 1024 * 1024


def _walk(value: Any, path: str, depth: int, errors: dict[str, list[str]]) -> None:
    if depth > MAX_DEPTH:
        errors[path or "$root"] = [f"nested deeper than {MAX_DEPTH} levels"]
        return
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                errors[where] = ["keys must be strings"]
            elif key.startswith("$"):
                errors[where] = ["keys must not start with '$'"]
            elif key in RESERVED_KEYS:
                errors[where] = [f"'{key}' is a reserved name"]
            elif key.startswith("__"):
                errors[where] = ["keys must not start with '__'"]
            else:
                _walk(item, where, depth + 1, errors)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]", depth + 1, errors)
    elif isinstance(value, float) and not math.isfinite(value):
        errors[path or "$root"] = ["numbers must be finite"]
    elif value is not None and not isinstance(value, str | int | float | bool):
        errors[path or "$root"] = [f"{type(value).__name__} is not a JSON value"]


def check_data(data: Any, what: str = "data") -> dict[str, Any]:
    """Return `data` if it is a storable JSON object; else raise DataInvalid naming the keys."""
    if not isinstance(data, dict):
        raise DataInvalid(f"{what} must be a JSON object", {what: ["must be an object"]})
    errors: dict[str, list[str]] = {}
    _walk(data, "", 0, errors)
    if errors:
        raise DataInvalid(f"{what} cannot be stored", errors)
    if len(json.dumps(data)) > MAX_BYTES:
        raise DataInvalid(f"{what} is larger than {MAX_BYTES} bytes", {what: ["too large"]})
    return data


def check_subject(subject: Any) -> dict[str, str] | None:
    """A subject is {type, id[, title]} of strings, or None."""
    if subject is None:
        return None
    if not isinstance(subject, dict):
        raise DataInvalid("subject must be an object", {"subject": ["must be an object"]})
    errors: dict[str, list[str]] = {}
    for key in ("type", "id"):
        if not isinstance(subject.get(key), str) or not subject[key] or len(subject[key]) > 200:
            errors[f"subject.{key}"] = ["is required: a string of 1 to 200 characters"]
    if "title" in subject and not isinstance(subject["title"], str):
        errors["subject.title"] = ["must be a string"]
    unknown = set(subject) - {"type", "id", "title"}
    for key in unknown:
        errors[f"subject.{key}"] = ["unknown field"]
    if errors:
        raise DataInvalid("subject is invalid", errors)
    return {k: str(v) for k, v in subject.items()}


def to_json_text(data: dict[str, Any]) -> str:
    """JSON text of task data; values the serializer produced (dates) become strings."""
    return json.dumps(data, default=str, ensure_ascii=False)
