"""Read-side queries the UI needs beyond the engine's own: the mailbox with its filters and
counters, and the bars of the process monitor's timeline.

Access rules are applied inside each query (engine.access), never by dropping rows after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from accounts.models import Group, User
from engine import access, repository
from engine.actor import Actor
from engine.models import utcnow

MAILBOX_LIMIT = 200
VIEWS = ("all", "mine", "group", "overdue", "new")
SORTS = ("due", "-due", "-created")
NEW_FOR = timedelta(days=1)
BAR_EVENTS = ("task_created", "task_completed", "task_cancelled")


@dataclass
class MailboxFilter:
    """What the mailbox shows: a view (all, mine, group, overdue, new), a search, a sort."""

    view: str = "all"
    q: str = ""
    process_key: str = ""
    sort: str = "due"


def _and(*parts: dict[str, Any]) -> dict[str, Any]:
    found = [p for p in parts if p]
    if not found:
        return {}
    return found[0] if len(found) == 1 else {"$and": found}


def _view_condition(actor: Actor, view: str, now: datetime) -> dict[str, Any]:
    if view == "mine":
        return {"assignee": actor.username}
    if view == "group":
        return {"assignee": None, "candidates": {"$in": actor.principals}}
    if view == "overdue":
        return {"due_at": {"$lt": now}}
    if view == "new":
        return {"created_at": {"$gte": now - NEW_FOR}}
    return {}


def _mailbox_query(actor: Actor, where: MailboxFilter, now: datetime) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"status": "open"},
        access.inbox_filter(actor),
        _view_condition(actor, where.view, now),
    ]
    if where.process_key:
        parts.append({"process_key": where.process_key})
    text = where.q.strip()[:100]
    if text:
        pattern = {"$regex": re.escape(text), "$options": "i"}
        parts.append(
            {"$or": [{"name": pattern}, {"subject.title": pattern}, {"process_key": pattern}]}
        )
    return _and(*parts)


def mailbox(
    actor: Actor, where: MailboxFilter, now: datetime | None = None, limit: int = MAILBOX_LIMIT
) -> list[dict[str, Any]]:
    """The actor's open tasks matching the filter; by due date, undated ones last."""
    now = now or utcnow()
    query = _mailbox_query(actor, where, now)
    tasks = repository.human_tasks()
    if where.sort == "-created":
        return list(tasks.find(query).sort([("created_at", -1), ("_id", -1)]).limit(limit))
    if where.sort == "-due":
        return list(tasks.find(query).sort([("due_at", -1), ("_id", -1)]).limit(limit))
    dated = list(
        tasks.find(_and(query, {"due_at": {"$ne": None}}))
        .sort([("due_at", 1), ("_id", 1)])
        .limit(limit)
    )
    rest = limit - len(dated)
    undated = (
        list(tasks.find(_and(query, {"due_at": None})).sort([("_id", 1)]).limit(rest))
        if rest > 0
        else []
    )
    return dated + undated


def mailbox_counts(actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """How many open tasks each mailbox view holds."""
    now = now or utcnow()
    tasks = repository.human_tasks()
    return {
        view: tasks.count_documents(_mailbox_query(actor, MailboxFilter(view=view), now))
        for view in VIEWS
    }


# --------------------------------------------------------------------------- timeline


@dataclass
class Bar:
    """One task of an instance on the timeline: from creation to its end (or now)."""

    guid: str
    name: str
    start: datetime
    end: datetime | None  # None: still open
    status: str  # open | completed | cancelled
    due: datetime | None = None
    overdue: bool = False


@dataclass
class Row:
    """One instance on the timeline with its bars."""

    instance: dict[str, Any]
    bars: list[Bar] = field(default_factory=list)


def _overdue(bar: Bar, now: datetime) -> bool:
    if bar.due is None:
        return False
    return (bar.end or now) > bar.due


def timeline_rows(instances: list[dict[str, Any]], now: datetime | None = None) -> list[Row]:
    """Bars of the given instances' user tasks, built from their history events."""
    now = now or utcnow()
    ids = [doc["_id"] for doc in instances]
    rows = {doc["_id"]: Row(doc) for doc in instances}
    if not ids:
        return []
    opened: dict[str, Bar] = {}
    events = (
        repository.events()
        .find(
            {"instance_id": {"$in": ids}, "type": {"$in": list(BAR_EVENTS)}},
            {"instance_id": 1, "type": 1, "at": 1, "task_guid": 1, "task_name": 1},
        )
        .sort([("at", 1), ("_id", 1)])
    )
    for event in events:
        guid = event.get("task_guid") or ""
        row = rows.get(event["instance_id"])
        if row is None:
            continue
        if event["type"] == "task_created":
            bar = Bar(
                guid=guid,
                name=event.get("task_name") or "",
                start=event["at"],
                end=None,
                status="open",
            )
            opened[guid] = bar
            row.bars.append(bar)
        elif guid in opened:
            bar = opened.pop(guid)
            bar.end = event["at"]
            bar.status = "completed" if event["type"] == "task_completed" else "cancelled"
    due = _due_dates(ids)
    for row in rows.values():
        for bar in row.bars:
            bar.due = due.get(bar.guid)
            bar.overdue = _overdue(bar, now)
    return [rows[i] for i in ids]


def _due_dates(instance_ids: list[ObjectId]) -> dict[str, datetime]:
    found = repository.human_tasks().find(
        {"instance_id": {"$in": instance_ids}, "due_at": {"$ne": None}},
        {"task_guid": 1, "due_at": 1},
    )
    return {doc["task_guid"]: doc["due_at"] for doc in found}


@dataclass
class Principal:
    """Someone a task can go to: a user name or group:NAME, with a label to show."""

    value: str
    label: str


def executor_choices() -> list[Principal]:
    """Active people (not API clients) and the groups, for executor pickers."""
    people = User.objects(active=True, is_machine=False).only("username", "full_name", "groups")
    choices: list[Principal] = []
    groups: set[str] = set(Group.objects.distinct("name"))
    for user in people.order_by("username"):
        label = f"{user.full_name} ({user.username})" if user.full_name else user.username
        choices.append(Principal(user.username, label))
        groups.update(user.groups)
    choices.extend(Principal(f"group:{name}", f"group:{name}") for name in sorted(groups))
    return choices
