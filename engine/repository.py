"""Storage of instances and their projections; pymongo on the hot paths."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import UpdateMany, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from . import jobs
from .errors import InstanceNotFound, VersionConflict
from .models import NO_DUE, HumanTask, ProcessEvent, ProcessInstance

# Process keys of linear procedures (engine.linear_procedures): their private definition is
# removed by a `linear_cleanup` job once the instance has ended.
LINEAR_KEY_PREFIX = "linear_"
ENDED_EVENTS = ("instance_completed", "instance_terminated")


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
    result = instances().update_one(
        {"_id": instance_id, "version": expected_version},
        {"$set": {**changes, "version": expected_version + 1, "projection_pending": True}},
    )
    if result.matched_count == 0:
        current = instances().find_one({"_id": instance_id}, {"version": 1})
        raise VersionConflict(
            f"instance {instance_id} was changed by someone else",
            current_version=current["version"] if current else None,
        )


def _task_fields(doc: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    return {
        "instance_id": doc["_id"],
        "bpmn_id": task["bpmn_id"],
        "name": task["name"],
        "process_key": doc["process_key"],
        "definition_version": doc["definition_version"],
        "lane": task.get("lane"),
        "candidates": task.get("candidates", []),
        "form": task.get("form"),
        "subject": doc.get("subject"),
        "due_at": task.get("due_at"),
        "due_sort": task.get("due_at") or NO_DUE,
        "instance_suspended": doc["status"] == "suspended",
    }


def _owners(task: dict[str, Any]) -> list[str]:
    """Whose inbox lists the task: its assignee, or its candidates until one claims it."""
    return [task["assignee"]] if task.get("assignee") else list(task.get("candidates") or [])


def _task_ops(doc: dict[str, Any], pending: list[dict[str, Any]]) -> list[UpdateOne | UpdateMany]:
    """HumanTask writes for the changes the pending events describe, in order."""
    open_tasks = {t["guid"]: t for t in doc.get("open_tasks", [])}
    ops: list[UpdateOne | UpdateMany] = []
    for event in pending:
        guid, kind = event.get("task_guid"), event["type"]
        if kind == "task_created":
            task = open_tasks.get(guid) or {
                "guid": guid,
                "name": event.get("task_name") or "",
                "bpmn_id": event["data"].get("bpmn_id", ""),
            }
            ops.append(
                UpdateOne(
                    {"task_guid": guid},
                    {
                        "$set": _task_fields(doc, task),
                        "$setOnInsert": {
                            "status": "open",
                            "assignee": task.get("assignee"),
                            "owners": _owners(task),
                            "created_at": task.get("created_at", event["at"]),
                        },
                    },
                    upsert=True,
                )
            )
        elif kind == "task_completed":
            ops.append(
                UpdateOne(
                    {"task_guid": guid, "status": "open"},
                    {
                        "$set": {
                            "status": "completed",
                            "completed_by": event["actor"],
                            "completed_at": event["at"],
                            "assignee": event["actor"],
                        }
                    },
                )
            )
        elif kind == "message_sent":
            # Routed by a job, so the receiver gets it exactly once (the job key is the
            # message id) even if this projection runs twice.
            jobs.enqueue(
                "message",
                f"message:{event['_id']}",
                None,
                doc["_id"],
                {k: event["data"].get(k) for k in ("name", "correlation_key", "payload")},
            )
        elif kind in ("repair_reassign_task", "task_reassigned"):  # repair, delegation
            data = event["data"]
            ops.append(
                UpdateOne(
                    {"task_guid": data["task"], "status": "open"},
                    {
                        "$set": {
                            "assignee": data["assignee"],
                            "candidates": data["candidates"],
                            "owners": _owners(data),
                        }
                    },
                )
            )
        elif kind == "task_cancelled":
            ops.append(
                UpdateOne(
                    {"task_guid": guid, "status": "open"},
                    {"$set": {"status": "cancelled", "completed_at": event["at"]}},
                )
            )
    return ops


def project(doc: dict[str, Any]) -> None:
    """Copy an instance's changes (its outbox of events) to HumanTask, ProcessEvent, Job.

    Driven by the pending events, so its cost follows the size of the change, not of the
    instance; idempotent, so it is safe to repeat after a crash between the instance
    write and this.
    """
    pending = doc.get("pending_events", [])
    ops = _task_ops(doc, pending)
    if any(e["type"] in ("instance_suspended", "instance_resumed") for e in pending):
        ops.append(
            UpdateMany(
                {"instance_id": doc["_id"], "status": "open"},
                {"$set": {"instance_suspended": doc["status"] == "suspended"}},
            )
        )
    if ops:
        human_tasks().bulk_write(ops, ordered=True)
    if pending:
        try:
            events().insert_many(pending, ordered=False)
        except BulkWriteError as exc:
            # Events carry deterministic ids: a duplicate is an event copied before a crash.
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
    job_keys = _schedule_jobs(doc)
    if doc["process_key"].startswith(LINEAR_KEY_PREFIX) and any(
        e["type"] in ENDED_EVENTS for e in pending
    ):
        # One job per instance (the key makes a repeated projection a no-op).
        jobs.enqueue("linear_cleanup", f"linear_cleanup:{doc['_id']}", None, doc["_id"])
    instances().update_one(
        {"_id": doc["_id"], "version": doc["version"]},
        {
            "$set": {
                "projected_version": doc["version"],
                "pending_events": [],
                "projection_pending": False,
                "job_keys": job_keys,
            }
        },
    )


def _schedule_jobs(doc: dict[str, Any]) -> list[str]:
    """Jobs for the instance's next timer and its waiting async service tasks.

    Returns the keys of the jobs the instance needs now; pending jobs it needed before and
    no longer does (an answered deadline, a terminated instance) are deleted.
    """
    iid = doc["_id"]
    keys = []
    if doc["status"] == "active" and doc.get("next_timer_at") is not None:
        # One job per instance version: a later write (or a resume) schedules anew.
        key = f"timer:{iid}:{doc['version']}"
        jobs.enqueue("timer", key, doc["next_timer_at"], iid)
        keys.append(key)
    if doc["status"] in ("active", "suspended"):
        for call in doc.get("async_calls") or []:
            key = f"async:{iid}:{call['guid']}"
            if key not in (doc.get("job_keys") or []):
                jobs.enqueue(
                    "async_service",
                    key,
                    None,
                    iid,
                    {"guid": call["guid"], "task": call["name"], "operator": call["operator"]},
                )
            keys.append(key)
    stale = [k for k in doc.get("job_keys") or [] if k not in keys]
    if stale:
        jobs.cancel_keys(stale)
    return keys


def unprojected_instance_ids(limit: int = 100) -> list[ObjectId]:
    """Instances whose last write was not copied to the projections (a crash in between)."""
    cursor = instances().find({"projection_pending": True}, {"_id": 1}).limit(limit)
    return [d["_id"] for d in cursor]
