"""The process monitor's data: timeline bars, statistics, and the audit trail.

Bars come from the projections the engine keeps anyway (instances, human tasks, timers,
incidents), one indexed query per collection, so a window of 10,000 instances is a handful
of round trips, not one per instance.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean
from typing import Any

from bson import ObjectId
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from . import access, queries, repository
from .actor import Actor
from .errors import InvalidInput
from .jobs import Incident
from .models import HumanTask, ProcessEvent, utcnow
from .runtime import gc_paused

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
    "participants": 1,
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


def _instance_queries(window: TimelineWindow, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    # Running instances, and those that ended inside the window: two range queries, since
    # the embedded database answers an `$or` by scanning the whole collection.
    running = _instance_query(window, actor)
    if window.end > now:
        # Every instance started before now: the condition would only cost the embedded
        # database a second comparison per running instance.
        del running["started_at"]
    return [
        {**running, "ended_at": None},
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
    # 10,000 rows are some 100,000 new dicts and lists, and no cycles.
    with gc_paused():
        return _timeline(window, actor)


def _timeline(window: TimelineWindow, actor: Actor) -> dict[str, Any]:
    now = utcnow()
    held = _held_instances(window, actor, now)
    found = (
        [d for d in held if _shown(d, window)]
        if held is not None
        else [doc for query in _instance_queries(window, actor, now) for doc in _rows_of(query)]
    )
    docs = sorted(found, key=_row_order)
    truncated = len(docs) > MAX_TIMELINE_INSTANCES
    docs = docs[:MAX_TIMELINE_INSTANCES]
    ids = [d["_id"] for d in docs]
    bars_by_instance = _window_task_bars(window, ids, now)
    incidents = _incidents(ids)
    if not bars_by_instance and not incidents:  # no id hashed twice per row for nothing
        rows = [_row(doc, [], [], now) for doc in docs]
    else:
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


# ------------------------------------------------------------------ the held instances
#
# Reading 10,000 instance documents costs the embedded database about 0.7 s on an idle core
# (each is looked up, matched and projected in Python), several seconds on a loaded one,
# however few fields are asked for. So the process keeps the timeline's fields of the
# running and recently ended instances, and each timeline asks the database only for the
# instances written since the previous one: every insert and compare-and-set write of an
# instance (`engine.instances`) stamps `written_at` (indexed) just before it is sent. The
# look-back overlaps by CHANGE_MARGIN for writes still on their way; a write slower than
# that, or a change made behind the engine's back, shows at the next full read (at most
# HELD_MAX_AGE later). A window starting before the held instances ends reads the ones
# that ended in between once (up to HELD_REACH back). Only actors who see every instance
# are served from it: for anyone else the visibility rule stays in the database query.

HELD_HORIZON = timedelta(days=1)  # ended instances held at first: a day's worth
HELD_REACH = timedelta(days=31)  # how far back a window may start and still be held
HELD_MAX_AGE = timedelta(minutes=15)
CHANGE_MARGIN = timedelta(seconds=30)
HELD_LIMIT = 50_000  # more instances than this: no copy, every read goes to the database


@dataclass
class _Held:
    client: weakref.ref[MongoClient[Any]]
    database: str
    read_at: datetime  # when the last full read started
    synced_at: datetime  # when the last look-back started
    horizon: datetime  # instances that ended before this are not held
    docs: dict[ObjectId, dict[str, Any]]
    overflow: bool = False  # more than HELD_LIMIT: the database answers until the next read


log = logging.getLogger(__name__)
_held: _Held | None = None
_held_lock = threading.Lock()


def _held_instances(
    window: TimelineWindow, actor: Actor, now: datetime
) -> list[dict[str, Any]] | None:
    """The held instance documents, brought up to date; None when the window or the actor
    must be answered by the database."""
    global _held
    if not access.sees_all_instances(actor) or window.start < now - HELD_REACH:
        return None
    collection = repository.instances()
    client, name = collection.database.client, collection.database.name
    with _held_lock:
        held = _held if _current(_held, client, name, now) else None
        if held is None:
            held = _full_read(_held, client, name, now)
        elif not held.overflow:
            since = held.synced_at - CHANGE_MARGIN
            _read(held, {"written_at": {"$gte": since}})
            held.synced_at = now
        if not held.overflow and window.start < held.horizon:
            # An earlier window: the instances that ended before the held ones, once.
            _read(held, {"ended_at": {"$gte": window.start, "$lt": held.horizon}})
            held.horizon = window.start
        _held = held
        return None if held.overflow else list(held.docs.values())


def _current(held: _Held | None, client: MongoClient[Any], name: str, now: datetime) -> bool:
    return (
        held is not None
        and held.client() is client
        and held.database == name
        and held.read_at <= now < held.read_at + HELD_MAX_AGE
    )


def _full_read(previous: _Held | None, client: MongoClient[Any], name: str, now: datetime) -> _Held:
    """A new copy read in full; it keeps as much of the past as the previous one held."""
    reach = HELD_HORIZON
    if previous is not None and previous.client() is client and previous.database == name:
        reach = max(now - previous.horizon, HELD_HORIZON)
    held = _Held(weakref.ref(client), name, now, now, now - reach, {})
    _read(held, {"ended_at": None}, {"ended_at": {"$gte": held.horizon}})
    return held


def refresh_held_instances() -> None:
    """Read the held instances afresh off the request path.

    `crm serve` calls this at start and then well within HELD_MAX_AGE, so no timeline
    request pays the full read (seconds for 10,000 instances on the embedded database).
    Writes made while it reads are caught by the next request's look-back, which starts
    at the new copy's read time.
    """
    global _held
    collection = repository.instances()
    client, name = collection.database.client, collection.database.name
    now = utcnow()
    with _held_lock:
        previous = _held
    fresh = _full_read(previous, client, name, now)  # outside the lock: requests go on
    with _held_lock:
        if _held is previous or _held is None or _held.read_at < fresh.read_at:
            _held = fresh


class HeldInstancesKeeper:
    """Refreshes the held instances in a daemon thread, at start and every `every`."""

    def __init__(self, every: timedelta = HELD_MAX_AGE / 2) -> None:
        self._every = every.total_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timeline-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:  # a first round even when stopped at once
            try:
                refresh_held_instances()
            except PyMongoError as err:  # database away: the next round, or a request, reads
                log.warning("timeline copy not refreshed: %s", err)
            if self._stop.wait(self._every):
                return


def _read(held: _Held, *queries: dict[str, Any]) -> None:
    for query in queries:
        for doc in repository.instances().find(query, _INSTANCE_FIELDS).limit(HELD_LIMIT + 1):
            held.docs[doc["_id"]] = doc
    if len(held.docs) > HELD_LIMIT:
        held.docs, held.overflow = {}, True


def _shown(doc: dict[str, Any], window: TimelineWindow) -> bool:
    """The conditions of `_instance_query`, on a held document."""
    ended = doc.get("ended_at")
    subject = doc.get("subject") or {}
    return (
        doc["started_at"] < window.end
        and (ended is None or ended >= window.start)
        and (not window.process_key or doc["process_key"] == window.process_key)
        and (not window.subject_type or subject.get("type") == window.subject_type)
        and (not window.subject_id or subject.get("id") == window.subject_id)
        and (not window.user or window.user in (doc.get("participants") or ()))
    )


def _row_order(doc: dict[str, Any]) -> tuple[datetime, bytes]:
    # The id's bytes sort as the id does, without a Python-level comparison per pair.
    return doc["started_at"], doc["_id"].binary


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
    ended = doc.get("ended_at")
    open_tasks = doc.get("open_tasks")
    timers = doc.get("timers")
    if open_tasks:
        bars = bars + _open_task_bars(open_tasks, now)
    if timers:
        bars = bars + _timer_bars(doc["_id"], timers, now)
    return {
        "instance_id": str(doc["_id"]),
        "process_key": doc["process_key"],
        "version": doc["definition_version"],
        "status": doc["status"],
        "subject": doc.get("subject"),
        "started_by": doc["started_by"],
        "start": doc["started_at"],
        "end": ended or now,
        "running": ended is None,
        # From the incidents read with every timeline: the instance's own `incident` field
        # is written by background jobs without a `written_at` stamp.
        "has_incident": bool(incidents),
        "incidents": incidents,
        "bars": bars,
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
    window: TimelineWindow, instance_ids: list[ObjectId], now: datetime
) -> dict[ObjectId, list[dict[str, Any]]]:
    """Bars of the closed tasks that were alive in the window: one index range, not an
    `$in` of ids (on the embedded database 22 s for 10,000 instances). Open tasks are
    drawn from the instance documents, which the timeline reads anyway."""
    # One condition, so that the embedded database walks the (sparse) completed_at index:
    # with `created_at < end` beside it, it may walk created_at instead, i.e. every task
    # ever created. The few tasks created after the window are dropped here.
    query = {"completed_at": {"$gte": window.start}}
    result: dict[ObjectId, list[dict[str, Any]]] = {}
    wanted: set[ObjectId] | None = None
    for task in HumanTask._get_collection().find(query, _TASK_FIELDS):
        wanted = set(instance_ids) if wanted is None else wanted
        if task["instance_id"] in wanted and task["created_at"] < window.end:
            result.setdefault(task["instance_id"], []).append(_bar(task, now))
    return result


def _open_task_bars(open_tasks: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    # The hot loop of a large timeline: one literal per bar, no intermediate task dict.
    bars = []
    for t in open_tasks:
        due = t.get("due_at")
        bars.append(
            {
                "kind": "user_task",
                "id": t["guid"],
                "element": t["bpmn_id"],
                "name": t["name"],
                "status": "open",
                "performer": t.get("assignee"),
                "candidates": t.get("candidates") or [],
                "start": t.get("created_at") or now,
                "end": now,
                "due": due,
                "overdue": due is not None and now > due,
            }
        )
    return bars


def _task_bars(instance_ids: list[ObjectId], now: datetime) -> dict[ObjectId, list[dict]]:
    result: dict[ObjectId, list[dict[str, Any]]] = {}
    for task in HumanTask._get_collection().find(
        {"instance_id": {"$in": instance_ids}}, _TASK_FIELDS
    ):
        result.setdefault(task["instance_id"], []).append(_bar(task, now))
    return result


def _timer_bars(
    instance_id: ObjectId, timers: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "kind": "timer",
            "id": f"{instance_id}:{t['name']}",
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
        for t in timers
        if t.get("due")
    ]


def _incidents(instance_ids: list[ObjectId]) -> dict[ObjectId, list[dict[str, Any]]]:
    # Open incidents are few: read them all and keep those of the rows.
    wanted: set[ObjectId] | None = None
    result: dict[ObjectId, list[dict[str, Any]]] = {}
    for incident in Incident._get_collection().find({"status": {"$in": ["open", "retrying"]}}):
        wanted = set(instance_ids) if wanted is None else wanted
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
