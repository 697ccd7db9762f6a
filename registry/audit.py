"""The audit log of the directories: every change records who, when and what changed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bson import ObjectId
from mongoengine import Document, EmbeddedDocument

from engine.actor import Actor
from engine.models import utcnow

from .models import AuditEvent


def plain(value: Any) -> Any:
    """A JSON-friendly copy of a stored value (ids, dates and decimals become strings)."""
    if isinstance(value, EmbeddedDocument):
        return {k: plain(getattr(value, k)) for k in value._fields}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, ObjectId | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(doc: Document, fields: Iterable[str]) -> dict[str, Any]:
    """The plain values of `fields` of `doc`."""
    return {f: plain(getattr(doc, f)) for f in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose plain value differs: {field: {"from": old, "to": new}}."""
    return {
        k: {"from": before.get(k), "to": after.get(k)}
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


def created(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The changes of a creation: every non-empty field, from None."""
    return {
        k: {"from": None, "to": v} for k, v in sorted(values.items()) if v not in (None, "", [], {})
    }


def event(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any,
    organization_id: Any = None,
    changes: dict[str, Any] | None = None,
    batch: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """An unsaved audit event (bulk writers insert many at once)."""
    return AuditEvent(
        object_type=object_type,
        object_id=str(object_id),
        organization_id=str(organization_id) if organization_id else None,
        action=action,
        actor=actor.username,
        at=at or utcnow(),
        changes=changes or {},
        batch=batch,
    )


def record(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any,
    organization_id: Any = None,
    changes: dict[str, Any] | None = None,
    batch: str | None = None,
) -> AuditEvent:
    """Append one audit event."""
    entry = event(actor, action, object_type, object_id, organization_id, changes, batch)
    entry.save(force_insert=True)
    return entry


def insert_many(events: list[AuditEvent]) -> None:
    """Append many audit events in one round trip."""
    if events:
        AuditEvent._get_collection().insert_many(
            [e.to_mongo().to_dict() for e in events], ordered=False
        )
