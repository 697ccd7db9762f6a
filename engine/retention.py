"""Retention: completed instances give up their workflow state after a period.

The instance document stays (status, subject, variables, dates) and so do its history
events and tasks, so everything a person reads about it remains; the serialized workflow
moves to `process_instance_archive`. An instance under legal hold is never archived, and
nothing is ever deleted here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from . import jobs, queries, repository
from .actor import Actor
from .errors import NotAllowed
from .models import ProcessEvent, utcnow

DEFAULT_DAYS = 365


def _archive() -> Any:
    return ProcessEvent._get_db()["process_instance_archive"]


def archive_completed(older_than: datetime, limit: int = 500) -> int:
    """Archive the state of instances that ended before `older_than`; return how many."""
    candidates = (
        repository.instances()
        .find(
            {
                "status": {"$in": ["completed", "terminated"]},
                "ended_at": {"$lt": older_than},
                "archived": {"$ne": True},
                "legal_hold": {"$ne": True},
            },
            {"state": 1, "serializer_version": 1, "engine_version": 1},
        )
        .limit(limit)
    )
    done = 0
    for doc in candidates:
        # Copy first, then drop: a crash in between leaves the state in both places.
        _archive().replace_one({"_id": doc["_id"]}, {**doc, "archived_at": utcnow()}, upsert=True)
        repository.instances().update_one(
            {"_id": doc["_id"], "legal_hold": {"$ne": True}},
            {"$set": {"archived": True, "state": "", "archived_at": utcnow()}},
        )
        done += 1
    return done


def state_of(doc: dict[str, Any]) -> str:
    """The workflow state of an instance, from the archive once it was archived."""
    if doc.get("state") or not doc.get("archived"):
        return str(doc.get("state", ""))
    archived = _archive().find_one({"_id": doc["_id"]}, {"state": 1})
    return str(archived["state"]) if archived else ""


def set_legal_hold(instance_id: str, actor: Actor, hold: bool, reason: str) -> dict[str, Any]:
    """Put an instance under legal hold (or release it); admins only, recorded."""
    if not actor.is_admin:
        raise NotAllowed("only admins set or release a legal hold")
    oid = queries.visible_instance(instance_id, actor)["_id"]
    now = utcnow()
    repository.instances().update_one({"_id": oid}, {"$set": {"legal_hold": hold}})
    doc = repository.instances().find_one({"_id": oid}, {"process_key": 1, "subject": 1}) or {}
    ProcessEvent._get_collection().insert_one(
        {
            "_id": f"{oid}:hold:{ObjectId()}",
            "instance_id": oid,
            "process_key": doc.get("process_key", ""),
            "subject": doc.get("subject"),
            "type": "legal_hold_set" if hold else "legal_hold_released",
            "at": now,
            "actor": actor.username,
            "task_guid": None,
            "task_name": None,
            "data": {"reason": reason},
        }
    )
    return {"instance_id": str(oid), "legal_hold": hold}


def plan_daily(days: int, now: datetime | None = None) -> None:
    """Make sure tomorrow's archiving run is planned (one job per day)."""
    now = now or utcnow()
    tomorrow = (now + timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
    jobs.enqueue(
        "retention", f"retention:{tomorrow.date().isoformat()}", tomorrow, payload={"days": days}
    )


@jobs.handler("retention")
def _run(job: jobs.Job) -> None:
    days = int(job.payload.get("days", DEFAULT_DAYS))
    while archive_completed(utcnow() - timedelta(days=days)):
        pass
    plan_daily(days)
