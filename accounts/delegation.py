"""Handing a single task to someone else: delegation (optionally returned for acceptance)
and reassignment by the head of the assignee's department.

The task moves through the engine's own reassignment (a `task_reassigned` event in the
instance's log, committed with the instance and copied to the inbox), so the audit trail
says who did what and on whose behalf:

- `delegate`: the assignee (or their substitute) gives the task to another person; the
  event's actor is the delegator (`on_behalf_of` the assignee when a substitute does it).
- Without acceptance the delegate completes it as usual; the `task_completed` event says
  `on_behalf_of` the delegator (a completion check registered in `engine.instances`).
- With acceptance the delegate `submit`s the form data instead: the task goes back to the
  delegator (event by the delegate on behalf of the delegator), who `accept`s it (the task
  completes with the delegate's data; the event names the delegate) or `reject`s it with a
  comment (the task goes back to the delegate, who sees the comment and their data).
- `reassign_by_head`: the head of a department gives an open task of a member to another
  member, with a reason; anyone else is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from mongoengine.errors import NotUniqueError

from engine import data as data_rules
from engine import instances, runtime
from engine.actor import Actor
from engine.errors import (
    Conflict,
    FormInvalid,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TaskNotActive,
)
from engine.forms import validate_form_data
from engine.models import HumanTask, utcnow

from .models import Department, TaskDelegation, User

EVENT = "task_reassigned"


class DelegationNotFound(NotFound):
    code = "delegation_not_found"


class DelegationNotAllowed(PermissionDenied):
    code = "forbidden"


class DelegationConflict(Conflict):
    code = "delegation_conflict"


class AcceptanceRequired(Conflict):
    """The delegate of a task that returns for acceptance tried to complete it."""

    code = "acceptance_required"


def _task(guid: str) -> HumanTask:
    task = HumanTask.objects(task_guid=str(guid)).first()
    if task is None:
        raise DelegationNotFound(f"no task {guid}")
    if task.status != "open":
        raise TaskNotActive(f"task {guid} is {task.status} already")
    return task


def _person(username: str, field: str) -> str:
    if not User.objects(username=str(username), active=True, is_machine=False).only("id").first():
        raise InvalidInput("no such person", {field: ["no such active user"]})
    return str(username)


def _move(task: HumanTask, actor: Actor, to: str, action: str, **data: Any) -> None:
    """Give the open task to `to` and record why in the instance's log (one commit)."""
    guid = task.task_guid
    new = {"assignee": to, "candidates": [to]}

    def mutate(runner: runtime.Runner, events: list[dict[str, Any]], now: datetime) -> None:
        if not runner.is_ready_manual(guid):
            raise TaskNotActive(f"task {guid} is no longer active")
        details = {k: v for k, v in data.items() if v not in (None, "")}
        events.append(
            {
                "type": EVENT,
                "actor": actor.username,
                "at": now,
                "task_guid": guid,
                "task_name": task.name,
                "data": {"task": guid, **new, "action": action, **details},
            }
        )

    instances.change(task.instance_id, actor, mutate, ("active",), reassign={guid: new})


def _is(actor: Actor, name: str | None) -> bool:
    """Whether the actor is `name` or stands in for them now (a substitute)."""
    return bool(name) and (actor.username == name or name in actor.on_behalf_of)


def _acts_for(task: HumanTask, actor: Actor) -> str | None:
    """Whom the actor acts for when handing on this task: "" for oneself; None if not
    allowed (only the assignee, or their substitute, hands a task on)."""
    if task.assignee and task.assignee == actor.username:
        return ""
    if task.assignee and task.assignee in actor.on_behalf_of:
        return str(task.assignee)
    return None


def delegate(
    actor: Actor, guid: str, to: str, return_for_acceptance: bool = False, comment: str = ""
) -> TaskDelegation:
    """Hand the actor's task to `to`; with `return_for_acceptance` it comes back to them."""
    task = _task(guid)
    behalf = _acts_for(task, actor)
    if behalf is None:
        raise DelegationNotAllowed("only the task's assignee may delegate it")
    delegator = str(task.assignee)
    to = _person(to, "user")
    if to == delegator:
        raise InvalidInput("one cannot delegate to oneself", {"user": ["is the assignee"]})
    if TaskDelegation.objects(task_guid=task.task_guid, delegate=delegator).first():
        raise DelegationConflict("a delegated task cannot be delegated further")
    # A round waiting for the delegator's acceptance ends when they delegate anew; any
    # other record of this task is a running round (the unique index refuses a second).
    TaskDelegation.objects(
        task_guid=task.task_guid, delegator=delegator, state="awaiting_acceptance"
    ).delete()
    record = TaskDelegation(
        task_guid=task.task_guid,
        instance_id=task.instance_id,
        task_name=task.name,
        delegator=delegator,
        delegate=to,
        return_for_acceptance=bool(return_for_acceptance),
        comment=comment.strip(),
    )
    try:
        record.save(force_insert=True)
    except NotUniqueError as exc:  # delegated by a concurrent request just now
        raise DelegationConflict("the task was delegated meanwhile") from exc
    try:
        _move(
            task,
            actor,
            to,
            "delegated",
            delegator=delegator,
            on_behalf_of=behalf,
            return_for_acceptance=bool(return_for_acceptance),
            comment=comment.strip(),
        )
    except Exception:
        record.delete()
        raise
    return record


def get(actor: Actor, guid: str) -> TaskDelegation:
    """The task's delegation, for its delegator, its delegate and admins."""
    found = TaskDelegation.objects(task_guid=str(guid)).first()
    if found is None or not (
        actor.is_admin or _is(actor, found.delegator) or _is(actor, found.delegate)
    ):
        raise DelegationNotFound(f"task {guid} is not delegated")
    return found


def _open(
    actor: Actor, guid: str, role: str, state: str, holder: str
) -> tuple[TaskDelegation, HumanTask]:
    """The delegation the actor (in `role`) may act on now: in `state`, with the task open
    and held by `holder` (the delegate or the delegator)."""
    record = get(actor, guid)
    if not _is(actor, getattr(record, role)):
        raise DelegationNotAllowed(f"only the {role} may do this")
    task = _task(guid)
    if record.state != state or task.assignee != getattr(record, holder):
        raise DelegationConflict(f"the delegation is {record.state}, not {state}")
    return record, task


@contextmanager
def _step(record: TaskDelegation, to_state: str, **changes: Any) -> Iterator[None]:
    """Move the record from its state to `to_state` with one compare-and-set (so of two
    concurrent answers one wins and the other is refused), and back if the step fails."""
    before = {"state": record.state, **{k: getattr(record, k) for k in changes}}
    sets = {f"set__{k}": v for k, v in {"state": to_state, **changes}.items()}
    if not TaskDelegation.objects(id=record.id, state=record.state).update_one(
        **sets, set__updated_at=utcnow()
    ):
        raise DelegationConflict("the delegation changed meanwhile; reload it")
    try:
        yield
    except BaseException:
        TaskDelegation.objects(id=record.id, state=to_state).update_one(
            **{f"set__{k}": v for k, v in before.items()}
        )
        raise


def submit(actor: Actor, guid: str, data: dict[str, Any]) -> TaskDelegation:
    """The delegate's form data goes back to the delegator for acceptance."""
    record, task = _open(actor, guid, "delegate", "delegated", "delegate")
    if not record.return_for_acceptance:
        raise DelegationConflict("this delegation needs no acceptance: complete the task")
    data = data_rules.check_data(data or {}, "data")
    errors = validate_form_data(task.form, data)
    if errors:
        raise FormInvalid("the form has errors", errors)
    with _step(record, "awaiting_acceptance", data=data_rules.to_json_text(data)):
        _move(
            task,
            actor,
            record.delegator,
            "returned_for_acceptance",
            delegate=record.delegate,
            on_behalf_of=record.delegator,
            fields=sorted(data),
        )
    record.reload()
    return record


def data_of(record: TaskDelegation) -> dict[str, Any]:
    """The form data the delegate submitted (empty until they do)."""
    loaded = json.loads(record.data or "{}")
    return loaded if isinstance(loaded, dict) else {}


def accept(actor: Actor, guid: str) -> dict[str, Any]:
    """The delegator accepts: the task completes with the delegate's data."""
    record, _held = _open(actor, guid, "delegator", "awaiting_acceptance", "delegator")
    with _step(record, "accepting"):
        result = instances.complete_task(guid, actor, data_of(record))
    record.delete()
    return result


def reject(actor: Actor, guid: str, comment: str) -> TaskDelegation:
    """The delegator rejects: the task goes back to the delegate with a comment."""
    if not comment or not comment.strip():
        raise InvalidInput("say why", {"comment": ["is required to reject"]})
    record, task = _open(actor, guid, "delegator", "awaiting_acceptance", "delegator")
    with _step(record, "delegated", comment=comment.strip()):
        _move(
            task,
            actor,
            record.delegate,
            "delegation_rejected",
            delegator=record.delegator,
            comment=comment.strip(),
        )
    record.reload()
    return record


def recall(actor: Actor, guid: str) -> None:
    """The delegator takes a delegated task back before the delegate is done."""
    record, task = _open(actor, guid, "delegator", "delegated", "delegate")
    with _step(record, "recalling"):
        _move(task, actor, record.delegator, "delegation_recalled", delegate=record.delegate)
    record.delete()


def listed(actor: Actor, role: str, limit: int = 50) -> list[dict[str, Any]]:
    """The actor's delegations as delegator or delegate, newest first, with the task state."""
    field = "delegator" if role == "delegator" else "delegate"
    records = list(
        TaskDelegation.objects(**{field: actor.username}).order_by("-updated_at").limit(limit)
    )
    # One lookup by the unique task_guid per row: an $in would scan on the embedded database.
    return [
        {
            "delegation": r,
            "task_status": HumanTask.objects(task_guid=r.task_guid).scalar("status").first()
            or "unknown",
        }
        for r in records
    ]


def _completion_check(task: HumanTask, actor: Actor) -> dict[str, Any]:
    """Refuses the delegate's own completion when the task returns for acceptance; names
    the delegator (or, on acceptance, the delegate) in the task_completed event."""
    found = TaskDelegation.objects(task_guid=task.task_guid).first()
    if found is None:
        return {}
    if found.state == "delegated" and task.assignee == found.delegate:
        if not _is(actor, found.delegate):
            return {}  # an admin
        if found.return_for_acceptance:
            raise AcceptanceRequired(
                f"the task returns to {found.delegator} for acceptance: submit it"
            )
        if actor.username == found.delegate:
            return {"on_behalf_of": found.delegator, "delegated_by": found.delegator}
        return {"delegated_by": found.delegator}  # the delegate's substitute: on_behalf_of
    accepting = found.state in ("awaiting_acceptance", "accepting")
    if accepting and task.assignee == found.delegator and _is(actor, found.delegator):
        return {"delegate": found.delegate}
    return {}


instances.COMPLETION_CHECKS.append(_completion_check)


# -------------------------------------------------------------- reassignment by the head


def reassign_by_head(actor: Actor, guid: str, to: str, reason: str) -> HumanTask:
    """The head of the assignee's department gives the task to another member."""
    if not reason or not reason.strip():
        raise InvalidInput("say why", {"reason": ["is required to reassign"]})
    task = _task(guid)
    current = task.assignee
    headed = (
        list(Department.objects(head=actor.username, members=current).only("name", "members"))
        if current
        else []
    )
    if not headed:
        raise DelegationNotAllowed(
            "only the head of the assignee's department may reassign the task"
        )
    to = _person(to, "user")
    department = next((d for d in headed if to in d.members), None)
    if department is None:
        raise InvalidInput(
            "not a member of the department", {"user": ["is not a member of your department"]}
        )
    if to == current:
        raise InvalidInput("the task is theirs already", {"user": ["is the assignee already"]})
    _move(
        task,
        actor,
        to,
        "reassigned_by_head",
        previous=current,
        department=department.name,
        reason=reason.strip(),
    )
    TaskDelegation.objects(task_guid=task.task_guid).delete()  # the head's word ends it
    task.reload()
    return task


def department_tasks(actor: Actor, name: str, limit: int = 100) -> list[HumanTask]:
    """The open tasks assigned to the members of a department, earliest due first, for
    its head (and admins): what the head may reassign."""
    found = Department.objects(name=str(name)).only("head", "members").first()
    if found is None:
        raise DelegationNotFound(f"no department {name}")
    if not actor.is_admin and found.head != actor.username:
        raise DelegationNotAllowed("only the department's head sees its tasks")
    # One indexed walk per member (status, assignee, due_at): a long $in would scan.
    tasks: list[HumanTask] = []
    for member in found.members:
        tasks += list(
            HumanTask.objects(status="open", assignee=member).order_by("due_at").limit(limit)
        )
    tasks.sort(key=lambda t: (t.due_at is None, t.due_at or t.created_at, t.task_guid))
    return tasks[:limit]
