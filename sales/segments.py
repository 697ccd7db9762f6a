"""Segments: saved filters over organizations or their contacts, evaluated in the database.

A segment's conditions are ANDed: tags (any of), region (of the legal address), industry
(the custom attribute `industry`), responsible manager, last action before/after a date,
deals standing in a pipeline's stage, contracts amount at least. Conditions on other
collections (actions, deals, contracts) are aggregated first into organization ids; every
query carries the actor's access filter, so a segment shows each user what they may read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bson import ObjectId
from mongoengine import DictField, StringField

from accounts.access import read_filter
from engine.actor import Actor
from registry import search
from registry.common import (
    FieldErrors,
    check_length,
    ensure_active,
    merge_filters,
    object_id,
    save_changed,
    stamp_created,
    text,
    texts,
    to_minor,
)
from registry.errors import ObjectNotFound, RegistryForbidden, RegistryInvalid
from registry.models import Action, Contact, Contract, Organization, Tracked

from . import pipelines
from .models import Deal

TARGETS = ("organizations", "contacts")
CONDITIONS = (
    "tags",
    "region",
    "industry",
    "responsible",
    "last_action_before",
    "last_action_after",
    "deal_pipeline",
    "deal_stage",
    "contracts_amount_min",
)


class SegmentNotFound(ObjectNotFound):
    code = "segment_not_found"


class Segment(Tracked):
    """A named, saved filter; its members are computed when asked for."""

    name = StringField(required=True)
    target = StringField(required=True, choices=TARGETS)
    conditions = DictField()
    owner = StringField(required=True)

    meta = {"collection": "sales_segments", "indexes": [{"fields": ["owner"]}]}


def _day(value: Any, field: str, errors: FieldErrors) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        parsed = date.fromisoformat(str(value))
    except ValueError:
        errors.add(f"conditions.{field}", "a date YYYY-MM-DD")
        return None
    return datetime(parsed.year, parsed.month, parsed.day)


def clean_conditions(raw: Any, actor: Actor) -> dict[str, Any]:
    """Conditions from input, stored in a plain form (dates as ISO text, money in kopecks)."""
    errors = FieldErrors()
    if not isinstance(raw, dict):
        errors.add("conditions", "must be an object")
        errors.raise_if_any("the segment has invalid conditions")
    for key in raw:
        if key not in CONDITIONS:
            errors.add(f"conditions.{key}", f"unknown; one of: {', '.join(CONDITIONS)}")
    out: dict[str, Any] = {}
    tags = texts(raw.get("tags") if isinstance(raw.get("tags"), list) else [raw.get("tags")])
    if tags:
        out["tags"] = tags
    for key in ("region", "industry", "responsible", "deal_pipeline", "deal_stage"):
        value = text(raw.get(key))
        check_length(errors, f"conditions.{key}", value, 200)
        if value:
            out[key] = value
    for key in ("last_action_before", "last_action_after"):
        day = _day(raw.get(key), key, errors)
        if day is not None:
            out[key] = day.date().isoformat()
    if bool(out.get("deal_stage")) != bool(out.get("deal_pipeline")):
        errors.add("conditions.deal_stage", "give both deal_pipeline and deal_stage")
    elif out.get("deal_pipeline"):
        try:
            pipeline = pipelines.get(actor, out["deal_pipeline"])
        except ObjectNotFound:
            errors.add("conditions.deal_pipeline", "no such pipeline")
        else:
            if pipeline.stage(out["deal_stage"]) is None:
                errors.add("conditions.deal_stage", "no such stage in the pipeline")
    if raw.get("contracts_amount_min") not in (None, ""):
        out["contracts_amount_min"] = to_minor(
            raw["contracts_amount_min"], "conditions.contracts_amount_min", errors
        )
    errors.raise_if_any("the segment has invalid conditions")
    return out


def organization_filter(actor: Actor, conditions: dict[str, Any]) -> dict[str, Any]:
    """The pymongo filter of the organizations matching cleaned `conditions` that the
    actor reads."""
    access = read_filter(actor)
    parts: list[dict[str, Any]] = []
    if conditions.get("tags"):
        parts.append({"tag_keys": {"$in": search.lower_keys(conditions["tags"])}})
    for key, field in (
        ("region", "legal_address.region"),
        ("industry", "attributes.industry"),
        ("responsible", "responsible"),
    ):
        if conditions.get(key):
            parts.append({field: conditions[key]})
    ids: set[ObjectId] | None = None
    for found in _linked_ids(actor, conditions, access):
        ids = found if ids is None else ids & found
    if ids is not None:
        parts.append({"_id": {"$in": sorted(ids)}})
    parts += [{"archived": False}, access]
    return merge_filters(*parts)


def _linked_ids(
    actor: Actor, conditions: dict[str, Any], access: dict[str, Any]
) -> list[set[ObjectId]]:
    """Organization ids per condition on another collection (actions, deals, contracts)."""
    found: list[set[ObjectId]] = []
    before, after = conditions.get("last_action_before"), conditions.get("last_action_after")
    if before or after:
        last: dict[str, Any] = {}
        if before:
            last["$lt"] = datetime.fromisoformat(before)
        if after:
            last["$gte"] = datetime.fromisoformat(after)
        rows = Action._get_collection().aggregate(
            [
                {"$match": merge_filters({"archived": False}, access)},
                {"$group": {"_id": "$organization", "last": {"$max": "$at"}}},
                {"$match": {"last": last}},
            ]
        )
        found.append({row["_id"] for row in rows})
    if conditions.get("deal_pipeline"):
        pipeline = pipelines.get(actor, conditions["deal_pipeline"])
        where = merge_filters(
            {"pipeline": pipeline.id, "stage": conditions["deal_stage"], "archived": False},
            access,
        )
        found.append(set(Deal._get_collection().distinct("organization", where)))
    if conditions.get("contracts_amount_min") is not None:
        rows = Contract._get_collection().aggregate(
            [
                {"$match": merge_filters({"archived": False}, access)},
                {"$group": {"_id": "$organization", "amount": {"$sum": "$amount_minor"}}},
                {"$match": {"amount": {"$gte": conditions["contracts_amount_min"]}}},
            ]
        )
        found.append({row["_id"] for row in rows})
    return found


def members(
    actor: Actor, target: str, conditions: dict[str, Any], limit: int = 200
) -> dict[str, Any]:
    """How many organizations (or their contacts) match conditions as a user gives them
    (checked here), and the first `limit` of them: a segment tried before it is saved."""
    if target not in TARGETS:
        raise RegistryInvalid("unknown target", {"target": [f"one of: {', '.join(TARGETS)}"]})
    return _members(actor, target, clean_conditions(conditions, actor), limit)


def _members(actor: Actor, target: str, conditions: dict[str, Any], limit: int) -> dict[str, Any]:
    where = organization_filter(actor, conditions)
    orgs = Organization._get_collection()
    if target == "organizations":
        count = orgs.count_documents(where)
        items = list(Organization.objects(__raw__=where).order_by("sort_name").limit(limit))
        return {"count": count, "items": items}
    ids = list(orgs.distinct("_id", where))
    contact_where = merge_filters(
        {"organization": {"$in": ids}, "archived": False}, read_filter(actor)
    )
    count = Contact._get_collection().count_documents(contact_where)
    items = list(Contact.objects(__raw__=contact_where).order_by("sort_name").limit(limit))
    return {"count": count, "items": items}


def create(actor: Actor, values: dict[str, Any]) -> Segment:
    """Save a segment (its owner is the actor)."""
    errors = FieldErrors()
    name, target = text(values.get("name")), text(values.get("target")) or "organizations"
    if not name:
        errors.add("name", "is required")
    check_length(errors, "name", name, 200)
    if target not in TARGETS:
        errors.add("target", f"one of: {', '.join(TARGETS)}")
    errors.raise_if_any("the segment has invalid fields")
    segment = Segment(
        name=name,
        target=target,
        conditions=clean_conditions(values.get("conditions") or {}, actor),
        owner=actor.username,
    )
    stamp_created(segment, actor)
    segment.save(force_insert=True)
    return segment


def get(actor: Actor, segment_id: Any) -> Segment:
    """A segment (segments are shared: everyone signed in reads them)."""
    found = Segment.objects(id=object_id(segment_id, SegmentNotFound, "segment")).first()
    if found is None:
        raise SegmentNotFound(f"no segment {segment_id}")
    return found


def update(
    actor: Actor, segment_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Segment:
    """Rename a segment or replace its conditions (its owner or an admin)."""
    segment = get(actor, segment_id)
    ensure_active(segment, "segment")
    if not (actor.is_admin or segment.owner == actor.username):
        raise RegistryForbidden("only its owner changes a segment")
    if "name" in changes:
        name = text(changes["name"])
        errors = FieldErrors()
        if not name:
            errors.add("name", "is required")
        check_length(errors, "name", name, 200)
        errors.raise_if_any("the segment has invalid fields")
        segment.name = name
    if "conditions" in changes:
        segment.conditions = clean_conditions(changes["conditions"], actor)
    save_changed(segment, actor, expected_version)
    return segment


def find(actor: Actor) -> list[Segment]:
    """Every segment, by name."""
    return list(Segment.objects(archived=False).order_by("name").limit(500))


def evaluate(actor: Actor, segment_id: Any, limit: int = 200) -> dict[str, Any]:
    """A saved segment's members the actor may read."""
    segment = get(actor, segment_id)
    return {"segment": segment, **_members(actor, segment.target, segment.conditions, limit)}
