"""The mailbox: one list of a user's messages, assignments, orders and other tasks.

Each kind is read from its own collection with its own visibility rule in the query; the
lists are merged newest first with one keyset cursor over (time, kind, id), so a page
needs one indexed query per kind. Counters come from one aggregation per kind.

What each kind contributes:
- message: received and not archived;
- assignment: the user issues, executes or controls it (open ones unless `closed`);
- order: the user issued it, executes it or follows it (open ones unless `closed`);
- task: a user task of any other procedure in the user's inbox (assigned to them, or
  offered to them or their groups and unclaimed): every such task is work in the mailbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.collection import Collection

from engine.actor import Actor
from engine.models import utcnow

from . import assignments, links, messages, orders, pagination, repository
from .errors import MailInvalid
from .models import FINAL_STATUSES

KINDS = ("assignment", "message", "order", "task")
FLAGS = ("unread", "overdue", "under_control")


@dataclass(frozen=True)
class Source:
    """One kind of mailbox item: where it lives and how its filters read."""

    kind: str
    collection: Callable[[], Collection]
    at: str  # the field items are sorted by
    base: Callable[[Actor, bool], dict[str, Any]]  # (actor, closed too) -> condition
    flags: Callable[[Actor, datetime], dict[str, dict[str, Any]]]  # flag -> condition
    item: Callable[[dict[str, Any], Actor, datetime], dict[str, Any]]
    projection: dict[str, Any]


def _open_only(closed: bool) -> dict[str, Any]:
    return {} if closed else {"status": {"$nin": list(FINAL_STATUSES)}}


def _message_item(doc: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    return {
        "kind": "message",
        "id": str(doc["_id"]),
        "title": doc["subject"],
        "from": doc["sender"],
        "at": doc["created_at"],
        "due_at": None,
        "status": None,
        "unread": actor.username not in doc.get("read_by", []),
        "overdue": False,
        "under_control": False,
        "attachments": len(doc.get("attachments", [])),
        "link": links.message(doc["_id"]),
    }


def _assignment_item(doc: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    return {
        "kind": "assignment",
        "id": str(doc["_id"]),
        "title": doc["title"],
        "from": doc["issuer"],
        "at": doc["updated_at"],
        "due_at": doc["due_at"],
        "status": doc["status"],
        "unread": actor.username not in doc.get("read_by", []),
        "overdue": assignments.is_overdue(doc, now),
        "under_control": bool(doc.get("under_control")),
        "attachments": len(doc.get("attachments", [])),
        "roles": [r for r in assignments.ROLES if doc.get(r) == actor.username],
        "link": links.assignment(doc["_id"]),
    }


def _order_item(doc: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    return {
        "kind": "order",
        "id": str(doc["_id"]),
        "title": doc["title"],
        "from": doc["issuer"],
        "at": doc["updated_at"],
        "due_at": doc["due_at"],
        "status": doc["status"],
        "unread": actor.username not in doc.get("read_by", []),
        "overdue": doc["status"] in orders.WORKING and doc["due_at"] < now,
        "under_control": False,
        "attachments": len(doc.get("attachments", [])),
        "link": links.order(doc["_id"]),
    }


def _task_item(doc: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    subject = doc.get("subject") or {}
    title = doc.get("name") or doc["bpmn_id"]
    if subject.get("title"):
        title = f"{title}: {subject['title']}"
    due = doc.get("due_at")
    return {
        "kind": "task",
        "id": doc["task_guid"],
        "title": title,
        "from": doc["process_key"],
        "at": doc["created_at"],
        "due_at": due,
        "status": doc["status"],
        "unread": False,
        "overdue": due is not None and due < now,
        "under_control": False,
        "attachments": 0,
        "link": links.task(doc["task_guid"]),
    }


def _sources() -> dict[str, Source]:
    return {
        "message": Source(
            "message",
            repository.messages,
            "created_at",
            lambda actor, closed: messages.folder_filter(actor, "inbox"),
            lambda actor, now: {"unread": {"read_by": {"$ne": actor.username}}},
            _message_item,
            {"body": 0, "body_text": 0, "words": 0},
        ),
        "assignment": Source(
            "assignment",
            repository.assignments,
            "updated_at",
            lambda actor, closed: {**repository.assignment_filter(actor), **_open_only(closed)},
            lambda actor, now: {
                "unread": {"read_by": {"$ne": actor.username}},
                "overdue": assignments.overdue_filter(now),
                "under_control": {"under_control": True},
            },
            _assignment_item,
            {"text": 0, "words": 0, "history": 0},
        ),
        "order": Source(
            "order",
            repository.orders,
            "updated_at",
            lambda actor, closed: {"involved": actor.username, **_open_only(closed)},
            lambda actor, now: {
                "unread": {"read_by": {"$ne": actor.username}},
                "overdue": orders.overdue_filter(now),
            },
            _order_item,
            {"text": 0, "words": 0, "history": 0},
        ),
        "task": Source(
            "task",
            repository.human_tasks,
            "created_at",
            lambda actor, closed: repository.inbox_task_filter(actor),
            lambda actor, now: {"overdue": {"due_at": {"$ne": None, "$lt": now}}},
            _task_item,
            {"form": 0},
        ),
    }


def view(
    actor: Actor,
    kinds: list[str] | None = None,
    unread: bool = False,
    overdue: bool = False,
    under_control: bool = False,
    closed: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One page of the actor's mailbox (newest first) with counters of every kind."""
    wanted = list(kinds or KINDS)
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise MailInvalid("unknown kind", {"kind": [f"one of {', '.join(KINDS)}"]})
    limit = pagination.limit_of(limit)
    position = pagination.decode(cursor)
    now = utcnow()
    requested = [f for f, on in zip(FLAGS, (unread, overdue, under_control), strict=True) if on]
    sources = _sources()
    merged: list[tuple[datetime, str, str, dict[str, Any]]] = []
    for kind in wanted:
        source = sources[kind]
        flags = source.flags(actor, now)
        if any(f not in flags for f in requested):
            continue  # this kind has no such state: none of its items match
        condition = pagination.combine(
            source.base(actor, closed),
            *(flags[f] for f in requested),
            pagination.after(position, source.at, kind),
        )
        for doc in repository.find_page(
            source.collection(), condition, source.at, limit + 1, source.projection
        ):
            merged.append(
                (
                    doc[source.at],
                    kind,
                    str(doc["_id"]),
                    {**source.item(doc, actor, now), "_key": doc["_id"]},
                )
            )
    merged.sort(key=lambda entry: (entry[0], entry[1], entry[2]), reverse=True)
    page = merged[:limit]
    next_cursor = None
    if len(merged) > limit:
        at, kind, _, item = page[-1]
        next_cursor = pagination.encode(at, item["_key"], kind)
    items = [{k: v for k, v in entry[3].items() if k != "_key"} for entry in page]
    return {
        "items": items,
        "next_cursor": next_cursor,
        "counters": counters(actor, closed, now, sources),
    }


def counters(
    actor: Actor,
    closed: bool = False,
    now: datetime | None = None,
    sources: dict[str, Source] | None = None,
) -> dict[str, Any]:
    """How many items of each kind the actor has: in all, unread, overdue, under control."""
    now = now or utcnow()
    by_kind: dict[str, dict[str, int]] = {}
    for kind, source in (sources or _sources()).items():
        flags = source.flags(actor, now)
        facets: dict[str, list[dict[str, Any]]] = {"total": [{"$count": "n"}]}
        for flag in FLAGS:
            if flag in flags:
                facets[flag] = [{"$match": flags[flag]}, {"$count": "n"}]
        found = list(
            source.collection().aggregate(
                [{"$match": source.base(actor, closed)}, {"$facet": facets}]
            )
        )
        result = found[0] if found else {}
        by_kind[kind] = {
            name: (result.get(name) or [{"n": 0}])[0]["n"] for name in ("total", *FLAGS)
        }
    totals = {name: sum(c[name] for c in by_kind.values()) for name in ("total", *FLAGS)}
    return {**totals, "by_kind": by_kind}
