"""Auto-start rules: a domain event (an object created, or reaching a stage) starts the
processes whose latest deployed version declares a matching rule (engine.process_extensions).

Domain services call `fire(object_type, event, subject, values, actor, stage=...)` after
the change is stored. Each rule starts exactly one instance per event: the instance id is
derived from the object, the event, the stage and the process key, and `instances.start`
with a given id starts nothing new when that instance exists — firing twice (a retried
request, two workers) still makes one instance. A rule can be switched off per process key
(`set_enabled`), e.g. while an office still registers by hand. A failing start never fails
the domain operation: it is logged, the object stays created.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from bson import ObjectId
from mongoengine import BooleanField, DateTimeField, Document, StringField

from . import instances, process_extensions, sandbox
from .actor import Actor
from .errors import DefinitionNotFound, EngineError
from .models import ProcessDefinition, ProcessInstance, utcnow

log = logging.getLogger(__name__)


class AutoStartSwitch(Document):
    """Whether a process's auto-start rules are on (absent: on)."""

    key = StringField(primary_key=True)  # the process key
    enabled = BooleanField(required=True, default=True)
    changed_by = StringField(default="")
    changed_at = DateTimeField(default=utcnow)

    meta = {"collection": "auto_start_switches"}


MODELS = (AutoStartSwitch,)


def instance_id(object_type: str, object_id: str, event: str, stage: str, key: str) -> ObjectId:
    """The id of the one instance a rule of process `key` starts for this event."""
    raw = f"autostart:{object_type}:{object_id}:{event}:{stage}:{key}"
    return ObjectId(hashlib.sha256(raw.encode()).digest()[:12])


def started_for(
    object_type: str, object_id: str, event: str, key: str, stage: str = ""
) -> str | None:
    """The id of the instance of `key` an event of this object auto-started, if any."""
    oid = instance_id(object_type, str(object_id), event, stage, key)
    return str(oid) if ProcessInstance.objects(id=oid).only("id").first() else None


def set_enabled(key: str, enabled: bool, actor: Actor) -> dict[str, Any]:
    """Switch the auto-start rules of process `key` on or off; return its rules and state."""
    rules = rules_of(key)  # DefinitionNotFound for an unknown key
    AutoStartSwitch.objects(key=key).update_one(
        set__enabled=enabled,
        set__changed_by=actor.username,
        set__changed_at=utcnow(),
        upsert=True,
    )
    return {"key": key, "enabled": enabled, "rules": rules}


def is_enabled(key: str) -> bool:
    """Whether the auto-start rules of process `key` are on."""
    found = AutoStartSwitch.objects(key=key).first()
    return found is None or bool(found.enabled)


def rules_of(key: str) -> list[dict[str, Any]]:
    """The auto-start rules of the latest version of process `key`."""
    found = (
        ProcessDefinition.objects(kind="bpmn", key=key, removed_at=None)
        .only("auto_start")
        .order_by("-version")
        .first()
    )
    if found is None:
        raise DefinitionNotFound(f"no deployed process {key}")
    return [dict(rule) for rule in found.auto_start or []]


def state(key: str) -> dict[str, Any]:
    """A process's rules and whether they are on."""
    return {"key": key, "enabled": is_enabled(key), "rules": rules_of(key)}


def _matches(rule: dict[str, Any], object_type: str, event: str, stage: str) -> bool:
    if rule.get("object_type") != object_type or rule.get("event") != event:
        return False
    return not (event == "stage" and rule.get("stage") and rule["stage"] != stage)


def _holds(condition: str, values: dict[str, Any], key: str) -> bool:
    if not condition:
        return True
    try:
        return bool(sandbox.evaluate(condition, dict(values)))
    except Exception:  # a designer's expression: a failure means "no start", and is logged
        log.warning("auto-start condition %r of %s failed", condition, key, exc_info=True)
        return False


def fire(
    object_type: str,
    event: str,
    subject: dict[str, Any],
    values: dict[str, Any],
    actor: Actor,
    stage: str = "",
) -> list[str]:
    """Start the processes whose rules match this event; return the instance ids (new or
    started before by the same event)."""
    object_id = str(subject.get("id") or "")
    if not object_id:
        return []
    started: list[str] = []
    for key, rules in process_extensions.listening(object_type).items():
        rule = next((r for r in rules if _matches(r, object_type, event, stage)), None)
        if rule is None or not is_enabled(key):
            continue
        if not _holds(str(rule.get("condition") or ""), values, key):
            continue
        variables = {
            **values,
            "auto_start": {"object_type": object_type, "event": event, "stage": stage},
        }
        try:
            doc = instances.start(
                key,
                actor,
                variables,
                subject=subject,
                instance_id=instance_id(object_type, object_id, event, stage, key),
            )
        except EngineError:
            log.exception("auto-start of %s for %s %s failed", key, object_type, object_id)
            continue
        started.append(str(doc["_id"]))
    return started
