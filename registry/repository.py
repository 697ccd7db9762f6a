"""Queries of the directories that more than one service needs; pymongo where it is bulk."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bson import ObjectId
from mongoengine import Document

from accounts.access import AccessList, principals
from engine.actor import Actor
from engine.models import HumanTask, ProcessInstance

from . import action_counts
from .models import (
    Action,
    AuditEvent,
    Contact,
    Contract,
    Delivery,
    Invoice,
    Supplier,
)

LINKED: list[type[Document]] = [Contact, Action, Contract, Invoice, Delivery, Supplier]
RUNNING = ("active", "suspended")


def link_to_organizations(model: type[Document]) -> None:
    """Have `copy_access` keep `model`'s copies of the organization's access list too
    (packages above registry, e.g. sales, register their linked documents here)."""
    if model not in LINKED:
        LINKED.append(model)


def copy_access(organization_id: ObjectId, access: AccessList) -> None:
    """Give every object linked to an organization the organization's access list."""
    value = access.to_mongo().to_dict()
    # The monthly action counts carry the actions' readers: those months are rebuilt.
    with action_counts.changing(action_counts.months_of_organization(organization_id)):
        for model in LINKED:
            model._get_collection().update_many(
                {"organization": organization_id}, {"$set": {"access": value}}
            )


def copy_sort_name(organization_id: ObjectId, sort_name: str) -> None:
    """Keep a supplier ordered by its organization's name."""
    Supplier._get_collection().update_many(
        {"organization": organization_id}, {"$set": {"sort_name": sort_name}}
    )


def as_datetime(day: date | None) -> datetime | None:
    """A date as the midnight datetime BSON stores it as."""
    return datetime(day.year, day.month, day.day) if day else None


def invoice_totals(organization_id: ObjectId, today: date) -> dict[str, dict[str, int]]:
    """Per contract role: invoiced, paid and overdue-unpaid sums in minor units, and counts."""
    midnight = as_datetime(today)
    pipeline: list[dict[str, Any]] = [
        {
            "$match": {
                "organization": organization_id,
                "archived": False,
                "status": {"$ne": "cancelled"},
            }
        },
        {
            "$group": {
                "_id": "$role",
                "count": {"$sum": 1},
                "issued": {"$sum": "$amount_minor"},
                "paid": {"$sum": "$paid_minor"},
                "overdue": {
                    "$sum": {
                        "$cond": [
                            {
                                "$and": [
                                    {"$ne": ["$status", "paid"]},
                                    {"$gt": ["$due_on", None]},
                                    {"$lt": ["$due_on", midnight]},
                                ]
                            },
                            {"$subtract": ["$amount_minor", "$paid_minor"]},
                            0,
                        ]
                    }
                },
                "overdue_count": {
                    "$sum": {
                        "$cond": [
                            {
                                "$and": [
                                    {"$ne": ["$status", "paid"]},
                                    {"$gt": ["$due_on", None]},
                                    {"$lt": ["$due_on", midnight]},
                                ]
                            },
                            1,
                            0,
                        ]
                    }
                },
            }
        },
    ]
    rows = Invoice._get_collection().aggregate(pipeline)
    return {
        row["_id"]: {
            k: int(row[k]) for k in ("count", "issued", "paid", "overdue", "overdue_count")
        }
        for row in rows
    }


def contract_totals(organization_id: ObjectId) -> dict[str, dict[str, int]]:
    """Per contract role: the number of contracts, of active ones, and their sum (minor)."""
    pipeline: list[dict[str, Any]] = [
        {"$match": {"organization": organization_id, "archived": False}},
        {
            "$group": {
                "_id": "$role",
                "count": {"$sum": 1},
                "amount": {"$sum": "$amount_minor"},
                "active": {
                    "$sum": {
                        "$cond": [{"$in": ["$stage", ["approval", "signed", "in_force"]]}, 1, 0]
                    }
                },
                "active_amount": {
                    "$sum": {
                        "$cond": [
                            {"$in": ["$stage", ["approval", "signed", "in_force"]]},
                            "$amount_minor",
                            0,
                        ]
                    }
                },
            }
        },
    ]
    rows = Contract._get_collection().aggregate(pipeline)
    return {
        row["_id"]: {k: int(row[k]) for k in ("count", "amount", "active", "active_amount")}
        for row in rows
    }


def subject_filter(organization_id: ObjectId, linked: dict[str, list[ObjectId]]) -> dict[str, Any]:
    """Engine records whose subject is the organization or one of its objects."""
    arms: list[dict[str, Any]] = [
        {"subject.type": "organization", "subject.id": str(organization_id)}
    ]
    for kind, ids in linked.items():
        if ids:
            arms.append({"subject.type": kind, "subject.id": {"$in": [str(i) for i in ids]}})
    return arms[0] if len(arms) == 1 else {"$or": arms}


def running_processes(
    actor: Actor, subjects: dict[str, Any], limit: int = 50
) -> list[dict[str, Any]]:
    """Running instances on these subjects that the actor took part in (admins: all)."""
    where: dict[str, Any] = {**subjects, "status": {"$in": list(RUNNING)}}
    if not actor.is_admin:
        where = {"$and": [where, {"participants": {"$in": actor.principals}}]}
    cursor = (
        ProcessInstance._get_collection()
        .find(
            where,
            {
                "process_key": 1,
                "definition_version": 1,
                "status": 1,
                "subject": 1,
                "started_by": 1,
                "started_at": 1,
                "open_tasks": 1,
            },
        )
        .sort([("started_at", -1)])
        .limit(limit)
    )
    return list(cursor)


def open_tasks(actor: Actor, subjects: dict[str, Any], limit: int = 50) -> list[dict[str, Any]]:
    """Open user tasks on these subjects assigned or offered to the actor (admins: all)."""
    # HumanTask has no index on subject; instances have one, and tasks one on instance_id.
    ids = [
        d["_id"]
        for d in ProcessInstance._get_collection().find(
            {**subjects, "status": {"$in": list(RUNNING)}}, {"_id": 1}
        )
    ]
    if not ids:
        return []
    where: dict[str, Any] = {"instance_id": {"$in": ids}, "status": "open"}
    if not actor.is_admin:
        where["$or"] = [{"assignee": actor.username}, {"candidates": {"$in": principals(actor)}}]
    cursor = (
        HumanTask._get_collection()
        .find(
            where,
            {
                "task_guid": 1,
                "name": 1,
                "bpmn_id": 1,
                "process_key": 1,
                "instance_id": 1,
                "assignee": 1,
                "candidates": 1,
                "due_at": 1,
                "created_at": 1,
                "subject": 1,
            },
        )
        .sort([("created_at", -1)])
        .limit(limit)
    )
    return list(cursor)


def audit_trail(object_type: str, object_id: str, limit: int = 200) -> list[AuditEvent]:
    """The audit events of one object, newest first."""
    return list(
        AuditEvent.objects(object_type=object_type, object_id=object_id)
        .order_by("-at", "-id")
        .limit(limit)
    )


def organization_trail(organization_id: str, limit: int = 200) -> list[AuditEvent]:
    """The audit events of an organization and of its linked objects, newest first."""
    return list(
        AuditEvent.objects(organization_id=organization_id).order_by("-at", "-id").limit(limit)
    )
