"""The process monitor's data: timeline bars, statistics, and the audit trail.

Bars come from the projections the engine keeps anyway (instances, human tasks, timers,
incidents), one indexed query per collection, so a window of 10,000 instances is a handful
of round trips, not one per instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean
from typing import Any

from bson import ObjectId

from . import access, queries, repository
from .actor import Actor
from .errors import InvalidInput
from .jobs import Incident
from .models import HumanTask, ProcessEvent, utcnow

MAX_TIMELINE_INSTANCES = 10_000
_INSTANCE_FIELDS = {
    "process_key": 1,
    "definition_version": 1,
    "status": 1,
    "subject": 1,
    "started_by": 1,
    "started_at": 1,
    "ended_at": 1,
    "timers": 1,
    "incident": 1,
    **{
        f"open_tasks.{f}": 1
        for f in ("guid", "bpmn_id", "name", "assignee", "candidates", "created_at", "due_at")
    },
}


@dataclass
class TimelineWindow:
    """Which instances a timeline shows: those running at any moment of [start, end)."""

    start: datetime
    end: datetime
    process_key: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    user: str | None = None


def _check(window: TimelineWindow) -> None:
    if window.end <= window.start:
        raise InvalidInput("the window ends before it starts", {"to": ["must be after from"]})
    if window.end - window.start > timedelta(days=3660):
        raise InvalidInput("the window is longer than ten years", {"to": ["too far"]})


def _instance_queries(window: TimelineWindow, actor: Actor) -> list[dict[str, Any]]:
    # Running instances, and those that ended inside the window: two range queries, since
    # the embedded database answers an `$or` by scanning the whole collection.
    return [
        {**_instance_query(window, actor), "ended_at": None},
        {**_instance_query(window, actor), "ended_at": {"$gte": window.start}},
    ]


def _instance_query(window: TimelineWindow, actor: Actor) -> dict[str, Any]:
    conditions: dict[str, Any] = {"started_at": {"$lt": window.end}}
    if window.process_key:
        conditions["process_key"] = window.process_key
    if window.subject_type:
        conditions["subject.type"] = window.subject_type
    if window.subject_id:
        conditions["subject.id"] = window.subject_id
    if window.user:
        conditions["participants"] = window.user
    return {**conditions, **access.instance_filter(actor)}


def timeline(window: TimelineWindow, actor: Actor) -> dict[str, Any]:
    """Instances as rows and their works as bars, for a Gantt chart."""
    _check(window)
    now = utcnow()
    docs = sorted(
        (doc for query in _instance_queries(window, actor) for doc in _rows_of(query)),
        key=lambda d: (d["started_at"], d["_id"]),
    )
    truncated = len(docs) > MAX_TIMELINE_INSTANCES
    docs = docs[:MAX_TIMELINE_INSTANCES]
    ids = [d["_id"] for d in docs]
    bars_by_instance = _window_task_bars(window, set(ids), now)
    incidents = _incidents(ids)
    rows = [
        _row(doc, bars_by_instance.get(doc["_id"], []), incidents.get(doc["_id"], []), now)
        for doc in docs
    ]
    return {
        "from": window.start,
        "to": window.end,
        "now": now,
        "rows": rows,
        "truncated": truncated,
    }


def _rows_of(query: dict[str, Any]) -> list[dict[str, Any]]:
    # Sorting in the database costs the embedded one a third more; it is only needed to
    # choose which rows to keep when there are too many.
    limit = MAX_TIMELINE_INSTANCES + 1
    found = list(repository.instances().find(query, _INSTANCE_FIELDS).limit(limit))
    if len(found) == limit:
        found = list(
            repository.instances().find(query, _INSTANCE_FIELDS).sort("started_at", 1).limit(limit)
        )
    return found


def _row(
    doc: dict[str, Any], bars: list[dict[str, Any]], incidents: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    return {
        "instance_id": str(doc["_id"]),
        "process_key": doc["process_key"],
        "version": doc["definition_version"],
        "status": doc["status"],
        "subject": doc.get("subject"),
        "started_by": doc["started_by"],
        "start": doc["started_at"],
        "end": doc.get("ended_at") or now,
        "running": doc.get("ended_at") is None,
        "has_incident": bool(doc.get("incident")),
        "incidents": incidents,
        "bars": bars + _open_task_bars(doc, now) + _timer_bars(doc, now),
    }


_TASK_FIELDS = {
    "instance_id": 1,
    "task_guid": 1,
    "bpmn_id": 1,
    "name": 1,
    "assignee": 1,
    "candidates": 1,
    "created_at": 1,
    "completed_at": 1,
    "completed_by": 1,
    "due_at": 1,
    "status": 1,
}


def _bar(task: dict[str, Any], now: datetime) -> dict[str, Any]:
    end = task.get("completed_at") or now
    due = task.get("due_at")
    return {
        "kind": "user_task",
        "id": task["task_guid"],
        "element": task["bpmn_id"],
        "name": task["name"],
        "status": task["status"],
        "performer": task.get("completed_by") or task.get("assignee"),
        "candidates": task.get("candidates", []),
        "start": task["created_at"],
        "end": end,
        "due": due,
        "overdue": bool(due and end > due),
    }


def _window_task_bars(
    window: TimelineWindow, instance_ids: set[ObjectId], now: datetime
) -> dict[ObjectId, list[dict[str, Any]]]:
    """Bars of the closed tasks that were alive in the window: one index range, not an
    `$in` of ids (on the embedded database 22 s for 10,000 instances). Open tasks are
    drawn from the instance documents, which the timeline reads anyway."""
    query = {"completed_at": {"$gte": window.start}, "created_at": {"$lt": window.end}}
    result: dict[ObjectId, list[dict[str, Any]]] = {}
    for task in HumanTask._get_collection().find(query, _TASK_FIELDS):
        if task["instance_id"] in instance_ids:
            result.setdefault(task["instance_id"], []).append(_bar(task, now))
    return result


def _open_task_bars(doc: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    return [
        _bar(
            {
                "task_guid": t["guid"],
                "bpmn_id": t["bpmn_id"],
                "name": t["name"],
                "status": "open",
                "assignee": t.get("assignee"),
                "candidates": t.get("candidates"),
                "created_at": t.get("created_at", now),
                "due_at": t.get("due_at"),
            },
            now,
        )
        for t in doc.get("open_tasks") or []
    ]


def _task_bars(instance_ids: list[ObjectId], now: datetime) -> dict[ObjectId, list[dict]]:
    result: dict[ObjectId, list[dict[str, Any]]] = {}
    for task in HumanTask._get_collection().find(
        {"instance_id": {"$in": instance_ids}}, _TASK_FIELDS
    ):
        result.setdefault(task["instance_id"], []).append(_bar(task, now))
    return result


def _timer_bars(doc: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "kind": "timer",
            "id": f"{doc['_id']}:{t['name']}",
            "element": t["name"],
            "name": t["name"],
            "status": "waiting",
            "performer": None,
            "candidates": [],
            "start": now,
            "end": t["due"],
            "due": t["due"],
            "overdue": False,
        }
        for t in doc.get("timers") or []
        if t.get("due")
    ]


def _incidents(instance_ids: list[ObjectId]) -> dict[ObjectId, list[dict[str, Any]]]:
    # Open incidents are few: read them all and keep those of the rows.
    wanted = set(instance_ids)
    result: dict[ObjectId, list[dict[str, Any]]] = {}
    for incident in Incident._get_collection().find({"status": {"$in": ["open", "retrying"]}}):
        if incident.get("instance_id") in wanted:
            result.setdefault(incident["instance_id"], []).append(
                {
                    "id": str(incident["_id"]),
                    "error": incident["error"],
                    "task": incident.get("task"),
                    "at": incident["created_at"],
                }
            )
    return result


def instance_timeline(instance_id: str, actor: Actor) -> dict[str, Any]:
    """One instance's bars (its user tasks, timers and incidents) and its history."""
    oid = queries.visible_instance(instance_id, actor)["_id"]
    now = utcnow()
    doc = repository.instances().find_one({"_id": oid}, _INSTANCE_FIELDS) or {}
    closed = [b for b in _task_bars([oid], now).get(oid, []) if b["status"] != "open"]
    row = _row(doc, closed, _incidents([oid]).get(oid, []), now)
    events = list(
        ProcessEvent._get_collection()
        .find({"instance_id": oid})
        .sort([("at", 1), ("_id", 1)])
        .limit(queries.MAX_EVENTS)
    )
    return {"instance": row, "events": events}


# --------------------------------------------------------------------------- statistics


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def process_statistics(actor: Actor, process_key: str | None = None) -> list[dict[str, Any]]:
    """Per process and version: started, running, completed, durations, overdue, incidents."""
    visibility = access.instance_filter(actor)
    match: dict[str, Any] = {"process_key": process_key} if process_key else {}
    query = {"$and": [match, visibility]} if visibility else match
    stats: dict[tuple[str, int], dict[str, Any]] = {}
    durations: dict[tuple[str, int], list[float]] = {}
    fields = {
        "process_key": 1,
        "definition_version": 1,
        "status": 1,
        "started_at": 1,
        "ended_at": 1,
        "incident": 1,
    }
    for doc in repository.instances().find(query, fields):
        key = (doc["process_key"], doc["definition_version"])
        row = stats.setdefault(
            key,
            {
                "process_key": key[0],
                "version": key[1],
                "started": 0,
                "running": 0,
                "completed": 0,
                "terminated": 0,
                "suspended": 0,
                "incidents": 0,
                "tasks_overdue": 0,
            },
        )
        row["started"] += 1
        status = doc["status"]
        row["running" if status == "active" else status] = (
            row.get("running" if status == "active" else status, 0) + 1
        )
        row["incidents"] += 1 if doc.get("incident") else 0
        if status == "completed" and doc.get("ended_at"):
            durations.setdefault(key, []).append(
                (doc["ended_at"] - doc["started_at"]).total_seconds()
            )
    overdue = HumanTask._get_collection().aggregate(
        [
            {
                "$match": {
                    "status": "open",
                    "due_at": {"$lt": utcnow()},
                    **({"process_key": process_key} if process_key else {}),
                }
            },
            {
                "$group": {
                    "_id": {"k": "$process_key", "v": "$definition_version"},
                    "n": {"$sum": 1},
                }
            },
        ]
    )
    for item in overdue:
        key = (item["_id"]["k"], item["_id"]["v"])
        if key in stats:
            stats[key]["tasks_overdue"] = item["n"]
    for key, row in stats.items():
        values = durations.get(key, [])
        row["avg_duration_seconds"] = mean(values) if values else None
        row["p90_duration_seconds"] = _percentile(values, 0.9)
    return sorted(stats.values(), key=lambda r: (r["process_key"], -r["version"]))


def user_statistics(username: str) -> dict[str, Any]:
    """A user's open, overdue and this week's completed tasks."""
    now = utcnow()
    week = now - timedelta(
        days=now.weekday(),
        hours=now.hour,
        minutes=now.minute,
        seconds=now.second,
        microseconds=now.microsecond,
    )
    tasks = HumanTask._get_collection()
    return {
        "username": username,
        "open": tasks.count_documents({"status": "open", "assignee": username}),
        "overdue": tasks.count_documents(
            {"status": "open", "assignee": username, "due_at": {"$lt": now}}
        ),
        "completed_this_week": tasks.count_documents(
            {"status": "completed", "completed_by": username, "completed_at": {"$gte": week}}
        ),
    }


# ------------------------------------------------------------------------------- audit


@dataclass
class AuditFilter:
    """Conditions of the audit trail; None means any."""

    instance_id: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    actor: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit(where: AuditFilter, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Events of instances the actor may see, newest first (the log is append-only)."""
    conditions: dict[str, Any] = {}
    if where.instance_id:
        conditions["instance_id"] = queries.visible_instance(where.instance_id, actor)["_id"]
    elif not access.sees_all_instances(actor):
        visible = repository.instances().find(access.instance_filter(actor), {"_id": 1})
        conditions["instance_id"] = {"$in": [d["_id"] for d in visible.limit(10_000)]}
    for field, value in (
        ("subject.type", where.subject_type),
        ("subject.id", where.subject_id),
        ("actor", where.actor),
        ("type", where.type),
    ):
        if value:
            conditions[field] = value
    at: dict[str, Any] = {}
    if where.since:
        at["$gte"] = where.since
    if where.until:
        at["$lt"] = where.until
    if at:
        conditions["at"] = at
    return list(
        ProcessEvent._get_collection()
        .find(conditions)
        .sort([("at", -1), ("_id", -1)])
        .limit(max(1, min(limit, 1000)))
    )
