"""Orders (поручения): visible to every user, commented by anyone, arranged in a tree.

Each order is a record and an instance of `bpmn/order.bpmn`. Every change of its state
notifies the issuer, the executors and the subscribers (everyone but who made it).
A node's rolled-up progress is 100 once it is done; before that, the mean of its own
progress and the rolled-up progress of its live (not cancelled) sub-orders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from engine import instances, operators
from engine.actor import Actor
from engine.errors import EngineError, ProcessError
from engine.models import utcnow

from . import attachments, links, notifications, pagination, people, repository, text
from .config import FileContent
from .errors import (
    CommentNotFound,
    MailInvalid,
    MailNotAllowed,
    OrderNotFound,
    WrongStatus,
)
from .models import FINAL_STATUSES, Attachment, HistoryEntry, Order, OrderComment
from .procedures import duration_until, end_instance, naive_utc, remind_at, subject_id

PROCESS = "order"
SUBJECT = "order"
EXECUTE = ("execute",)
REVIEW = ("accept",)
WORKING = ("issued", "in_progress", "returned")
COMPLETE = ("done", "accepted")
MAX_TITLE = 300
MAX_TEXT = 100_000
MAX_EXECUTORS = 50
MAX_TREE = 2000
MAX_COMMENTS = 1000


def overdue_filter(now: datetime) -> dict[str, Any]:
    """Orders past their deadline and not done."""
    return {"status": {"$in": list(WORKING)}, "due_at": {"$lt": now}}


def _view(doc: dict[str, Any], actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    me = actor.username
    return {
        **doc,
        "unread": me not in doc.get("read_by", []),
        "overdue": doc["status"] in WORKING and doc["due_at"] < (now or utcnow()),
        "subscribed": me in doc.get("subscribers", []),
        "link": links.order(doc["_id"]),
    }


def _load(actor: Actor, order_id: Any) -> dict[str, Any]:
    doc = repository.visible_order(actor, order_id)
    if doc is None:
        raise OrderNotFound(f"no order {order_id}")
    return doc


def _check(
    title: str, body: str, due: datetime, now: datetime, executors: list[str]
) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    title = " ".join((title or "").split())
    if not title or len(title) > MAX_TITLE:
        errors["title"] = [f"1 to {MAX_TITLE} characters"]
    if len(body or "") > MAX_TEXT:
        errors["text"] = [f"at most {MAX_TEXT} characters"]
    if due <= now:
        errors["due_at"] = ["must be in the future"]
    if not executors or len(executors) > MAX_EXECUTORS:
        errors["executors"] = [f"1 to {MAX_EXECUTORS} users"]
    if errors:
        raise MailInvalid("the order is invalid", errors)
    return title, text.sanitize_html(body or "")


def create(
    actor: Actor,
    executors: list[str],
    title: str,
    due_at: datetime,
    body: str = "",
    attachment_items: list[dict[str, Any]] | None = None,
    parent_id: str | None = None,
) -> dict[str, Any]:
    """Issue an order (a sub-order of `parent_id` when its issuer or an executor splits it)."""
    now = utcnow()
    due = naive_utc(due_at)
    title, safe = _check(title, body, due, now, list(executors))
    executors = people.check_users(executors, "executors")
    parent = None
    if parent_id is not None:
        parent = _load(actor, parent_id)
        if actor.username not in (parent["issuer"], *parent["executors"]):
            raise MailNotAllowed("only the issuer or an executor of an order adds sub-orders")
        if parent["status"] in FINAL_STATUSES:
            raise WrongStatus(f"the parent order is {parent['status']}")
    items = attachments.prepare(actor, attachment_items)
    order_id, instance_id = ObjectId(), ObjectId()
    plain = text.html_to_text(safe)
    record = Order(
        id=order_id,
        title=title,
        text=safe,
        issuer=actor.username,
        executors=executors,
        involved=list(dict.fromkeys([actor.username, *executors])),
        due_at=due,
        remind_at=remind_at(now, due),
        instance_id=instance_id,
        attachments=items,
        read_by=[actor.username],
        parent_id=parent["_id"] if parent else None,
        ancestors=[parent["_id"], *parent.get("ancestors", [])] if parent else [],
        created_at=now,
        updated_at=now,
        history=[HistoryEntry(at=now, by=actor.username, status="issued")],
        words=text.words(title, plain, actor.username, *executors, *(a.title for a in items)),
    )
    record.save(force_insert=True)
    variables = {
        "order_id": str(order_id),
        "title": title,
        "issuer": actor.username,
        "executors": executors,
        "comment": "",
        "lane_owners": {"Issuer": [actor.username], "Executors": executors},
    }
    try:
        instances.start(
            PROCESS,
            actor,
            variables,
            instance_id=instance_id,
            subject={"type": SUBJECT, "id": str(order_id), "title": title[:200]},
        )
    except EngineError:
        record.delete()
        raise
    notifications.notify(
        f"order:{order_id}:r0",
        [u for u in executors if u != actor.username],
        template="order.issued",
        values={"by": actor.username, "title": title, "due": due},
        link=links.order(order_id),
        source={"type": SUBJECT, "id": str(order_id)},
    )
    return _view(dict(repository.orders().find_one({"_id": order_id}) or {}), actor)


def _notify_change(doc: dict[str, Any], by: str, template: str, values: dict[str, Any]) -> None:
    notifications.notify(
        f"order:{doc['_id']}:r{doc['revision']}",
        [u for u in doc["involved"] if u != by],
        template=template,
        values={"by": by, "title": doc["title"], **values},
        link=links.order(doc["_id"]),
        source={"type": SUBJECT, "id": str(doc["_id"])},
    )


def transition(
    order_id: ObjectId,
    status: str,
    by: str,
    note: str = "",
    only_from: tuple[str, ...] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Move an order to `status` and notify everyone involved; None if nothing changed."""
    allowed: dict[str, Any] = {"$nin": [*FINAL_STATUSES, status]}
    if only_from is not None:
        allowed = {"$in": [s for s in only_from if s != status]}
    now = utcnow()
    doc = repository.orders().find_one_and_update(
        {"_id": order_id, "status": allowed},
        {
            "$set": {"status": status, "updated_at": now, "read_by": [by], **(extra or {})},
            "$inc": {"revision": 1},
            "$push": {"history": {"at": now, "by": by, "status": status, "note": note[:2000]}},
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        return None
    _notify_change(doc, by, "order.status", {"status": status, "note": note[:500]})
    return dict(doc)


def get(actor: Actor, order_id: str, mark_read: bool = True) -> dict[str, Any]:
    """An order (every user may see it) with its direct sub-orders."""
    doc = _load(actor, order_id)
    if mark_read and actor.username not in doc.get("read_by", []):
        repository.orders().update_one(
            {"_id": doc["_id"]}, {"$addToSet": {"read_by": actor.username}}
        )
        doc["read_by"] = [*doc.get("read_by", []), actor.username]
    now = utcnow()
    children = (
        repository.orders()
        .find({"parent_id": doc["_id"]}, {"words": 0, "history": 0})
        .sort("created_at", 1)
        .limit(500)
    )
    return {**_view(doc, actor, now), "children": [_view(c, actor, now) for c in children]}


def list_for(
    actor: Actor,
    query: str | None = None,
    status: str | None = None,
    involved: bool = False,
    top_level: bool = False,
    overdue: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> pagination.Page:
    """Orders (all users see all), latest change first; `involved`: the actor's own."""
    limit = pagination.limit_of(limit)
    now = utcnow()
    condition = pagination.combine(
        repository.order_filter(actor),
        {"involved": actor.username} if involved else {},
        {"status": status} if status else {},
        {"parent_id": None} if top_level else {},
        overdue_filter(now) if overdue else {},
        text.search_filter(query),
        pagination.after(pagination.decode(cursor), "updated_at"),
    )
    docs = repository.find_page(
        repository.orders(), condition, "updated_at", limit + 1, {"words": 0, "history": 0}
    )
    items, next_cursor = pagination.page_of(docs, limit, "updated_at")
    return pagination.Page([_view(d, actor, now) for d in items], next_cursor)


def _rolled(node: dict[str, Any]) -> int:
    live = [c for c in node["children"] if c["status"] != "cancelled"]
    if node["status"] in COMPLETE:
        return 100
    if not live:
        return int(node.get("progress") or 0)
    total = int(node.get("progress") or 0) + sum(c["rolled_progress"] for c in live)
    return round(total / (1 + len(live)))


def tree(actor: Actor, order_id: str) -> dict[str, Any]:
    """The order with all its sub-orders, each with its state and rolled-up progress."""
    root = _load(actor, order_id)
    now = utcnow()
    nodes = {root["_id"]: {**_view(root, actor, now), "children": []}}
    for doc in (
        repository.orders()
        .find({"ancestors": root["_id"]}, {"words": 0, "history": 0, "text": 0})
        .sort("created_at", 1)
        .limit(MAX_TREE)
    ):
        nodes[doc["_id"]] = {**_view(doc, actor, now), "children": []}
    for node in list(nodes.values()):
        parent = nodes.get(node.get("parent_id"))
        if parent is not None and node["_id"] != root["_id"]:
            parent["children"].append(node)

    def roll(node: dict[str, Any]) -> None:
        for child in node["children"]:
            roll(child)
        node["rolled_progress"] = _rolled(node)

    roll(nodes[root["_id"]])
    return nodes[root["_id"]]


def _executor_doc(actor: Actor, order_id: str) -> dict[str, Any]:
    doc = _load(actor, order_id)
    if actor.username not in doc["executors"]:
        raise MailNotAllowed("only an executor of the order may do this")
    return doc


def start_work(actor: Actor, order_id: str) -> dict[str, Any]:
    """An executor takes the order up: status in progress."""
    doc = _executor_doc(actor, order_id)
    if doc["status"] not in WORKING:
        raise WrongStatus(f"the order is {doc['status']}")
    transition(doc["_id"], "in_progress", actor.username, only_from=("issued", "returned"))
    return get(actor, order_id, mark_read=False)


def set_progress(actor: Actor, order_id: str, percent: int, note: str = "") -> dict[str, Any]:
    """An executor tells how far the work is (0 to 99; reporting it done makes it 100)."""
    doc = _executor_doc(actor, order_id)
    if not 0 <= percent <= 99:
        raise MailInvalid(
            "progress is 0 to 99 until the order is reported done", {"percent": ["0 to 99"]}
        )
    if doc["status"] not in WORKING:
        raise WrongStatus(f"the order is {doc['status']}")
    now = utcnow()
    updated = repository.orders().find_one_and_update(
        {"_id": doc["_id"], "status": {"$in": list(WORKING)}},
        {
            "$set": {
                "progress": percent,
                "status": "in_progress",
                "updated_at": now,
                "read_by": [actor.username],
            },
            "$inc": {"revision": 1},
            "$push": {
                "history": {
                    "at": now,
                    "by": actor.username,
                    "status": "in_progress",
                    "note": f"{percent}% {note}".strip()[:2000],
                }
            },
        },
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise WrongStatus("the order changed meanwhile; reload it")
    _notify_change(
        updated, actor.username, "order.progress", {"progress": percent, "note": note[:500]}
    )
    return get(actor, order_id, mark_read=False)


def report(actor: Actor, order_id: str, report_text: str) -> dict[str, Any]:
    """An executor reports the order done; its issuer reviews it next."""
    doc = _executor_doc(actor, order_id)
    task = repository.open_task(doc.get("instance_id"), EXECUTE)
    if doc["status"] not in WORKING or task is None:
        raise WrongStatus(f"the order is {doc['status']}: nothing to report now")
    if task.get("assignee") is None:
        instances.claim_task(task["task_guid"], actor)
    instances.complete_task(task["task_guid"], actor, {"report": report_text})
    return get(actor, order_id, mark_read=False)


def review(actor: Actor, order_id: str, decision: str, comment: str = "") -> dict[str, Any]:
    """The issuer accepts the reported order or returns it for rework."""
    doc = _load(actor, order_id)
    if doc["issuer"] != actor.username:
        raise MailNotAllowed("only the issuer reviews an order")
    task = repository.open_task(doc.get("instance_id"), REVIEW)
    if task is None:
        raise WrongStatus(f"the order is {doc['status']}: nothing to review now")
    instances.complete_task(task["task_guid"], actor, {"decision": decision, "comment": comment})
    return get(actor, order_id, mark_read=False)


def cancel(actor: Actor, order_id: str, reason: str = "") -> dict[str, Any]:
    """The issuer cancels an order and all its sub-orders."""
    doc = _load(actor, order_id)
    if doc["issuer"] != actor.username:
        raise MailNotAllowed("only the issuer cancels an order")
    if doc["status"] in FINAL_STATUSES:
        raise WrongStatus(f"the order is {doc['status']} already")
    for item in [
        doc,
        *repository.orders().find(
            {"ancestors": doc["_id"], "status": {"$nin": list(FINAL_STATUSES)}}, {"instance_id": 1}
        ),
    ]:
        end_instance(item.get("instance_id"), actor)
        note = reason if item["_id"] == doc["_id"] else "the parent order was cancelled"
        transition(item["_id"], "cancelled", actor.username, note)
    return get(actor, order_id, mark_read=False)


def subscribe(actor: Actor, order_id: str, on: bool = True) -> dict[str, Any]:
    """Follow an order's changes and comments (or stop following them)."""
    doc = _load(actor, order_id)
    me = actor.username
    if on:
        repository.orders().update_one(
            {"_id": doc["_id"]}, {"$addToSet": {"subscribers": me, "involved": me}}
        )
    else:
        keep = me in (doc["issuer"], *doc["executors"])
        change: dict[str, Any] = (
            {"subscribers": me} if keep else {"subscribers": me, "involved": me}
        )
        repository.orders().update_one({"_id": doc["_id"]}, {"$pull": change})
    return get(actor, order_id, mark_read=False)


def open_attachment(actor: Actor, order_id: str, attachment_id: str) -> FileContent:
    """The content of a file attached to an order (every user may see orders)."""
    doc = _load(actor, order_id)
    found = attachments.find(
        (Attachment._from_son(a) for a in doc.get("attachments", [])), attachment_id
    )
    return attachments.open_content(found)


# ------------------------------------------------------------------------------ comments


def add_comment(
    actor: Actor,
    order_id: str,
    body: str,
    attachment_items: list[dict[str, Any]] | None = None,
    parent_id: str | None = None,
) -> dict[str, Any]:
    """Comment on an order (anyone may), or answer a comment; the author is subscribed."""
    doc = _load(actor, order_id)
    safe = text.sanitize_html(body or "")
    items = attachments.prepare(actor, attachment_items)
    if not safe and not items:
        raise MailInvalid("the comment is empty", {"text": ["write something or attach"]})
    if len(body or "") > MAX_TEXT:
        raise MailInvalid("the comment is too long", {"text": [f"at most {MAX_TEXT}"]})
    comment_id = ObjectId()
    path, depth, parent_oid = str(comment_id), 0, None
    if parent_id is not None:
        parent = repository.comments().find_one(
            {"_id": repository.object_id(parent_id), "order_id": doc["_id"]}
        )
        if parent is None:
            raise CommentNotFound(f"no comment {parent_id} on this order")
        path, depth, parent_oid = (
            f"{parent['path']}/{comment_id}",
            parent["depth"] + 1,
            parent["_id"],
        )
    comment = OrderComment(
        id=comment_id,
        order_id=doc["_id"],
        author=actor.username,
        text=safe,
        attachments=items,
        parent_id=parent_oid,
        path=path,
        depth=depth,
        created_at=utcnow(),
    )
    comment.save(force_insert=True)
    updated = repository.orders().find_one_and_update(
        {"_id": doc["_id"]},
        {
            "$addToSet": {"subscribers": actor.username, "involved": actor.username},
            "$set": {"updated_at": comment.created_at, "read_by": [actor.username]},
        },
        return_document=ReturnDocument.AFTER,
    )
    notifications.notify(
        f"order-comment:{comment_id}",
        [u for u in (updated or doc)["involved"] if u != actor.username],
        template="order.comment",
        values={"by": actor.username, "title": doc["title"], "text": text.html_to_text(safe)[:500]},
        link=links.order(doc["_id"]),
        source={"type": SUBJECT, "id": str(doc["_id"])},
    )
    return dict(repository.comments().find_one({"_id": comment_id}) or {})


def list_comments(actor: Actor, order_id: str) -> list[dict[str, Any]]:
    """The comments of an order in thread order (answers follow what they answer)."""
    doc = _load(actor, order_id)
    return list(
        repository.comments().find({"order_id": doc["_id"]}).sort("path", 1).limit(MAX_COMMENTS)
    )


def open_comment_attachment(
    actor: Actor, order_id: str, comment_id: str, attachment_id: str
) -> FileContent:
    """The content of a file attached to a comment on an order."""
    doc = _load(actor, order_id)
    comment = repository.comments().find_one(
        {"_id": repository.object_id(comment_id), "order_id": doc["_id"]}
    )
    if comment is None:
        raise CommentNotFound(f"no comment {comment_id} on this order")
    found = attachments.find(
        (Attachment._from_son(a) for a in comment.get("attachments", [])), attachment_id
    )
    return attachments.open_content(found)


# ---------------------------------------------------------------- operators and subject


@operators.register(
    "set_order_status",
    params={
        "status": operators.Param(required=True, kind="str"),
        "note": operators.Param(kind="str"),
        "by": operators.Param(kind="str"),
    },
)
def set_status_operator(call: operators.OperatorCall) -> dict[str, Any]:
    """Service task: move the instance's order to `status` (with `note` and `by`)."""
    oid = subject_id(call, SUBJECT)
    status = str(call.params.get("status") or "")
    if status not in ("in_progress", "done", "accepted", "returned"):
        raise ProcessError(f"set_order_status: status {status!r} is not one a diagram sets")
    note = str(call.params.get("note") or "")
    extra = {"report": note[:MAX_TEXT], "progress": 100} if status == "done" else {}
    transition(oid, status, str(call.params.get("by") or "system"), note, extra=extra)
    return {"status": status}


@operators.register("load_order", params={})
def load_operator(call: operators.OperatorCall) -> dict[str, Any]:
    """Service task: the order's timer durations (reminder and deadline) from now."""
    doc = repository.orders().find_one({"_id": subject_id(call, SUBJECT)})
    if doc is None:
        raise ProcessError("load_order: the order is gone")
    now = utcnow()
    return {
        "remind_in": duration_until(doc.get("remind_at"), now),
        "due_in": duration_until(doc["due_at"], now),
    }


def _audience(order_id: str, role: str) -> list[str]:
    doc = repository.orders().find_one(
        {"_id": repository.object_id(order_id)},
        {"issuer": 1, "executors": 1, "subscribers": 1, "involved": 1},
    )
    if doc is None:
        return []
    return {
        "issuer": [doc["issuer"]],
        "executors": list(doc["executors"]),
        "executor": list(doc["executors"]),
        "subscribers": list(doc.get("subscribers", [])),
        "all": list(doc["involved"]),
        "involved": list(doc["involved"]),
    }.get(role, [])


def _values(order_id: str) -> dict[str, Any]:
    doc = repository.orders().find_one(
        {"_id": repository.object_id(order_id)},
        {"title": 1, "due_at": 1, "issuer": 1, "status": 1, "executors": 1},
    )
    if doc is None:
        return {}
    return {
        "title": doc["title"],
        "due": doc["due_at"],
        "issuer": doc["issuer"],
        "executors": ", ".join(doc["executors"]),
        "status": doc["status"],
    }


notifications.register_subject(
    SUBJECT, notifications.SubjectKind(audience=_audience, values=_values, link=links.order)
)
