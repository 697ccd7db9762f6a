"""Queries of correspondence, with the visibility rules inside each query.

- a message: its `participants` (sender and recipients);
- an assignment: its `viewers` (issuer, executor, controller) and nobody else, admins
  included: the issuer of a parent assignment is not a viewer of a nested one;
- an order: everyone.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.collection import Collection

from engine import access
from engine.actor import Actor
from engine.models import HumanTask

from .models import (
    Assignment,
    Message,
    Notification,
    NotificationSettings,
    Order,
    OrderComment,
    OutboundEmail,
)

# Process keys whose user tasks the mailbox shows through their own records.
OWN_PROCESSES = ("assignment", "order")


def object_id(value: Any) -> ObjectId | None:
    """`value` as an ObjectId, or None when it cannot be one."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        return None


def messages() -> Collection:
    return Message._get_collection()


def assignments() -> Collection:
    return Assignment._get_collection()


def orders() -> Collection:
    return Order._get_collection()


def comments() -> Collection:
    return OrderComment._get_collection()


def notifications() -> Collection:
    return Notification._get_collection()


def notification_settings() -> Collection:
    return NotificationSettings._get_collection()


def outbound_emails() -> Collection:
    return OutboundEmail._get_collection()


def human_tasks() -> Collection:
    return HumanTask._get_collection()


# ------------------------------------------------------------------------- visibility


def message_filter(actor: Actor) -> dict[str, Any]:
    """Messages the actor may read: sent by them or to them."""
    return {"participants": actor.username}


def assignment_filter(actor: Actor) -> dict[str, Any]:
    """Assignments the actor may see: they issued, execute or control them, or the actor
    substitutes such a user now (accounts.substitutes)."""
    if actor.on_behalf_of:  # a short $in, only while a substitution runs
        return {"viewers": {"$in": [actor.username, *sorted(actor.on_behalf_of)]}}
    return {"viewers": actor.username}


def order_filter(actor: Actor) -> dict[str, Any]:
    """Orders are visible to every user."""
    return {}


def visible_message(actor: Actor, message_id: Any) -> dict[str, Any] | None:
    oid = object_id(message_id)
    return messages().find_one({"_id": oid, **message_filter(actor)}) if oid else None


def visible_assignment(actor: Actor, assignment_id: Any) -> dict[str, Any] | None:
    oid = object_id(assignment_id)
    return assignments().find_one({"_id": oid, **assignment_filter(actor)}) if oid else None


def visible_order(actor: Actor, order_id: Any) -> dict[str, Any] | None:
    oid = object_id(order_id)
    return orders().find_one({"_id": oid, **order_filter(actor)}) if oid else None


def find_page(
    coll: Collection,
    query: dict[str, Any],
    sort_field: str,
    limit: int,
    projection: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` documents, newest first by `sort_field` then id."""
    return list(coll.find(query, projection).sort([(sort_field, -1), ("_id", -1)]).limit(limit))


def open_task(instance_id: ObjectId | None, bpmn_ids: tuple[str, ...]) -> dict[str, Any] | None:
    """The open user task of an instance at one of these BPMN tasks, if any."""
    if instance_id is None:
        return None
    return human_tasks().find_one(
        {"instance_id": instance_id, "status": "open", "bpmn_id": {"$in": list(bpmn_ids)}}
    )


def inbox_task_filter(actor: Actor) -> dict[str, Any]:
    """Open user tasks of other procedures in the actor's inbox (the engine's rule)."""
    return {
        "status": "open",
        **access.inbox_filter(actor),
        "process_key": {"$nin": list(OWN_PROCESSES)},
    }
