"""Durable background jobs: timers, async service steps, message routing, e-mails...

A job lives in the database; whoever runs it (an embedded worker thread, or a Celery
worker woken by beat) first claims it with a compare-and-set that sets a lease. A worker
that dies mid-job loses nothing: when the lease expires the job can be claimed again. Each
job has a unique idempotency key, so enqueuing twice creates one job, and handlers pass
the key on to side effects so a re-run does not repeat them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from mongoengine import (
    DateTimeField,
    DictField,
    Document,
    IntField,
    ObjectIdField,
    StringField,
)

from .errors import Conflict, NotFound
from .models import utcnow

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_LEASE_SECONDS = 60
BACKOFF_BASE_SECONDS = 2.0


class Job(Document):
    """One unit of background work."""

    kind = StringField(required=True)
    key = StringField(required=True)  # idempotency key: one job per key
    status = StringField(required=True, default="pending")  # pending|running|done|failed
    due_at = DateTimeField(required=True)
    instance_id = ObjectIdField(null=True)
    payload = DictField()
    attempts = IntField(default=0)
    max_attempts = IntField(default=DEFAULT_MAX_ATTEMPTS)
    lease_owner = StringField(null=True)
    lease_expires_at = DateTimeField(null=True)
    lease_token = StringField(null=True)  # which claim holds the lease (one per claim)
    dispatched_until = DateTimeField(null=True)  # Celery: queued, do not queue again before
    last_error = StringField(null=True)
    incident_id = ObjectIdField(null=True)
    created_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)

    meta = {
        "collection": "jobs",
        "indexes": [
            {"fields": ["key"], "unique": True},
            {"fields": ["status", "due_at"]},
            {"fields": ["status", "lease_expires_at"]},
            {"fields": ["instance_id", "kind", "status"]},
        ],
    }


class Incident(Document):
    """A job that failed every attempt; shown in the monitor until retried successfully."""

    instance_id = ObjectIdField(null=True)
    job_id = ObjectIdField(required=True)
    kind = StringField(required=True)
    error = StringField(required=True)
    stack = StringField(default="")
    task = StringField(null=True)
    status = StringField(default="open")  # open | retrying | resolved
    created_at = DateTimeField(default=utcnow)
    resolved_at = DateTimeField(null=True)
    resolved_by = StringField(null=True)

    meta = {
        "collection": "incidents",
        "indexes": [{"fields": ["status", "-created_at"]}, {"fields": ["instance_id", "status"]}],
    }


ALL_MODELS = (Job, Incident)


class IncidentNotFound(NotFound):
    code = "incident_not_found"


class IncidentNotOpen(Conflict):
    code = "incident_not_open"


class RetryLater(Exception):
    """Raised by a handler that cannot run yet: the job is put back to run at `due_at`."""

    def __init__(self, due_at: datetime):
        super().__init__(f"not yet: {due_at.isoformat()}")
        self.due_at = due_at


Handler = Callable[[Job], None]
_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Decorator: `fn(job)` runs jobs of this kind."""

    def wrap(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return wrap


def worker_name() -> str:
    """A name for this process, stored as the lease owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


# ----------------------------------------------------------------------------- enqueue


def enqueue(
    kind: str,
    key: str,
    due_at: datetime | None = None,
    instance_id: ObjectId | None = None,
    payload: dict[str, Any] | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> None:
    """Create the job for `key` unless it exists (then nothing changes)."""
    Job._get_collection().update_one(
        {"key": key},
        {
            "$setOnInsert": {
                "kind": kind,
                "key": key,
                "status": "pending",
                "due_at": due_at or utcnow(),
                "instance_id": instance_id,
                "payload": payload or {},
                "attempts": 0,
                "max_attempts": max_attempts,
                "created_at": utcnow(),
            }
        },
        upsert=True,
    )


def cancel_keys(keys: list[str]) -> None:
    """Drop the pending jobs with these keys (work that is no longer needed)."""
    Job._get_collection().delete_many({"key": {"$in": keys}, "status": "pending"})


# ------------------------------------------------------------------------------- claim


# Claimable is "pending and due" or "running with an expired lease". Each is asked apart,
# as a flat query: the embedded database answers an `$or` (or an `$and`) by scanning the
# whole collection, and its findAndModify scans as well; a flat update by `_id` does not.
def _pending_due(now: datetime) -> dict[str, Any]:
    return {"status": "pending", "due_at": {"$lte": now}}


def _lease_expired(now: datetime) -> dict[str, Any]:
    return {"status": "running", "lease_expires_at": {"$lte": now}}


def _due(limit: int, now: datetime, for_dispatch: bool = False) -> list[dict[str, Any]]:
    """Claimable jobs ({_id, status, due_at}), oldest due first."""
    coll = Job._get_collection()
    fields = {"_id": 1, "status": 1, "due_at": 1, "dispatched_until": 1}
    # Jobs queued for Celery are skipped below: read more than asked for to fill the page.
    wanted = limit * 4 if for_dispatch else limit
    found = list(coll.find(_pending_due(now), fields).sort("due_at", 1).limit(wanted))
    found += list(coll.find(_lease_expired(now), fields).sort("due_at", 1).limit(wanted))
    if for_dispatch:
        found = [j for j in found if (j.get("dispatched_until") or now) <= now]
    found.sort(key=lambda j: j["due_at"])
    return found[:limit]


def due_job_ids(
    limit: int = 100, now: datetime | None = None, for_dispatch: bool = False
) -> list[ObjectId]:
    """Ids of jobs that may be claimed now, oldest due first."""
    return [j["_id"] for j in _due(limit, now or utcnow(), for_dispatch)]


def mark_dispatched(job_ids: list[ObjectId], seconds: float) -> None:
    """Remember that these jobs were queued, so the dispatcher does not queue them again."""
    until = utcnow() + timedelta(seconds=seconds)
    Job._get_collection().update_many(
        {"_id": {"$in": job_ids}}, {"$set": {"dispatched_until": until}}
    )


def _lease(owner: str, token: str, now: datetime, lease_seconds: float) -> dict[str, Any]:
    return {
        "$set": {
            "status": "running",
            "lease_owner": owner,
            "lease_token": token,
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
        },
        "$inc": {"attempts": 1},
    }


def claim(
    job_id: ObjectId,
    owner: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    now: datetime | None = None,
) -> Job | None:
    """Take the job if it is still claimable; None if someone else has it or it is done."""
    now = now or utcnow()
    coll = Job._get_collection()
    token = uuid.uuid4().hex
    for claimable in (_pending_due(now), _lease_expired(now)):
        lease = _lease(owner, token, now, lease_seconds)
        if coll.update_one({"_id": job_id, **claimable}, lease).modified_count:
            doc = coll.find_one({"_id": job_id})
            return Job._from_son(doc) if doc and doc.get("lease_token") == token else None
    return None


def claim_many(
    candidates: list[dict[str, Any]],
    owner: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    now: datetime | None = None,
) -> list[Job]:
    """Take those of `candidates` ({_id, status}) still claimable, in two writes and one
    read whatever their number; the others are left to whoever has them."""
    now = now or utcnow()
    coll = Job._get_collection()
    token = uuid.uuid4().hex
    claimed = False
    for status, claimable in (("pending", _pending_due(now)), ("running", _lease_expired(now))):
        ids = [c["_id"] for c in candidates if c["status"] == status]
        if ids:
            result = coll.update_many(
                {"_id": {"$in": ids}, **claimable}, _lease(owner, token, now, lease_seconds)
            )
            claimed = claimed or result.modified_count > 0
    if not claimed:
        return []
    docs = coll.find({"_id": {"$in": [c["_id"] for c in candidates]}})
    mine = {d["_id"]: d for d in docs if d.get("lease_token") == token}
    return [Job._from_son(mine[c["_id"]]) for c in candidates if c["_id"] in mine]


class _DueQueue:
    """Claimable jobs this process read in one query, handed out in batches to its workers.

    On the embedded database a query costs what it matches, whatever its limit: with
    thousands of jobs due at once, one read of many ids instead of one per small batch.
    """

    READ = 500

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[dict[str, Any]] = deque()

    def take(self, n: int, now: datetime) -> list[dict[str, Any]]:
        with self._lock:
            if not self._queue:
                self._queue.extend(_due(max(n, self.READ), now))
            return [self._queue.popleft() for _ in range(min(n, len(self._queue)))]

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


_DUE = _DueQueue()


# --------------------------------------------------------------------------------- run


@dataclass
class Outcome:
    job_id: ObjectId
    status: str  # done | retry | failed | lost
    error: str | None = None


def run(job: Job, owner: str) -> Outcome:
    """Run a claimed job and record how it ended."""
    coll = Job._get_collection()
    mine = {"_id": job.id, "lease_owner": owner, "status": "running"}
    fn = _HANDLERS.get(job.kind)
    try:
        if fn is None:
            raise LookupError(f"no handler for jobs of kind {job.kind!r}")
        fn(job)
    except RetryLater as later:
        coll.update_one(
            mine,
            {
                "$set": {
                    "status": "pending",
                    "due_at": later.due_at,
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "dispatched_until": None,
                },
                "$inc": {"attempts": -1},
            },
        )
        return Outcome(job.id, "retry")
    except Exception as exc:  # any failure of a handler is recorded, never lost
        return _failed(job, owner, exc)
    result = coll.update_one(
        mine,
        {
            "$set": {
                "status": "done",
                "finished_at": utcnow(),
                "lease_owner": None,
                "last_error": None,
            }
        },
    )
    if result.matched_count == 0:
        # The lease ran out and another worker took the job: its run will record the end.
        return Outcome(job.id, "lost")
    if job.incident_id:
        _resolve_incident(job)
    return Outcome(job.id, "done")


def retryable(exc: BaseException) -> bool:
    """False when the error or one it arose from says that running again cannot help.

    An exception class opts out with `retryable = False` (the sandbox's refusals and
    limits): such a job opens its incident at once instead of after the backoff.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if getattr(current, "retryable", True) is False:
            return False
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return True


def _failed(job: Job, owner: str, exc: Exception) -> Outcome:
    coll = Job._get_collection()
    error = f"{type(exc).__name__}: {exc}"
    stack = "".join(traceback.format_exception(exc)[-6:])
    mine = {"_id": job.id, "lease_owner": owner, "status": "running"}
    if job.attempts < job.max_attempts and retryable(exc):
        delay = BACKOFF_BASE_SECONDS * 2 ** (job.attempts - 1)
        coll.update_one(
            mine,
            {
                "$set": {
                    "status": "pending",
                    "last_error": error,
                    "due_at": utcnow() + timedelta(seconds=delay),
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "dispatched_until": None,
                }
            },
        )
        log.warning(
            "job %s (%s) failed, attempt %d of %d: %s",
            job.key,
            job.kind,
            job.attempts,
            job.max_attempts,
            error,
        )
        return Outcome(job.id, "retry", error)
    incident_id = job.incident_id or ObjectId()
    if job.incident_id:
        Incident._get_collection().update_one(
            {"_id": incident_id}, {"$set": {"status": "open", "error": error, "stack": stack}}
        )
    else:
        Incident(
            id=incident_id,
            instance_id=job.instance_id,
            job_id=job.id,
            kind=job.kind,
            error=error,
            stack=stack,
            task=job.payload.get("task"),
        ).save(force_insert=True)
    coll.update_one(
        mine,
        {
            "$set": {
                "status": "failed",
                "last_error": error,
                "incident_id": incident_id,
                "finished_at": utcnow(),
                "lease_owner": None,
            }
        },
    )
    if job.instance_id:
        _instances().update_one(
            {"_id": job.instance_id}, {"$set": {"incident": {"id": incident_id, "error": error}}}
        )
    log.error(
        "job %s (%s) failed %d times; incident %s", job.key, job.kind, job.attempts, incident_id
    )
    return Outcome(job.id, "failed", error)


def _instances() -> Any:
    return Job._get_db()["process_instances"]


def _resolve_incident(job: Job) -> None:
    Incident._get_collection().update_one(
        {"_id": job.incident_id}, {"$set": {"status": "resolved", "resolved_at": utcnow()}}
    )
    if job.instance_id:
        _instances().update_one(
            {"_id": job.instance_id, "incident.id": job.incident_id}, {"$set": {"incident": None}}
        )


def run_due(owner: str, limit: int = 50, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> int:
    """Claim up to `limit` jobs that are due now and run them one after another; return
    how many ran."""
    for attempt in range(2):
        if attempt:
            _DUE.clear()  # others took the whole batch (or it was read elsewhere): read anew
        candidates = _DUE.take(limit, utcnow())
        if not candidates:
            return 0
        claimed = claim_many(candidates, owner, lease_seconds)
        for job in claimed:
            run(job, owner)
        if claimed:
            return len(claimed)
    return 0


def run_one(
    job_id: ObjectId | str, owner: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> Outcome | None:
    """Claim and run one job by id (what a Celery task does); None if not claimable."""
    job = claim(ObjectId(job_id), owner, lease_seconds)
    return run(job, owner) if job is not None else None


# --------------------------------------------------------------------------- incidents


def list_incidents(
    status: str | None = "open", instance_id: ObjectId | None = None, limit: int = 100
) -> list[Incident]:
    """Incidents, newest first."""
    query = Incident.objects
    if status:
        query = query.filter(status=status)
    if instance_id:
        query = query.filter(instance_id=instance_id)
    return list(query.order_by("-created_at").limit(limit))


def get_incident(incident_id: ObjectId | str) -> Incident:
    try:
        found = Incident.objects(id=ObjectId(incident_id)).first()
    except Exception as exc:  # bson.errors.InvalidId or TypeError
        raise IncidentNotFound(f"no incident {incident_id}") from exc
    if found is None:
        raise IncidentNotFound(f"no incident {incident_id}")
    return found


def close_incidents(instance_id: ObjectId, by: str) -> int:
    """Resolve the open incidents of an instance whose failed work a person skipped."""
    open_ones = list(Incident.objects(instance_id=instance_id, status__in=("open", "retrying")))
    for incident in open_ones:
        Job._get_collection().update_one(
            {"_id": incident.job_id, "status": "failed"},
            {"$set": {"status": "skipped", "finished_at": utcnow()}},
        )
        Incident._get_collection().update_one(
            {"_id": incident.id},
            {"$set": {"status": "resolved", "resolved_at": utcnow(), "resolved_by": by}},
        )
    if open_ones:
        _instances().update_one({"_id": instance_id}, {"$set": {"incident": None}})
    return len(open_ones)


def retry_incident(incident_id: ObjectId | str, by: str) -> Incident:
    """Run the failed job again now, with a fresh set of attempts."""
    incident = get_incident(incident_id)
    if incident.status != "open":
        raise IncidentNotOpen(f"incident {incident_id} is {incident.status}")
    result = Job._get_collection().update_one(
        {"_id": incident.job_id, "status": "failed"},
        {
            "$set": {
                "status": "pending",
                "attempts": 0,
                "due_at": utcnow(),
                "dispatched_until": None,
                "lease_owner": None,
                "lease_expires_at": None,
            }
        },
    )
    if result.matched_count == 0:
        raise IncidentNotOpen(f"the job of incident {incident_id} is not failed")
    Incident._get_collection().update_one(
        {"_id": incident.id}, {"$set": {"status": "retrying", "resolved_by": by}}
    )
    incident.reload()
    return incident
