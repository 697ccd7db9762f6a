"""Monthly counts of actions per manager, kind, result and readers.

Reports over long periods read these instead of every action: a month of counts is a few
hundred documents however many calls were logged (the `actions` report over a year of
100,000 actions reads ~800 of them). The counts are a cache of the action log, rebuilt a
month at a time, so they cannot drift:

- every write that changes a month's figures marks the month stale *before* it writes, so a
  crash after the mark costs a rebuild, never a wrong figure, and marks it again *after*,
  with a new stamp, so a rebuild that read the log before the write does not clear the mark;
- whoever reads a month's counts rebuilds it first if it is stale, and a background job does
  so a minute after the writes, so readers seldom wait.

Counts carry the actions' `access.read`, so the reader's access rule (`read_filter`) is the
same query on counts as on actions. Only the months wholly inside a period come from the
counts; the days at its edges, and any period of one organization, are counted from the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from accounts.access import read_filter
from engine import jobs
from engine.actor import Actor
from engine.models import utcnow

from .models import Action, ActionCount, StaleMonth

Key = tuple[str, str, str]  # manager, kind, result
BY_KEY = {"by": "$by", "kind": "$kind", "result": "$result"}
REBUILD_AFTER = timedelta(seconds=60)


def month_of(at: datetime) -> datetime:
    """The first moment of `at`'s month (naive UTC, as BSON dates are read back)."""
    return datetime(at.year, at.month, 1)


def next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1)


def mark(months: Iterable[datetime]) -> None:
    """Mark these months stale and plan their rebuild."""
    found = sorted({month_of(m) for m in months})
    if not found:
        return
    stale = StaleMonth._get_collection()
    for month in found:
        stale.update_one({"_id": month}, {"$set": {"stamp": ObjectId()}}, upsert=True)
    now = utcnow()
    # One job per minute of activity, however many actions were logged in it.
    jobs.enqueue("action_counts", f"action_counts:{now:%Y-%m-%dT%H:%M}", now + REBUILD_AFTER)


@contextmanager
def changing(months: Iterable[datetime]) -> Iterator[None]:
    """Around a write that changes the actions of these months (see the module's doc)."""
    found = list(months)
    mark(found)
    yield
    mark(found)


def months_of_organization(organization_id: ObjectId) -> list[datetime]:
    """The months that hold actions of the organization (when its readers change)."""
    found = Action._get_collection().aggregate(
        [
            {"$match": {"organization": organization_id}},
            {"$group": {"_id": {"$dateToString": {"format": "%Y-%m", "date": "$at"}}}},
        ]
    )
    return [datetime.strptime(g["_id"], "%Y-%m") for g in found if g["_id"]]


def log_counts(match: dict[str, Any]) -> Counter[Key]:
    """Live actions matching `match`, counted per manager, kind and result."""
    found = Action._get_collection().aggregate(
        [
            {"$match": {**match, "archived": False}},
            {"$group": {"_id": BY_KEY, "n": {"$sum": 1}}},
        ]
    )
    return Counter({_key(g["_id"]): g["n"] for g in found})


def _key(group: dict[str, Any]) -> Key:
    return group["by"], group["kind"], group.get("result") or ""


def rebuild(month: datetime) -> None:
    """Count the month's live actions again and replace its counts in one transaction."""
    stale = StaleMonth._get_collection()
    mark_doc = stale.find_one({"_id": month})
    found = Action._get_collection().aggregate(
        [
            {"$match": {"at": {"$gte": month, "$lt": next_month(month)}, "archived": False}},
            {"$group": {"_id": {**BY_KEY, "read": "$access.read"}, "n": {"$sum": 1}}},
        ]
    )
    docs = [
        {
            "month": month,
            "by": g["_id"]["by"],
            "kind": g["_id"]["kind"],
            "result": g["_id"].get("result") or "",
            "access": {"read": g["_id"].get("read") or []},
            "n": g["n"],
        }
        for g in found
    ]
    counts = ActionCount._get_collection()

    def replace(session: Any) -> None:
        counts.delete_many({"month": month}, session=session)
        if docs:
            counts.insert_many(docs, session=session)

    with counts.database.client.start_session() as session:
        session.with_transaction(replace)
    if mark_doc is not None:
        # A write since the read above changed the stamp: the month stays stale.
        stale.delete_one({"_id": month, "stamp": mark_doc["stamp"]})


def refresh(start: datetime | None = None, end: datetime | None = None) -> int:
    """Rebuild the stale months in [start, end) (all of them without bounds)."""
    where: dict[str, Any] = {}
    if start:
        where["$gte"] = start
    if end:
        where["$lt"] = end
    months = [d["_id"] for d in StaleMonth._get_collection().find({"_id": where} if where else {})]
    for month in months:
        rebuild(month)
    return len(months)


def rebuild_all() -> int:
    """Mark every month that holds actions stale and rebuild it (after a bulk import)."""
    found = Action._get_collection().aggregate(
        [{"$group": {"_id": {"$dateToString": {"format": "%Y-%m", "date": "$at"}}}}]
    )
    months = [datetime.strptime(g["_id"], "%Y-%m") for g in found if g["_id"]]
    mark(months)
    return refresh()


def counts(
    actor: Actor,
    start: datetime | None = None,
    end: datetime | None = None,
    by: str | None = None,
    organization: ObjectId | None = None,
) -> Counter[Key]:
    """Live actions the actor may read with `start <= at < end`, per manager, kind and
    result: whole months from the counts, the edges and one organization from the log."""
    # SecantusDB uses the index of the first field of a filter that has one: the period
    # comes first, else the readers' index would scan every action.
    match: dict[str, Any] = {**read_filter(actor)}
    if by:
        match["by"] = by
    if organization is not None:
        return log_counts({"organization": organization, **_period(start, end), **match})
    first = start if start is None or start == month_of(start) else next_month(month_of(start))
    last = month_of(end) if end is not None else None  # counts end where this month begins
    if first is not None and last is not None and first >= last:
        return log_counts({**_period(start, end), **match})
    refresh(first, last)
    total: Counter[Key] = Counter()
    found = ActionCount._get_collection().aggregate(
        [
            {"$match": {**_period(first, last, "month"), **match}},
            {
                "$group": {
                    "_id": {"by": "$by", "kind": "$kind", "result": "$result"},
                    "n": {"$sum": "$n"},
                }
            },
        ]
    )
    total.update({_key(g["_id"]): g["n"] for g in found})
    if start is not None and first is not None and start < first:
        total.update(log_counts({**_period(start, first), **match}))
    if end is not None and last is not None and last < end:
        total.update(log_counts({**_period(last, end), **match}))
    return total


def _period(start: datetime | None, end: datetime | None, field: str = "at") -> dict[str, Any]:
    cond: dict[str, Any] = {}
    if start is not None:
        cond["$gte"] = start
    if end is not None:
        cond["$lt"] = end
    return {field: cond} if cond else {}


@jobs.handler("action_counts")
def _rebuild_stale(job: jobs.Job) -> None:
    refresh()
