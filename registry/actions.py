"""Actions: logged interactions with an organization (calls, meetings, e-mails, visits).

Whoever may read an organization may log an action on it; its author and the
organization's writers may change or archive it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mongoengine.errors import NotUniqueError

from accounts.access import read_filter
from engine.actor import Actor
from engine.clock import naive_utc
from engine.models import utcnow

from . import action_counts, audit, organizations
from .common import (
    FieldErrors,
    check_length,
    ensure_active,
    field_error,
    filter_id,
    load_readable,
    merge_filters,
    object_id,
    reference_id,
    save_changed,
    stamp_created,
    text,
)
from .errors import ActionNotFound, ObjectNotFound, RegistryForbidden
from .models import ACTION_KINDS, Action, Contact
from .pagination import Page, Sort, paginate, pick_sort, sorts

EDITABLE = ("contact", "kind", "by", "at", "subject", "content", "result", "follow_up_on")
AUDITED = ("organization", *EDITABLE)
SORTS = sorts(Sort("-at", "at", descending=True), Sort("at", "at"))


def clean(values: dict[str, Any], actor: Actor) -> tuple[dict[str, Any], FieldErrors]:
    """Normalized action fields and the field errors found (no database access)."""
    errors = FieldErrors()
    out: dict[str, Any] = {k: text(values.get(k)) for k in ("kind", "subject", "content", "result")}
    out["by"] = text(values.get("by")) or actor.username
    if out["kind"] not in ACTION_KINDS:
        errors.add("kind", f"one of: {', '.join(ACTION_KINDS)}")
    check_length(errors, "subject", out["subject"], 300)
    check_length(errors, "content", out["content"])
    check_length(errors, "result", out["result"])
    check_length(errors, "by", out["by"], 64)
    at = values.get("at") or utcnow()
    if not isinstance(at, datetime):
        errors.add("at", "must be a date and time")
    out["at"] = naive_utc(at) if isinstance(at, datetime) else None
    follow_up = values.get("follow_up_on")
    if follow_up is not None and not isinstance(follow_up, date):
        errors.add("follow_up_on", "must be a date")
    out["follow_up_on"] = follow_up
    contact = values.get("contact")
    out["contact"] = reference_id(contact, "contact", errors) if contact else None
    return out, errors


def _check_contact(values: dict[str, Any], organization_id: Any) -> None:
    if (
        values["contact"]
        and not Contact.objects(id=values["contact"], organization=organization_id).count()
    ):
        raise field_error(
            "contact", "no such contact at this organization", "the action has invalid fields"
        )


def create(
    actor: Actor,
    values: dict[str, Any],
    instance_id: str | None = None,
    source_key: str | None = None,
) -> Action:
    """Log an action on an organization the actor may read."""
    org = organizations.parent(actor, values.get("organization"), write=False)
    if source_key:
        done = Action.objects(source_key=source_key).first()
        if done is not None:
            return done
    cleaned, errors = clean(values, actor)
    errors.raise_if_any("the action has invalid fields")
    _check_contact(cleaned, org.id)
    action = Action(
        organization=org.id,
        access=org.access,
        instance_id=instance_id,
        source_key=source_key,
        **cleaned,
    )
    stamp_created(action, actor)
    try:
        with action_counts.changing([action.at]):
            action.save(force_insert=True)
    except NotUniqueError:
        found = Action.objects(source_key=source_key).first()
        if found is None:
            raise
        return found
    audit.record(
        actor,
        "created",
        "action",
        action.id,
        org.id,
        audit.created(audit.snapshot(action, AUDITED)),
    )
    return action


def get(actor: Actor, action_id: Any) -> Action:
    """An action the actor may read."""
    oid = object_id(action_id, ActionNotFound, "action")
    return load_readable(Action, oid, actor, ActionNotFound, "action")


def _ensure_editable(actor: Actor, action: Action) -> None:
    if action.created_by == actor.username or action.by == actor.username:
        return
    try:
        organizations.get_writable(actor, action.organization)
    except (ObjectNotFound, RegistryForbidden) as exc:
        raise RegistryForbidden(
            "only its author or the organization's writers may change an action"
        ) from exc


def update(
    actor: Actor, action_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Action:
    """Change the given fields of an action."""
    action = get(actor, action_id)
    _ensure_editable(actor, action)
    ensure_active(action, "action")
    before = audit.snapshot(action, AUDITED)
    current = {k: getattr(action, k) for k in EDITABLE}
    cleaned, errors = clean({**current, **changes}, actor)
    errors.raise_if_any("the action has invalid fields")
    _check_contact(cleaned, action.organization)
    for key, value in cleaned.items():
        setattr(action, key, value)
    changed = audit.diff(before, audit.snapshot(action, AUDITED))
    if not changed:
        return action
    with action_counts.changing([current["at"], action.at]):
        save_changed(action, actor, expected_version)
    audit.record(actor, "updated", "action", action.id, action.organization, changed)
    return action


def archive(actor: Actor, action_id: Any) -> Action:
    """Archive (soft-delete) an action."""
    action = get(actor, action_id)
    _ensure_editable(actor, action)
    if action.archived:
        return action
    action.archived, action.archived_by, action.archived_at = True, actor.username, utcnow()
    with action_counts.changing([action.at]):
        save_changed(action, actor)
    audit.record(
        actor,
        "archived",
        "action",
        action.id,
        action.organization,
        {"archived": {"from": False, "to": True}},
    )
    return action


def find(
    actor: Actor,
    *,
    organization: str | None = None,
    contact: str | None = None,
    kind: str | None = None,
    by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    archived: bool | None = False,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Action]:
    """Actions the actor may read that match the filters, newest first."""
    parts: list[dict[str, Any]] = [f for f in (read_filter(actor),) if f]
    if archived is not None:
        parts.append({"archived": archived})
    if organization:
        parts.append({"organization": filter_id(organization, "organization")})
    if contact:
        parts.append({"contact": filter_id(contact, "contact")})
    if kind:
        parts.append({"kind": kind})
    if by:
        parts.append({"by": by})
    if since:
        parts.append({"at": {"$gte": naive_utc(since)}})
    if until:
        parts.append({"at": {"$lt": naive_utc(until)}})
    where = merge_filters(*parts)
    return paginate(Action, where, pick_sort(SORTS, sort, "-at"), limit, cursor)


def latest(organization_id: Any, limit: int = 20) -> list[Action]:
    """The latest actions of an organization (its card)."""
    return list(
        Action.objects(organization=organization_id, archived=False)
        .order_by("-at", "-id")
        .limit(limit)
    )
