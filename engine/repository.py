"""Storage of instances and their projections; pymongo on the hot paths."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from .errors import InstanceNotFound, VersionConflict
from .models import HumanTask, ProcessEvent, ProcessInstance, utcnow


def instances() -> Collection:
    return ProcessInstance._get_collection()


def human_tasks() -> Collection:
    return HumanTask._get_collection()


def events() -> Collection:
    return ProcessEvent._get_collection()


def load_instance(instance_id: ObjectId | str) -> dict[str, Any]:
    """The stored instance document, or InstanceNotFound."""
    try:
        oid = ObjectId(instance_id)
    except Exception as exc:  # bson raises InvalidId or TypeError
        raise InstanceNotFound(f"no instance {instance_id}") from exc
    doc = instances().find_one({"_id": oid})
    if doc is None:
        raise InstanceNotFound(f"no instance {instance_id}")
    return doc


def insert_instance(doc: dict[str, Any]) -> None:
    instances().insert_one(doc)


def compare_and_set(instance_id: ObjectId, expected_version: int, changes: dict[str, Any]) -> None:
    """Write `changes` only if the stored version is still `expected_version`."""
    result = instances().update_one({"_id": instance_id, "version": expected_version},
                                    {"$set": {**changes, "version": expected_version + 1,
                                              "projection_pending": True}})
    if result.matched_count == 0:
        current = instances().find_one({"_id": instance_id}, {"version": 1})
        raise VersionConflict(
            f"instance {instance_id} was changed by someone else",
            current_version=current["version"] if current else None)


def project(doc: dict[str, Any]) -> None:
    """Copy an instance's open tasks and pending events to HumanTask and ProcessEvent.

    Idempotent, so it is safe to repeat after a crash between the instance write and this.
    """
    iid, now = doc["_id"], utcnow()
    suspended = doc["status"] == "suspended"
    ops = []
    for task in doc.get("open_tasks", []):
        ops.append(UpdateOne(
            {"task_guid": task["guid"]},
            {"$set": {"instance_id": iid, "bpmn_id": task["bpmn_id"], "name": task["name"],
                      "process_key": doc["process_key"],
                      "definition_version": doc["definition_version"],
                      "lane": task.get("lane"), "candidates": task.get("candidates", []),
                      "form": task.get("form"), "subject": doc.get("subject"),
                      "due_at": task.get("due_at"), "status": "open",
                      "instance_suspended": suspended},
             "$setOnInsert": {"assignee": task.get("assignee"),
                              "created_at": task.get("created_at", now)}},
            upsert=True))
    for event in doc.get("pending_events", []):
        if event["type"] == "task_completed":
            ops.append(UpdateOne(
                {"task_guid": event["task_guid"], "status": "open"},
                {"$set": {"status": "completed", "completed_by": event["actor"],
                          "completed_at": event["at"], "assignee": event["actor"]}}))
    if ops:
        human_tasks().bulk_write(ops, ordered=True)
    open_guids = [t["guid"] for t in doc.get("open_tasks", [])]
    human_tasks().update_many(
        {"instance_id": iid, "status": "open", "task_guid": {"$nin": open_guids}},
        {"$set": {"status": "cancelled", "completed_at": now}})
    pending = doc.get("pending_events", [])
    if pending:
        try:
            events().insert_many(pending, ordered=False)
        except BulkWriteError as exc:
            # Events carry deterministic ids: a duplicate is an event copied before a crash.
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
    instances().update_one({"_id": iid, "version": doc["version"]},
                           {"$set": {"projected_version": doc["version"], "pending_events": [],
                                     "projection_pending": False}})


def unprojected_instance_ids(limit: int = 100) -> list[ObjectId]:
    """Instances whose last write was not copied to the projections (a crash in between)."""
    cursor = instances().find({"projection_pending": True}, {"_id": 1}).limit(limit)
    return [d["_id"] for d in cursor]
