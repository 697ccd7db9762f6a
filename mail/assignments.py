"""Assignments (задания): issue, execute, control, review, cancel, nest.

Each assignment is a record (what the mailbox shows, with its own access fields) and an
instance of `bpmn/assignment.bpmn` (who must act now, deadlines and their timers). The
diagram moves the status through the operators below; people act through this module,
which completes the instance's user tasks.

Visibility: the issuer, the executor and the controller, nobody else. A nested assignment
is issued by the parent's executor, so the parent's issuer and controller are not among
its viewers and do not see it.
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
from .errors import AssignmentNotFound, MailInvalid, MailNotAllowed, WrongStatus
from .models import EXECUTING, FINAL_STATUSES, Assignment, Attachment, HistoryEntry
from .procedures import duration_until, end_instance, iso, naive_utc, remind_at, subject_id

PROCESS = "assignment"
SUBJECT = "assignment"
EXECUTE = ("execute",)
REVIEW = ("check", "accept")
ROLES = ("issuer", "executor", "controller")
MAX_TITLE = 300
MAX_TEXT = 100_000


def overdue_filter(now: datetime) -> dict[str, Any]:
    """Assignments past their deadline (still executing) or past their control date."""
    return {
        "$or": [
            {"status": {"$in": list(EXECUTING)}, "due_at": {"$lt": now}},
            {
                "under_control": True,
                "status": {"$in": [*EXECUTING, "done"]},
                "control_due": {"$lt": now},
            },
        ]
    }


def is_overdue(doc: dict[str, Any], now: datetime) -> bool:
    """Whether an assignment is past its deadline or its control date."""
    if doc["status"] in EXECUTING and doc["due_at"] < now:
        return True
    return bool(
        doc.get("under_control")
        and doc["status"] in (*EXECUTING, "done")
        and doc.get("control_due")
        and doc["control_due"] < now
    )


def _view(doc: dict[str, Any], actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    me = actor.username
    return {
        **doc,
        "unread": me not in doc.get("read_by", []),
        "overdue": is_overdue(doc, now or utcnow()),
        "roles": [r for r in ROLES if doc.get(r) == me],
        "link": links.assignment(doc["_id"]),
    }


def _load(actor: Actor, assignment_id: Any) -> dict[str, Any]:
    doc = repository.visible_assignment(actor, assignment_id)
    if doc is None:
        raise AssignmentNotFound(f"no assignment {assignment_id}")
    return doc


def _check(
    title: str,
    body: str,
    due: datetime,
    now: datetime,
    controller: str | None,
    control_due: datetime | None,
) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    title = " ".join((title or "").split())
    if not title or len(title) > MAX_TITLE:
        errors["title"] = [f"1 to {MAX_TITLE} characters"]
    if len(body or "") > MAX_TEXT:
        errors["text"] = [f"at most {MAX_TEXT} characters"]
    if due <= now:
        errors["due_at"] = ["must be in the future"]
    if bool(controller) != bool(control_due):
        errors["control_due" if controller else "controller"] = [
            "a controller and a control date go together"
        ]
    elif control_due is not None and control_due <= now:
        errors["control_due"] = ["must be in the future"]
    if errors:
        raise MailInvalid("the assignment is invalid", errors)
    return title, text.sanitize_html(body or "")


def create(
    actor: Actor,
    executor: str,
    title: str,
    due_at: datetime,
    body: str = "",
    controller: str | None = None,
    control_due: datetime | None = None,
    attachment_items: list[dict[str, Any]] | None = None,
    parent_id: str | None = None,
) -> dict[str, Any]:
    """Issue an assignment (nested under `parent_id` when its executor delegates)."""
    now = utcnow()
    due = naive_utc(due_at)
    control = naive_utc(control_due) if control_due else None
    title, safe = _check(title, body, due, now, controller, control)
    executor = people.check_user(executor, "executor")
    if controller:
        controller = people.check_user(controller, "controller")
    parent = None
    if parent_id is not None:
        parent = _load(actor, parent_id)
        if parent["executor"] != actor.username:
            raise MailNotAllowed("only the executor of an assignment may nest assignments in it")
        if parent["status"] in FINAL_STATUSES:
            raise WrongStatus(f"the parent assignment is {parent['status']}")
    items = attachments.prepare(actor, attachment_items)
    assignment_id, instance_id = ObjectId(), ObjectId()
    status = "control" if controller else "issued"
    plain = text.html_to_text(safe)
    record = Assignment(
        id=assignment_id,
        title=title,
        text=safe,
        issuer=actor.username,
        executor=executor,
        controller=controller or None,
        under_control=bool(controller),
        due_at=due,
        control_due=control,
        remind_at=remind_at(now, due),
        status=status,
        instance_id=instance_id,
        attachments=items,
        parent_id=parent["_id"] if parent else None,
        ancestors=[parent["_id"], *parent.get("ancestors", [])] if parent else [],
        viewers=list(dict.fromkeys(p for p in (actor.username, executor, controller) if p)),
        read_by=[actor.username],
        created_at=now,
        updated_at=now,
        history=[HistoryEntry(at=now, by=actor.username, status=status)],
        words=text.words(
            title, plain, actor.username, executor, controller or "", *(a.title for a in items)
        ),
    )
    record.save(force_insert=True)
    variables = {
        "assignment_id": str(assignment_id),
        "title": title,
        "issuer": actor.username,
        "executor": executor,
        "due_at": iso(due),
        "comment": "",
        "lane_owners": {
            "Issuer": [actor.username],
            "Executor": [executor],
            "Controller": [controller] if controller else [],
        },
    }
    try:
        instances.start(
            PROCESS,
            actor,
            variables,
            instance_id=instance_id,
            subject={"type": SUBJECT, "id": str(assignment_id), "title": title[:200]},
        )
    except EngineError:
        record.delete()
        raise
    notifications.notify(
        f"assignment:{assignment_id}:r0",
        [u for u in (executor, controller) if u != actor.username and u],
        template="assignment.issued",
        values={"by": actor.username, "title": title, "due": due},
        link=links.assignment(assignment_id),
        source={"type": SUBJECT, "id": str(assignment_id)},
    )
    if parent is not None:
        transition(
            parent["_id"],
            "in_progress",
            actor.username,
            "",
            only_from=("issued", "control", "returned"),
        )
    return _view(dict(repository.assignments().find_one({"_id": assignment_id}) or {}), actor)


def transition(
    assignment_id: ObjectId,
    status: str,
    by: str,
    note: str = "",
    only_from: tuple[str, ...] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Move an assignment to `status` and notify its other viewers; None if it was there
    already, is final, or (with `only_from`) is in another status.

    A repeated call (an operator re-run after a lost compare-and-set) changes nothing and
    notifies nobody: the status condition makes it happen once.
    """
    allowed: dict[str, Any] = {"$nin": [*FINAL_STATUSES, status]}
    if only_from is not None:
        allowed = {"$in": [s for s in only_from if s != status]}
    now = utcnow()
    doc = repository.assignments().find_one_and_update(
        {"_id": assignment_id, "status": allowed},
        {
            "$set": {"status": status, "updated_at": now, "read_by": [by], **(extra or {})},
            "$inc": {"revision": 1},
            "$push": {"history": {"at": now, "by": by, "status": status, "note": note[:2000]}},
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        return None
    notifications.notify(
        f"assignment:{assignment_id}:r{doc['revision']}",
        [u for u in doc["viewers"] if u != by],
        template="assignment.status",
        values={"by": by, "title": doc["title"], "status": status, "note": note[:500]},
        link=links.assignment(assignment_id),
        source={"type": SUBJECT, "id": str(assignment_id)},
    )
    return dict(doc)


def get(actor: Actor, assignment_id: str, mark_read: bool = True) -> dict[str, Any]:
    """An assignment the actor issued, executes or controls, with the nested ones they see."""
    doc = _load(actor, assignment_id)
    if mark_read and actor.username not in doc.get("read_by", []):
        repository.assignments().update_one(
            {"_id": doc["_id"]}, {"$addToSet": {"read_by": actor.username}}
        )
        doc["read_by"] = [*doc.get("read_by", []), actor.username]
    now = utcnow()
    children = (
        repository.assignments()
        .find({"parent_id": doc["_id"], **repository.assignment_filter(actor)}, {"words": 0})
        .sort("created_at", 1)
        .limit(200)
    )
    return {**_view(doc, actor, now), "children": [_view(c, actor, now) for c in children]}


def list_for(
    actor: Actor,
    role: str | None = None,
    status: str | None = None,
    query: str | None = None,
    overdue: bool = False,
    under_control: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> pagination.Page:
    """Assignments the actor may see, latest change first."""
    if role is not None and role not in ROLES:
        raise MailInvalid("unknown role", {"role": [f"one of {', '.join(ROLES)}"]})
    limit = pagination.limit_of(limit)
    now = utcnow()
    condition = pagination.combine(
        repository.assignment_filter(actor),
        {role: actor.username} if role else {},
        {"status": status} if status else {},
        overdue_filter(now) if overdue else {},
        {"under_control": True} if under_control else {},
        text.search_filter(query),
        pagination.after(pagination.decode(cursor), "updated_at"),
    )
    docs = repository.find_page(
        repository.assignments(), condition, "updated_at", limit + 1, {"words": 0}
    )
    items, next_cursor = pagination.page_of(docs, limit, "updated_at")
    return pagination.Page([_view(d, actor, now) for d in items], next_cursor)


def start_work(actor: Actor, assignment_id: str) -> dict[str, Any]:
    """The executor takes the assignment up: status in progress."""
    doc = _load(actor, assignment_id)
    if doc["executor"] != actor.username:
        raise MailNotAllowed("only the executor starts work on an assignment")
    if doc["status"] not in ("issued", "control", "returned", "in_progress"):
        raise WrongStatus(f"the assignment is {doc['status']}")
    transition(
        doc["_id"], "in_progress", actor.username, only_from=("issued", "control", "returned")
    )
    return get(actor, assignment_id, mark_read=False)


def report(actor: Actor, assignment_id: str, report_text: str) -> dict[str, Any]:
    """The executor reports the work done; the controller or the issuer reviews it next."""
    doc = _load(actor, assignment_id)
    if doc["executor"] != actor.username:
        raise MailNotAllowed("only the executor reports on an assignment")
    task = repository.open_task(doc.get("instance_id"), EXECUTE)
    if doc["status"] not in EXECUTING or task is None:
        raise WrongStatus(f"the assignment is {doc['status']}: nothing to report now")
    instances.complete_task(task["task_guid"], actor, {"report": report_text})
    return get(actor, assignment_id, mark_read=False)


def review(actor: Actor, assignment_id: str, decision: str, comment: str = "") -> dict[str, Any]:
    """The controller (under control) or the issuer accepts the work or returns it."""
    doc = _load(actor, assignment_id)
    task = repository.open_task(doc.get("instance_id"), REVIEW)
    if task is None:
        raise WrongStatus(f"the assignment is {doc['status']}: nothing to review now")
    if task.get("assignee") != actor.username:
        raise MailNotAllowed(
            "the controller reviews an assignment under control, otherwise its issuer"
        )
    instances.complete_task(task["task_guid"], actor, {"decision": decision, "comment": comment})
    return get(actor, assignment_id, mark_read=False)


def put_under_control(
    actor: Actor, assignment_id: str, controller: str, control_due: datetime
) -> dict[str, Any]:
    """The issuer puts the assignment under control: status `control`, and the controller
    checks the work before it is accepted."""
    doc = _load(actor, assignment_id)
    if doc["issuer"] != actor.username:
        raise MailNotAllowed("only the issuer puts an assignment under control")
    now = utcnow()
    due = naive_utc(control_due)
    if due <= now:
        raise MailInvalid("the control date has passed", {"control_due": ["must be in the future"]})
    controller = people.check_user(controller, "controller")
    viewers = list(dict.fromkeys(p for p in (doc["issuer"], doc["executor"], controller)))
    updated = repository.assignments().find_one_and_update(
        {"_id": doc["_id"], "status": {"$in": list(EXECUTING)}},
        {
            "$set": {
                "controller": controller,
                "control_due": due,
                "under_control": True,
                "status": "control",
                "viewers": viewers,
                "updated_at": now,
                "read_by": [actor.username],
            },
            "$addToSet": {"words": controller},
            "$inc": {"revision": 1},
            "$push": {
                "history": {
                    "at": now,
                    "by": actor.username,
                    "status": "control",
                    "note": f"controller {controller}",
                }
            },
        },
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise WrongStatus(f"the assignment is {doc['status']}: too late to put it under control")
    notifications.notify(
        f"assignment:{doc['_id']}:r{updated['revision']}",
        [u for u in viewers if u != actor.username],
        template="assignment.control",
        values={
            "by": actor.username,
            "title": doc["title"],
            "controller": controller,
            "control_due": due,
        },
        link=links.assignment(doc["_id"]),
        source={"type": SUBJECT, "id": str(doc["_id"])},
    )
    return get(actor, assignment_id, mark_read=False)


def cancel(actor: Actor, assignment_id: str, reason: str = "") -> dict[str, Any]:
    """The issuer cancels an assignment and, with it, the assignments nested in it."""
    doc = _load(actor, assignment_id)
    if doc["issuer"] != actor.username:
        raise MailNotAllowed("only the issuer cancels an assignment")
    if doc["status"] in FINAL_STATUSES:
        raise WrongStatus(f"the assignment is {doc['status']} already")
    for item in [
        doc,
        *repository.assignments().find(
            {"ancestors": doc["_id"], "status": {"$nin": list(FINAL_STATUSES)}}, {"instance_id": 1}
        ),
    ]:
        end_instance(item.get("instance_id"), actor)
        note = reason if item["_id"] == doc["_id"] else "the parent assignment was cancelled"
        transition(item["_id"], "cancelled", actor.username, note)
    return get(actor, assignment_id, mark_read=False)


def open_attachment(actor: Actor, assignment_id: str, attachment_id: str) -> FileContent:
    """The content of a file attached to an assignment the actor may see."""
    doc = _load(actor, assignment_id)
    found = attachments.find(
        (Attachment._from_son(a) for a in doc.get("attachments", [])), attachment_id
    )
    return attachments.open_content(found)


# ---------------------------------------------------------------- operators and subject


@operators.register(
    "set_assignment_status",
    params={
        "status": operators.Param(required=True, kind="str"),
        "note": operators.Param(kind="str"),
        "by": operators.Param(kind="str"),
    },
)
def set_status_operator(call: operators.OperatorCall) -> dict[str, Any]:
    """Service task: move the instance's assignment to `status` (with `note` and `by`)."""
    status = str(call.params.get("status") or "")
    if status not in ("in_progress", "done", "accepted", "returned"):
        raise ProcessError(f"set_assignment_status: status {status!r} is not one a diagram sets")
    note = str(call.params.get("note") or "")
    extra = {"report": note[:MAX_TEXT]} if status == "done" else None
    transition(
        subject_id(call, SUBJECT), status, str(call.params.get("by") or "system"), note, extra=extra
    )
    return {"status": status}


@operators.register("load_assignment", params={})
def load_operator(call: operators.OperatorCall) -> dict[str, Any]:
    """Service task: the assignment's control settings, lane owners and timer durations."""
    doc = repository.assignments().find_one({"_id": subject_id(call, SUBJECT)})
    if doc is None:
        raise ProcessError("load_assignment: the assignment is gone")
    controller = doc.get("controller") if doc.get("under_control") else None
    now = utcnow()
    return {
        "remind_in": duration_until(doc.get("remind_at"), now),
        "due_in": duration_until(doc["due_at"], now),
        "control_in": duration_until(doc.get("control_due"), now),
        "under_control": bool(controller),
        "controller": controller,
        "control_due": iso(doc["control_due"]) if controller and doc.get("control_due") else None,
        "issuer": doc["issuer"],
        "executor": doc["executor"],
        "lane_owners": {
            "Issuer": [doc["issuer"]],
            "Executor": [doc["executor"]],
            "Controller": [controller] if controller else [],
        },
    }


def _audience(assignment_id: str, role: str) -> list[str]:
    doc = repository.assignments().find_one(
        {"_id": repository.object_id(assignment_id)},
        {"issuer": 1, "executor": 1, "controller": 1, "viewers": 1},
    )
    if doc is None:
        return []
    if role in ("all", "viewers"):
        return list(doc.get("viewers", []))
    return [doc[role]] if role in ROLES and doc.get(role) else []


def _values(assignment_id: str) -> dict[str, Any]:
    doc = repository.assignments().find_one(
        {"_id": repository.object_id(assignment_id)}, {"words": 0, "history": 0, "text": 0}
    )
    if doc is None:
        return {}
    return {
        "title": doc["title"],
        "due": doc["due_at"],
        "control_due": doc.get("control_due"),
        "issuer": doc["issuer"],
        "executor": doc["executor"],
        "controller": doc.get("controller") or "",
        "status": doc["status"],
    }


notifications.register_subject(
    SUBJECT, notifications.SubjectKind(audience=_audience, values=_values, link=links.assignment)
)
