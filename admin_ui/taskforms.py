"""Task forms in HTML: fields to render from a form definition (engine.forms), and the
submitted HTML form turned back into typed task data for the engine to check."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from .i18n import form_message, label_of

INPUT_TYPES = {
    "string": "text",
    "email": "email",
    "integer": "number",
    "number": "number",
    "date": "date",
    "datetime": "datetime-local",
}


@dataclass
class FieldView:
    """One field as the template draws it."""

    id: str
    type: str
    label: str
    required: bool
    value: Any
    input_type: str = "text"
    options: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


def _attrs(spec: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if spec["type"] in ("integer", "number"):
        attrs["step"] = "1" if spec["type"] == "integer" else "any"
        for key in ("min", "max"):
            if key in spec:
                attrs[key] = f"{spec[key]:g}"
    if "maxLength" in spec:
        attrs["maxlength"] = spec["maxLength"]
    if "pattern" in spec and spec["type"] in ("string", "email"):
        attrs["pattern"] = spec["pattern"]
    if spec.get("required") and spec["type"] != "boolean":
        attrs["required"] = True
    return attrs


def _shown(spec: dict[str, Any], value: Any) -> Any:
    if value is None:
        value = spec.get("default")
    if spec["type"] == "boolean":
        return value is True or str(value).lower() in ("true", "1", "yes", "on")
    if spec["type"] == "json" and value is not None and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, indent=2)
    if spec["type"] == "datetime" and isinstance(value, str):
        return value[:16]
    return "" if value is None else value


def field_views(
    form: dict[str, Any] | None, values: dict[str, Any], errors: dict[str, list[str]]
) -> list[FieldView]:
    """The fields of a task form with their values and translated messages."""
    views = []
    for spec in (form or {}).get("fields", []):
        views.append(
            FieldView(
                id=spec["id"],
                type=spec["type"],
                label=label_of(spec, spec["id"]),
                required=bool(spec.get("required")),
                value=_shown(spec, values.get(spec["id"])),
                input_type=INPUT_TYPES.get(spec["type"], "text"),
                options=[(o["value"], label_of(o, o["value"])) for o in spec.get("options", [])],
                errors=[form_message(str(m)) for m in errors.get(spec["id"], [])],
                attrs=_attrs(spec),
            )
        )
    return views


def _convert(spec: dict[str, Any], raw: str) -> tuple[Any, str | None]:
    kind = spec["type"]
    if kind == "integer":
        try:
            return int(raw), None
        except ValueError:
            return raw, "must be an integer"
    if kind == "number":
        try:
            number = float(raw.replace(",", "."))
        except ValueError:
            return raw, "must be a number"
        return (
            int(number) if number.is_integer() and "." not in raw and "," not in raw else number
        ), None
    if kind == "json":
        try:
            return json.loads(raw), None
        except ValueError:
            return raw, "must be valid JSON"
    return raw, None


def parse_submission(
    form: dict[str, Any] | None, submitted: MultiDict[str, str]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Task data from a submitted HTML form, and messages for values that do not convert."""
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for spec in (form or {}).get("fields", []):
        fid = spec["id"]
        if spec["type"] == "boolean":
            data[fid] = submitted.get(fid) in ("on", "true", "1", "yes")
            continue
        raw = (
            (submitted.get(fid) or "").strip()
            if spec["type"] != "text"
            else (submitted.get(fid) or "")
        )
        if raw.strip() == "":
            continue
        value, problem = _convert(spec, raw)
        if problem:
            errors[fid] = [problem]
        data[fid] = value
    return data, errors
