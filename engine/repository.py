"""Storage of instances and their projections; pymongo on the hot paths."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import UpdateMany, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from . import jobs
from .errors import InstanceNotFound, VersionConflict
from .models import NO_DUE, EngineMark, HumanTask, ProcessEvent, ProcessInstance, utcnow

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


def task_with_instance(guid: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None, bool]:
    """A human task by guid, its instance, and whether the instance's projection proof is
    stored: what completing a task needs, in one round trip."""
    rows = list(
        human_tasks().aggregate(
            [
                {"$match": {"task_guid": guid}},
                {"$limit": 1},
                {
                    "$lookup": {
                        "from": instances().name,
                        "localField": "instance_id",
                        "foreignField": "_id",
                        "as": "_instance",
                    }
                },
                {
                    "$lookup": {
                        "from": events().name,
                        "localField": "_instance.projection_proof",
                        "foreignField": "_id",
                        "as": "_proof",
                    }
                },
                {"$project": {"_proof.data": 0, "_proof.subject": 0}},
            ]
        )
    )
    if not rows:
        return None, None, False
    task = rows[0]
    found = task.pop("_instance")
    proof = task.pop("_proof")
    return task, (found[0] if found else None), bool(proof)


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
                            "reassigned": False,
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
                            "reassigned": True,
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


def project(doc: dict[str, Any], *, clear: bool = False) -> None:
    """Copy an instance's changes (its outbox of events) to Job, HumanTask, ProcessEvent.

    Driven by the pending events, so its cost follows the size of the change, not of the
    instance; idempotent, so it is safe to repeat after a crash between the instance
    write and this. The events are inserted last and in order: when the last pending
    event (the write's `projection_proof`) is stored, everything before it is too, so the
    outbox needs no write of its own to say it was copied (`projected`). `clear` empties
    it anyway: a repair does, and a write that has no event to prove it.
    """
    pending = doc.get("pending_events", [])
    _schedule_jobs(doc)
    ops = _task_ops(doc, pending)
    if any(e["type"] in ("instance_suspended", "instance_resumed") for e in pending):
        ops.append(
            UpdateMany(
                {"instance_id": doc["_id"], "status": "open"},
                {"$set": {"instance_suspended": doc["status"] == "suspended"}},
            )
        )
    if doc["process_key"].startswith(LINEAR_KEY_PREFIX) and any(
        e["type"] in ENDED_EVENTS for e in pending
    ):
        # One job per instance (the key makes a repeated projection a no-op).
        jobs.enqueue("linear_cleanup", f"linear_cleanup:{doc['_id']}", None, doc["_id"])
    if ops:
        human_tasks().bulk_write(ops, ordered=True)
    if pending:
        _insert_events(pending)
    _remember_projected(doc)
    if clear or not pending:
        instances().update_one(
            {"_id": doc["_id"], "version": doc["version"]},
            {
                "$set": {
                    "projected_version": doc["version"],
                    "pending_events": [],
                    "projection_pending": False,
                }
            },
        )


def _insert_events(pending: list[dict[str, Any]]) -> None:
    try:
        events().insert_many(pending, ordered=True)
    except BulkWriteError as exc:
        # Events carry deterministic ids: a duplicate is an event copied before (a repeated
        # projection). The ordered insert stopped there; insert the rest, skipping copies.
        if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
            raise
        try:
            events().insert_many(pending, ordered=False)
        except BulkWriteError as again:
            if any(e.get("code") != 11000 for e in again.details.get("writeErrors", [])):
                raise


# (instance id, version) pairs this process copied completely: touching one of them
# again needs neither a repair nor a look at its proof. Bounded; losing it costs a read.
_PROJECTED: OrderedDict[tuple[ObjectId, int], None] = OrderedDict()
_PROJECTED_KEPT = 20_000
_PROJECTED_LOCK = threading.Lock()


def _remember_projected(doc: dict[str, Any]) -> None:
    with _PROJECTED_LOCK:
        _PROJECTED[(doc["_id"], doc["version"])] = None
        while len(_PROJECTED) > _PROJECTED_KEPT:
            _PROJECTED.popitem(last=False)


def _known_projected(doc: dict[str, Any]) -> bool:
    if not doc.get("projection_pending"):
        return True
    with _PROJECTED_LOCK:
        return (doc["_id"], doc["version"]) in _PROJECTED


def projected(doc: dict[str, Any], proof_found: bool | None = None) -> bool:
    """Whether the instance's last write was copied completely to its projections.

    `proof_found` is whether its proof event exists, when the caller read that already.
    """
    if _known_projected(doc):
        return True
    proof = doc.get("projection_proof")
    if not proof:
        return False
    if proof_found is None:
        proof_found = events().find_one({"_id": proof}, {"_id": 1}) is not None
    if proof_found:
        _remember_projected(doc)
    return proof_found


def job_keys(doc: dict[str, Any]) -> list[str]:
    """The keys of the jobs an instance needs in the state `doc` describes."""
    iid = doc["_id"]
    keys = []
    if doc["status"] == "active" and doc.get("next_timer_at") is not None:
        # One job per instance version: a later write (or a resume) schedules anew.
        keys.append(f"timer:{iid}:{doc['version']}")
    if doc["status"] in ("active", "suspended"):
        keys.extend(f"async:{iid}:{call['guid']}" for call in doc.get("async_calls") or [])
    return keys


def _schedule_jobs(doc: dict[str, Any]) -> None:
    """Jobs for the instance's next timer and its waiting async service tasks.

    The write stored the keys of the jobs the instance needs now (`job_keys`) and of those
    it needed before (`previous_job_keys`): new ones are created, pending ones it no longer
    needs (an answered deadline, a terminated instance) are deleted.
    """
    iid = doc["_id"]
    if "previous_job_keys" in doc:
        keys, before = doc.get("job_keys") or [], doc["previous_job_keys"] or []
    else:  # written before the keys were stored with the write: `job_keys` are the old ones
        keys, before = job_keys(doc), doc.get("job_keys") or []
    for key in keys:
        if key.startswith("timer:"):
            jobs.enqueue("timer", key, doc["next_timer_at"], iid)
    for call in doc.get("async_calls") or []:
        key = f"async:{iid}:{call['guid']}"
        if key in keys and key not in before:
            jobs.enqueue(
                "async_service",
                key,
                None,
                iid,
                {"guid": call["guid"], "task": call["name"], "operator": call["operator"]},
            )
    stale = [k for k in before if k not in keys]
    if stale:
        jobs.cancel_keys(stale)


# A written instance keeps `projection_pending` (clearing it would cost a write of its
# own); the repair scan reads only the writes made since its checkpoint, and their proofs.
# A write is stamped (`written_at`) just before it is sent; the checkpoint stays
# REPAIR_SETTLE behind the clock, so a write still on its way is not passed over.
REPAIR_SETTLE = timedelta(seconds=5)
_CHECKPOINT = "projection_repair"
_checkpoint: dict[str, Any] = {"at": None, "saved": None, "legacy_done": False}
_CHECKPOINT_LOCK = threading.Lock()
CHECKPOINT_SAVE_EVERY = timedelta(seconds=30)


def unprojected_instance_ids(limit: int = 100) -> list[ObjectId]:
    """Instances whose last write may not have been copied to the projections (a crash
    in between), among the writes since the checkpoint (a touch repairs any one too)."""
    since = _repair_checkpoint()
    docs = list(
        instances()
        .find(
            {"projection_pending": True, "written_at": {"$gte": since}},
            {k: 1 for k in ("version", "projection_pending", "projection_proof", "written_at")},
        )
        .sort([("written_at", 1)])
        .limit(limit)
    )
    unknown = [d for d in docs if not _known_projected(d)]
    proofs = [d["projection_proof"] for d in unknown if d.get("projection_proof")]
    found = set()
    if proofs:
        found = {e["_id"] for e in events().find({"_id": {"$in": proofs}}, {"_id": 1})}
    unproven = [d["_id"] for d in unknown if d.get("projection_proof") not in found]
    settled = utcnow() - REPAIR_SETTLE
    reached = settled if len(docs) < limit else min(docs[-1]["written_at"], settled)
    if len(docs) == limit and reached <= since:
        reached = since + timedelta(milliseconds=1)  # a page of one millisecond: move on
    _advance_checkpoint(reached)
    return unproven + _legacy_unprojected(limit)


def _legacy_unprojected(limit: int) -> list[ObjectId]:
    # Instances written before writes were stamped are cleared by their projection; one
    # left pending by a crash has no stamp. Looked for once per process.
    if _checkpoint["legacy_done"]:
        return []
    cursor = instances().find({"projection_pending": True, "written_at": None}, {"_id": 1})
    found = [d["_id"] for d in cursor.limit(limit)]
    _checkpoint["legacy_done"] = len(found) < limit
    return found


def _repair_checkpoint() -> datetime:
    with _CHECKPOINT_LOCK:
        if _checkpoint["at"] is None:
            mark = EngineMark.objects(id=_CHECKPOINT).first()
            _checkpoint["at"] = _checkpoint["saved"] = mark.at if mark else datetime(1970, 1, 1)
        return _checkpoint["at"]


def _advance_checkpoint(reached: datetime) -> None:
    with _CHECKPOINT_LOCK:
        if reached <= _checkpoint["at"]:
            return
        _checkpoint["at"] = reached
        if reached - _checkpoint["saved"] < CHECKPOINT_SAVE_EVERY:
            return  # kept in memory; a restart rescans at most this much
        _checkpoint["saved"] = reached
    EngineMark._get_collection().update_one(
        {"_id": _CHECKPOINT}, {"$max": {"at": reached}}, upsert=True
    )
