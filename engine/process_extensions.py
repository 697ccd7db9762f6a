"""A process's own extension elements: auto-start rules and reference documents.

    <bpmn:process id="document_registration" isExecutable="true">
      <bpmn:extensionElements>
        <crm:autoStart objectType="document" event="created" condition="kind == 'incoming'"/>
        <crm:autoStart objectType="card" event="stage" stage="executed"/>
        <crm:reference type="document" code="instruction" title="Records office instruction"/>
      </bpmn:extensionElements>

An auto-start rule starts the process when a domain object of `objectType` is created
(`event="created"`) or reaches a stage (`event="stage"`, any stage unless `stage` names
one), if the sandboxed `condition` holds over the object's values (engine.autostart).
A reference names a directory object (a regulation, a form) by `id` or `code`; the
performers of the process's tasks see the list with each task.
"""

from __future__ import annotations

import time
from typing import Any

from lxml import etree

from . import sandbox
from .models import ProcessDefinition
from .xml import BPMN_NS, CRM_NS

EVENTS = ("created", "stage")
MAX_RULES = 20
MAX_REFERENCES = 50


def _extensions(root: etree._Element, process_id: str) -> list[etree._Element]:
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") == process_id:
            found = process.find(f"{{{BPMN_NS}}}extensionElements")
            return list(found) if found is not None else []
    return []


def read_rules(root: etree._Element, process_id: str, errors: list[str]) -> list[dict[str, Any]]:
    """The process's auto-start rules; problems go to `errors`."""
    rules: list[dict[str, Any]] = []
    for node in _extensions(root, process_id):
        if node.tag != f"{{{CRM_NS}}}autoStart":
            continue
        where = f"process {process_id}: crm:autoStart"
        object_type = (node.get("objectType") or "").strip()
        event = (node.get("event") or "created").strip()
        stage = (node.get("stage") or "").strip()
        condition = (node.get("condition") or "").strip()
        if not object_type:
            errors.append(f"{where}: objectType is required")
            continue
        if event not in EVENTS:
            errors.append(f"{where}: event must be one of {', '.join(EVENTS)}, not {event!r}")
            continue
        if stage and event != "stage":
            errors.append(f"{where}: a stage is given only with event='stage'")
            continue
        if condition:
            try:
                sandbox.compile_expression(condition)
            except sandbox.SandboxError as exc:
                errors.append(f"{where}: condition: {exc}")
                continue
        rules.append(
            {"object_type": object_type, "event": event, "stage": stage, "condition": condition}
        )
    if len(rules) > MAX_RULES:
        errors.append(f"process {process_id}: at most {MAX_RULES} auto-start rules")
    return rules


def read_references(
    root: etree._Element, process_id: str, errors: list[str]
) -> list[dict[str, str]]:
    """The directory objects the process's performers should see; problems go to `errors`."""
    found: list[dict[str, str]] = []
    for node in _extensions(root, process_id):
        if node.tag != f"{{{CRM_NS}}}reference":
            continue
        kind = (node.get("type") or "").strip()
        ref_id = (node.get("id") or "").strip()
        code = (node.get("code") or "").strip()
        if not kind or not (ref_id or code):
            errors.append(f"process {process_id}: crm:reference needs a type and an id or a code")
            continue
        found.append(
            {
                "type": kind,
                "id": ref_id,
                "code": code,
                "title": (node.get("title") or "").strip()[:300],
            }
        )
    if len(found) > MAX_REFERENCES:
        errors.append(f"process {process_id}: at most {MAX_REFERENCES} references")
    return found


# Which processes listen to an object type, remembered for a second (a deploy in this
# process forgets it at once; other processes see a new version at most this late, as
# with engine.definitions' latest-version cache): a document created costs no lookup.
RULES_TTL_SECONDS = 1.0
_listening: dict[str, tuple[float, dict[str, list[dict[str, Any]]]]] = {}


def forget_rules() -> None:
    """Forget the remembered rules (after a deploy, or a database reset in tests)."""
    _listening.clear()


def listening(object_type: str) -> dict[str, list[dict[str, Any]]]:
    """Process key → the auto-start rules of its latest version, for the processes whose
    latest version has rules for `object_type`."""
    hit = _listening.get(object_type)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    keys = {
        d.key
        for d in ProcessDefinition.objects(auto_start_types=object_type, removed_at=None).only(
            "key"
        )
    }
    found: dict[str, list[dict[str, Any]]] = {}
    for key in sorted(keys):
        latest = (
            ProcessDefinition.objects(kind="bpmn", key=key, removed_at=None)
            .only("auto_start")
            .order_by("-version")
            .first()
        )
        rules = [dict(r) for r in (latest.auto_start or [])] if latest is not None else []
        if any(r.get("object_type") == object_type for r in rules):
            found[key] = rules
    _listening[object_type] = (time.monotonic() + RULES_TTL_SECONDS, found)
    return found


def references_of(process_key: str, version: int) -> list[dict[str, str]]:
    """The reference documents of one deployed version of a process."""
    found = (
        ProcessDefinition.objects(kind="bpmn", key=process_key, version=version)
        .only("references")
        .first()
    )
    return [dict(r) for r in (found.references or [])] if found is not None else []
