"""Messages: send to users and groups, read, reply, forward, folders, search.

Groups are expanded to their members when a message is sent; each recipient then has
their own read and archive state (`read_by`, `archived_by` on the one message document).
Folders: inbox (received, not archived), sent (sent, not archived), archive.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from engine.actor import Actor
from engine.models import utcnow

from . import attachments, links, notifications, pagination, people, repository, text
from .config import FileContent
from .errors import MailInvalid, MessageNotFound
from .models import Attachment, Message

FOLDERS = ("inbox", "sent", "archive")
MAX_SUBJECT = 300
MAX_BODY = 100_000
PREVIEW = 500


def _view(doc: dict[str, Any], actor: Actor) -> dict[str, Any]:
    me = actor.username
    archived = me in doc.get("archived_by", [])
    folder = "archive" if archived else ("inbox" if me in doc.get("recipients", []) else "sent")
    return {
        **doc,
        "unread": me not in doc.get("read_by", []),
        "archived": archived,
        "folder": folder,
        "link": links.message(doc["_id"]),
    }


def _load(actor: Actor, message_id: Any) -> dict[str, Any]:
    doc = repository.visible_message(actor, message_id)
    if doc is None:
        raise MessageNotFound(f"no message {message_id}")
    return doc


def _check_text(subject: str, body: str) -> tuple[str, str]:
    errors = {}
    subject = " ".join((subject or "").split())
    if not subject or len(subject) > MAX_SUBJECT:
        errors["subject"] = [f"1 to {MAX_SUBJECT} characters"]
    if len(body or "") > MAX_BODY:
        errors["body"] = [f"at most {MAX_BODY} characters"]
    if errors:
        raise MailInvalid("the message is invalid", errors)
    return subject, text.sanitize_html(body or "")


def _store(
    actor: Actor,
    to_users: list[str],
    to_groups: list[str],
    subject: str,
    body: str,
    items: list[Attachment],
    thread_id: ObjectId | None = None,
    in_reply_to: ObjectId | None = None,
    forwarded_from: ObjectId | None = None,
) -> dict[str, Any]:
    subject, safe = _check_text(subject, body)
    to_users = people.check_users(to_users, "to_users")
    recipients = list(dict.fromkeys([*to_users, *people.members(to_groups)]))
    if not recipients:
        raise MailInvalid(
            "the message has no recipients",
            {"to_users": ["name at least one user or a group with members"]},
        )
    plain = text.html_to_text(safe)
    message_id = ObjectId()
    message = Message(
        id=message_id,
        sender=actor.username,
        to_users=to_users,
        to_groups=list(to_groups),
        recipients=recipients,
        participants=list(dict.fromkeys([actor.username, *recipients])),
        subject=subject,
        body=safe,
        body_text=plain,
        attachments=items,
        thread_id=thread_id or message_id,
        in_reply_to=in_reply_to,
        forwarded_from=forwarded_from,
        read_by=[actor.username],
        created_at=utcnow(),
        words=text.words(subject, plain, actor.username, *(a.title for a in items)),
    )
    message.save(force_insert=True)
    notifications.notify(
        f"message:{message_id}",
        [r for r in recipients if r != actor.username],
        template="message.received",
        values={"by": actor.username, "title": subject, "text": plain[:PREVIEW]},
        link=links.message(message_id),
        source={"type": "message", "id": str(message_id)},
    )
    return _view(dict(repository.messages().find_one({"_id": message_id}) or {}), actor)


def send(
    actor: Actor,
    to_users: list[str],
    to_groups: list[str],
    subject: str,
    body: str = "",
    attachment_items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Send a message to users and to the members of groups."""
    return _store(
        actor, to_users, to_groups, subject, body, attachments.prepare(actor, attachment_items)
    )


def reply(
    actor: Actor,
    message_id: str,
    body: str,
    attachment_items: list[dict[str, Any]] | None = None,
    to_all: bool = False,
) -> dict[str, Any]:
    """Answer the sender (or, with `to_all`, everyone on the message) in the same thread."""
    original = _load(actor, message_id)
    to = [original["sender"]]
    if to_all or original["sender"] == actor.username:
        to = [u for u in original["participants"] if u != actor.username] or to
    subject = original["subject"]
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return _store(
        actor,
        to,
        [],
        subject[:MAX_SUBJECT],
        body,
        attachments.prepare(actor, attachment_items),
        thread_id=original.get("thread_id") or original["_id"],
        in_reply_to=original["_id"],
    )


def forward(
    actor: Actor, message_id: str, to_users: list[str], to_groups: list[str], body: str = ""
) -> dict[str, Any]:
    """Send a message on to others, with its attachments and its text quoted."""
    original = _load(actor, message_id)
    subject = original["subject"]
    if not subject.lower().startswith("fwd:"):
        subject = f"Fwd: {subject}"
    quoted = (
        f"{text.sanitize_html(body or '')}<blockquote><p>{original['sender']}, "
        f"{original['created_at']:%Y-%m-%d %H:%M} UTC:</p>{original['body']}</blockquote>"
    )
    carried = attachments.copies(Attachment._from_son(a) for a in original.get("attachments", []))
    return _store(
        actor,
        to_users,
        to_groups,
        subject[:MAX_SUBJECT],
        quoted,
        carried,
        forwarded_from=original["_id"],
    )


def get(actor: Actor, message_id: str, mark_read: bool = True) -> dict[str, Any]:
    """A message the actor sent or received; reading it marks it read for them."""
    doc = _load(actor, message_id)
    if mark_read and actor.username not in doc.get("read_by", []):
        repository.messages().update_one(
            {"_id": doc["_id"]}, {"$addToSet": {"read_by": actor.username}}
        )
        doc["read_by"] = [*doc.get("read_by", []), actor.username]
    return _view(doc, actor)


def set_read(actor: Actor, message_id: str, read: bool) -> dict[str, Any]:
    """Mark a message read or unread for the actor."""
    doc = _load(actor, message_id)
    change = "$addToSet" if read else "$pull"
    repository.messages().update_one({"_id": doc["_id"]}, {change: {"read_by": actor.username}})
    return get(actor, message_id, mark_read=False)


def set_archived(actor: Actor, message_id: str, archived: bool) -> dict[str, Any]:
    """Move a message to the actor's archive, or back."""
    doc = _load(actor, message_id)
    change = "$addToSet" if archived else "$pull"
    repository.messages().update_one({"_id": doc["_id"]}, {change: {"archived_by": actor.username}})
    return get(actor, message_id, mark_read=False)


def folder_filter(actor: Actor, folder: str) -> dict[str, Any]:
    """The condition of one folder of the actor."""
    me = actor.username
    if folder == "inbox":
        return {"recipients": me, "archived_by": {"$ne": me}}
    if folder == "sent":
        return {"sender": me, "archived_by": {"$ne": me}}
    if folder == "archive":
        return {"participants": me, "archived_by": me}
    raise MailInvalid("unknown folder", {"folder": [f"one of {', '.join(FOLDERS)}"]})


def list_folder(
    actor: Actor,
    folder: str = "inbox",
    unread: bool = False,
    query: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> pagination.Page:
    """Messages of one folder of the actor, newest first; `query` searches words."""
    limit = pagination.limit_of(limit)
    condition = pagination.combine(
        repository.message_filter(actor),
        folder_filter(actor, folder),
        {"read_by": {"$ne": actor.username}} if unread else {},
        text.search_filter(query),
        pagination.after(pagination.decode(cursor), "created_at"),
    )
    docs = repository.find_page(
        repository.messages(), condition, "created_at", limit + 1, {"words": 0}
    )
    items, next_cursor = pagination.page_of(docs, limit, "created_at")
    return pagination.Page([_view(d, actor) for d in items], next_cursor)


def thread(actor: Actor, message_id: str) -> list[dict[str, Any]]:
    """The messages of a thread that the actor may read, oldest first."""
    doc = _load(actor, message_id)
    found = (
        repository.messages()
        .find(
            {"thread_id": doc.get("thread_id") or doc["_id"], **repository.message_filter(actor)},
            {"words": 0},
        )
        .sort("created_at", 1)
        .limit(500)
    )
    return [_view(d, actor) for d in found]


def open_attachment(actor: Actor, message_id: str, attachment_id: str) -> FileContent:
    """The content of a file attached to a message the actor may read."""
    doc = _load(actor, message_id)
    found = attachments.find(
        (Attachment._from_son(a) for a in doc.get("attachments", [])), attachment_id
    )
    return attachments.open_content(found)
