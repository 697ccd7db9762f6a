"""Notifications: in-app (list, unread counter, mark read) and e-mail (now, daily, never).

Every notification has a key, and each user's copy is stored under `<key>:<user>` with a
unique index, so a repeated call (a retried job, a re-run operator) notifies nobody twice.
E-mails are background jobs: `notify` records an `OutboundEmail` (pending) and queues a
`mail.email` job; the job sends pending e-mails only and marks them sent. Users who chose
the daily digest get one e-mail a day from the `mail.digest` job of that day.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from accounts.models import User
from engine import jobs
from engine.actor import Actor
from engine.models import utcnow

from . import catalog, config, pagination, people, repository, smtp
from .errors import MailInvalid, NotificationNotFound
from .models import EMAIL_MODES

EMAIL_JOB = "mail.email"
DIGEST_JOB = "mail.digest"
DIGEST_MAX_ITEMS = 200


@dataclass(frozen=True)
class SubjectKind:
    """How notifications find the people, values and link of an instance's subject."""

    audience: Callable[[str, str], list[str]]  # (id, role) -> users; roles: issuer, ...
    values: Callable[[str], dict[str, Any]]  # id -> template values (title, due, ...)
    link: Callable[[str], str]  # id -> path of the object in the site


_SUBJECTS: dict[str, SubjectKind] = {}


def register_subject(subject_type: str, kind: SubjectKind) -> None:
    """Let `notify` address `@role` of subjects of this type (assignments, orders...)."""
    _SUBJECTS[subject_type] = kind


def subject_kind(subject: dict[str, Any] | None) -> SubjectKind | None:
    """The registered kind of a subject, if any."""
    return _SUBJECTS.get(str(subject.get("type"))) if subject else None


def resolve(to: Iterable[str], subject: dict[str, Any] | None = None) -> list[str]:
    """Users named directly, as `group:NAME`, or as `@role` of the subject (`@issuer`...)."""
    principals: list[str] = []
    kind = subject_kind(subject)
    for entry in to:
        entry = str(entry or "").strip()
        if entry.startswith("@"):
            if kind is not None and subject is not None:
                principals += kind.audience(str(subject["id"]), entry[1:])
        elif entry:
            principals.append(entry)
    return people.expand(principals)


# ------------------------------------------------------------------------------- notify


def _digest_due(now: datetime) -> datetime:
    hour = config.settings().digest_hour_utc
    due = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return due if due > now else due + timedelta(days=1)


def plan_digest(now: datetime | None = None) -> datetime:
    """Make sure the job of the next daily digest exists; return when it runs."""
    due = _digest_due(now or utcnow())
    jobs.enqueue(
        DIGEST_JOB, f"{DIGEST_JOB}:{due:%Y-%m-%d}", due_at=due, payload={"cutoff": due.isoformat()}
    )
    return due


def email_modes(users: list[str]) -> dict[str, str]:
    """Each user's e-mail preference (immediately unless they chose otherwise)."""
    chosen = {
        d["user"]: d["email"]
        for d in repository.notification_settings().find(
            {"user": {"$in": users}}, {"user": 1, "email": 1}
        )
    }
    return {u: chosen.get(u, "immediately") for u in users}


def notify(
    key: str,
    users: Iterable[str],
    *,
    template: str | None = None,
    values: dict[str, Any] | None = None,
    title: str = "",
    text: str = "",
    link: str = "",
    source: dict[str, Any] | None = None,
) -> list[str]:
    """Give each user an in-app notification (once per key) and queue its e-mail.

    With `template`, the title and text are rendered in each user's language from
    `values`; otherwise `title` and `text` are used as given. Returns the users notified.
    """
    targets = list(dict.fromkeys(u for u in users if u))
    if not targets or not key:
        return []
    accounts = {
        u.username: u
        for u in User.objects(username__in=targets, active=True).only("username", "email", "locale")
    }
    targets = [u for u in targets if u in accounts]
    modes = email_modes(targets)
    now = utcnow()
    plan = False
    for user in targets:
        account = accounts[user]
        if template:
            shown_title, shown_text = catalog.render(template, account.locale or "ru", values or {})
        else:
            shown_title, shown_text = title, text
        mode = modes[user]
        email = (
            "no_address"
            if mode != "off" and not account.email
            else {"immediately": "queued", "digest": "digest", "off": "off"}[mode]
        )
        doc = _store_notification(
            f"{key}:{user}",
            user,
            {
                "title": shown_title[:300] or "—",
                "text": shown_text[:5000],
                "link": link,
                "source_type": (source or {}).get("type"),
                "source_id": (source or {}).get("id"),
                "created_at": now,
                "read_at": None,
                "email": email,
                "digest_pending": email == "digest",
            },
        )
        if doc["email"] == "queued":
            _queue_email(doc, account.email)
        plan = plan or doc["email"] == "digest"
    if plan:
        plan_digest(now)
    return targets


def _store_notification(nkey: str, user: str, fields: dict[str, Any]) -> dict[str, Any]:
    coll = repository.notifications()
    # Two runs of the same key at once: the other one stored it (a duplicate key).
    with contextlib.suppress(DuplicateKeyError):
        coll.update_one(
            {"key": nkey}, {"$setOnInsert": {"key": nkey, "user": user, **fields}}, upsert=True
        )
    return dict(coll.find_one({"key": nkey}) or {})


def _queue_email(notification: dict[str, Any], address: str) -> None:
    """Record the e-mail of a notification (pending) and queue the job that sends it."""
    email_key = f"notification:{notification['key']}"
    text = notification["text"]
    if notification.get("link"):
        text = f"{text}\n\n{smtp.absolute(notification['link'])}"
    _store_email(
        email_key, notification["user"], address, notification["title"], text, [notification["_id"]]
    )
    jobs.enqueue(EMAIL_JOB, f"{EMAIL_JOB}:{email_key}", payload={"email_key": email_key})


def _store_email(
    email_key: str,
    user: str,
    address: str,
    subject: str,
    text: str,
    notification_ids: list[ObjectId],
) -> None:
    with contextlib.suppress(DuplicateKeyError):
        repository.outbound_emails().update_one(
            {"key": email_key},
            {
                "$setOnInsert": {
                    "key": email_key,
                    "user": user,
                    "to": address,
                    "subject": subject,
                    "text": text,
                    "status": "pending",
                    "notification_ids": notification_ids,
                    "attempts": 0,
                    "created_at": utcnow(),
                    "sent_at": None,
                    "last_error": None,
                }
            },
            upsert=True,
        )


# ------------------------------------------------------------------------------ e-mail


def send_pending(email_key: str) -> str:
    """Send the e-mail under this key unless it was sent; return its status after.

    The status goes pending → sent after the SMTP server accepted it. If the process dies
    between the two, the retried job sends it again (with the same Message-ID): we accept
    a rare duplicate rather than risk losing an e-mail.
    """
    coll = repository.outbound_emails()
    doc = coll.find_one({"key": email_key})
    if doc is None or doc["status"] != "pending":
        return str(doc["status"]) if doc else "missing"
    if not smtp.enabled():
        coll.update_one(
            {"_id": doc["_id"], "status": "pending"},
            {"$set": {"status": "skipped", "last_error": "no SMTP server configured"}},
        )
        return "skipped"
    coll.update_one({"_id": doc["_id"]}, {"$inc": {"attempts": 1}})
    try:
        smtp.send(smtp.build(email_key, doc["to"], doc["subject"], doc["text"]))
    except Exception as exc:  # any SMTP or network error: recorded, the job retries
        coll.update_one(
            {"_id": doc["_id"]}, {"$set": {"last_error": f"{type(exc).__name__}: {exc}"}}
        )
        raise
    coll.update_one(
        {"_id": doc["_id"], "status": "pending"},
        {"$set": {"status": "sent", "sent_at": utcnow(), "last_error": None}},
    )
    return "sent"


@jobs.handler(EMAIL_JOB)
def _email_job(job: jobs.Job) -> None:
    send_pending(str(job.payload["email_key"]))


def send_digests(cutoff: datetime) -> int:
    """One e-mail per user with the digest notifications created before `cutoff`."""
    coll = repository.notifications()
    day = f"{cutoff:%Y-%m-%d}"
    users = coll.distinct("user", {"digest_pending": True, "created_at": {"$lte": cutoff}})
    sent = 0
    for user in sorted(users):
        email_key = f"digest:{day}:{user}"
        record = repository.outbound_emails().find_one({"key": email_key})
        if record is None:
            record = _prepare_digest(user, email_key, cutoff)
            if record is None:
                continue
        if send_pending(email_key) == "sent":
            sent += 1
        coll.update_many(
            {"_id": {"$in": record["notification_ids"]}},
            {"$set": {"digest_pending": False, "email": "digested"}},
        )
    return sent


def _prepare_digest(user: str, email_key: str, cutoff: datetime) -> dict[str, Any] | None:
    coll = repository.notifications()
    pending = {"user": user, "digest_pending": True, "created_at": {"$lte": cutoff}}
    notes = list(coll.find(pending).sort("created_at", 1).limit(DIGEST_MAX_ITEMS))
    address, language = people.contact(user)
    if email_modes([user])[user] == "off" or not address:
        coll.update_many(
            {"_id": {"$in": [n["_id"] for n in notes]}},
            {"$set": {"digest_pending": False, "email": "no_address" if not address else "off"}},
        )
        return None
    lines = []
    for note in notes:
        link = smtp.absolute(note.get("link") or "")
        lines.append(f"- {note['title']}\n  {note['text']}" + (f"\n  {link}" if link else ""))
    title, text = catalog.render(
        "digest", language, {"count": len(notes), "text": "\n\n".join(lines)}
    )
    _store_email(email_key, user, address, title, text, [n["_id"] for n in notes])
    return repository.outbound_emails().find_one({"key": email_key})


@jobs.handler(DIGEST_JOB)
def _digest_job(job: jobs.Job) -> None:
    send_digests(datetime.fromisoformat(str(job.payload["cutoff"])))


# ------------------------------------------------------------------------------- in-app


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **doc,
        "read": doc.get("read_at") is not None,
        "source": (
            {"type": doc["source_type"], "id": doc["source_id"]} if doc.get("source_type") else None
        ),
    }


def list_for(
    actor: Actor, unread: bool = False, limit: int = 50, cursor: str | None = None
) -> pagination.Page:
    """The actor's notifications, newest first."""
    limit = pagination.limit_of(limit)
    query = pagination.combine(
        {"user": actor.username},
        {"read_at": None} if unread else {},
        pagination.after(pagination.decode(cursor), "created_at"),
    )
    docs = list(
        repository.notifications()
        .find(query)
        .sort([("created_at", -1), ("_id", -1)])
        .limit(limit + 1)
    )
    items, next_cursor = pagination.page_of(docs, limit, "created_at")
    return pagination.Page([_view(d) for d in items], next_cursor)


def inbox(
    actor: Actor, unread: bool = False, limit: int = 50, cursor: str | None = None
) -> dict[str, Any]:
    """A page of the actor's notifications and how many of them are unread."""
    page = list_for(actor, unread, limit, cursor)
    return {"items": page.items, "next_cursor": page.next_cursor, "unread": unread_count(actor)}


def unread_count(actor: Actor) -> int:
    """How many of the actor's notifications are unread."""
    return int(
        repository.notifications().count_documents({"user": actor.username, "read_at": None})
    )


def mark_read(actor: Actor, notification_id: str) -> dict[str, Any]:
    """Mark one of the actor's notifications read (again is harmless)."""
    oid = repository.object_id(notification_id)
    coll = repository.notifications()
    mine = {"_id": oid, "user": actor.username}
    if oid is None or coll.find_one(mine, {"_id": 1}) is None:
        raise NotificationNotFound(f"no notification {notification_id}")
    coll.update_one({**mine, "read_at": None}, {"$set": {"read_at": utcnow()}})
    return _view(dict(coll.find_one(mine) or {}))


def mark_all_read(actor: Actor) -> int:
    """Mark every unread notification of the actor read; return how many."""
    result = repository.notifications().update_many(
        {"user": actor.username, "read_at": None}, {"$set": {"read_at": utcnow()}}
    )
    return int(result.modified_count)


def preferences(actor: Actor) -> dict[str, Any]:
    """How the actor's notifications reach their e-mail."""
    return {"email": email_modes([actor.username])[actor.username]}


def set_preferences(actor: Actor, email: str) -> dict[str, Any]:
    """Choose immediately, digest (once a day) or off for the actor's e-mail."""
    if email not in EMAIL_MODES:
        raise MailInvalid("unknown e-mail mode", {"email": [f"one of {', '.join(EMAIL_MODES)}"]})
    repository.notification_settings().update_one(
        {"user": actor.username}, {"$set": {"email": email, "updated_at": utcnow()}}, upsert=True
    )
    return preferences(actor)
