"""Task forms: declared in BPMN as <crm:form>, checked when a task is completed.

<bpmn:userTask id="record_call" name="Record the call">
  <bpmn:extensionElements>
    <crm:form>
      <crm:field id="subject" type="string" label="Subject" label.ru="Тема" required="true"/>
      <crm:field id="result" type="enum" label="Result">
        <crm:option value="done" label="Done" label.ru="Решено"/>
      </crm:field>
    </crm:form>
  </bpmn:extensionElements>
</bpmn:userTask>
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from lxml import etree

from .xml import CRM_NS

FIELD_TYPES = (
    "string",
    "text",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "enum",
    "email",
    "json",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_TEXT = 100_000


def _labels(node: etree._Element) -> dict[str, str]:
    labels = {}
    for attr, value in node.attrib.items():
        if attr.startswith("label."):
            labels[attr.split(".", 1)[1]] = value
    return labels


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def parse_form(task_node: etree._Element, errors: list[str]) -> dict[str, Any] | None:
    """Read the <crm:form> of a user task element; append problems to `errors`."""
    form_node = task_node.find(f".//{{{CRM_NS}}}form")
    if form_node is None:
        return None
    task_id = task_node.get("id")
    fields: list[dict[str, Any]] = []
    seen: set[str] = set()
    for node in form_node.findall(f"{{{CRM_NS}}}field"):
        fid = node.get("id") or ""
        where = f"task {task_id}, field {fid or '?'}"
        if not _ID.match(fid):
            errors.append(f"{where}: id must be a Python identifier")
            continue
        if fid in seen:
            errors.append(f"{where}: duplicate field id")
        seen.add(fid)
        ftype = node.get("type", "string")
        if ftype not in FIELD_TYPES:
            errors.append(f"{where}: unknown type {ftype!r} (one of {', '.join(FIELD_TYPES)})")
        field: dict[str, Any] = {
            "id": fid,
            "type": ftype,
            "label": node.get("label", fid),
            "labels": _labels(node),
            "required": _bool(node.get("required")),
        }
        for attr, conv in (("min", float), ("max", float), ("maxLength", int)):
            raw = node.get(attr)
            if raw is not None:
                try:
                    field[attr] = conv(raw)
                except ValueError:
                    errors.append(f"{where}: {attr} must be a number")
        if node.get("pattern"):
            try:
                re.compile(node.get("pattern", ""))
                field["pattern"] = node.get("pattern")
            except re.error as exc:
                errors.append(f"{where}: bad pattern: {exc}")
        if node.get("default") is not None:
            field["default"] = node.get("default")
        if ftype == "enum":
            options = [
                {
                    "value": o.get("value", ""),
                    "label": o.get("label", o.get("value", "")),
                    "labels": _labels(o),
                }
                for o in node.findall(f"{{{CRM_NS}}}option")
            ]
            if not options:
                errors.append(f"{where}: an enum field needs <crm:option> children")
            field["options"] = options
        fields.append(field)
    form: dict[str, Any] = {"fields": fields}
    text = form_node.find(f"{{{CRM_NS}}}text")
    if text is not None and (text.text or "").strip():
        form["text"] = text.text  # instructions shown above the fields
    return form


def _check(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    """Convert one submitted value; return (value, error message or None)."""
    ftype = field["type"]
    if ftype in ("string", "text", "email"):
        if not isinstance(value, str):
            return value, "must be a string"
        limit = field.get("maxLength", MAX_TEXT)
        if len(value) > limit:
            return value, f"must be at most {limit} characters"
        if ftype == "email" and value and not _EMAIL.match(value):
            return value, "must be an e-mail address"
        if "pattern" in field and value and not re.fullmatch(field["pattern"], value):
            return value, "has the wrong format"
        return value, None
    if ftype == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return value, "must be an integer"
    elif ftype == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value, "must be a number"
    elif ftype == "boolean":
        return value, None if isinstance(value, bool) else "must be true or false"
    elif ftype == "date":
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return value, "must be a date (YYYY-MM-DD)"
        return value, None
    elif ftype == "datetime":
        try:
            datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return value, "must be a date and time (ISO 8601)"
        return value, None
    elif ftype == "enum":
        allowed = [o["value"] for o in field.get("options", [])]
        return value, None if value in allowed else f"must be one of: {', '.join(allowed)}"
    else:  # json: any JSON value
        return value, None
    if "min" in field and value < field["min"]:
        return value, f"must be at least {field['min']:g}"
    if "max" in field and value > field["max"]:
        return value, f"must be at most {field['max']:g}"
    return value, None


def validate_form_data(form: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, list[str]]:
    """Check submitted data against a form; return field → messages (empty when valid)."""
    if form is None:
        return {}
    errors: dict[str, list[str]] = {}
    known = {f["id"]: f for f in form["fields"]}
    for key in data:
        if key not in known:
            errors[key] = ["unknown field"]
    for fid, field in known.items():
        value = data.get(fid)
        if value is None or (value == "" and field["type"] != "boolean"):
            if field["required"]:
                errors[fid] = ["is required"]
            continue
        _, message = _check(field, value)
        if message:
            errors[fid] = [message]
    return errors
