"""The instance service: start, complete, claim, suspend, resume, terminate, repair.

Every change is: load the instance, run the workflow in memory, write the new state with
one compare-and-set, then copy open tasks and events to their collections (`project`).
If anything fails before the compare-and-set, nothing was written; if the process dies
after it, `repair` (run on the next touch and by `repair_pending`) finishes the copy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError, PyMongoError

from . import data as data_rules
from . import deadlines, definitions, message_store, repository, runtime
from .actor import Actor
from .errors import (
    EngineError,
    FormInvalid,
    InstanceNotActive,
    InstanceNotFound,
    TaskNotActive,
    TaskNotClaimable,
    TaskNotFound,
    VersionConflict,
)
from .forms import validate_form_data
from .models import HumanTask, utcnow
from .operators import InstanceContext

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # retries of a compare-and-set lost to a concurrent change of another task
RECEIVED_KEPT = 100  # ids of the last messages an instance received, to ignore repeats
# Checks other packages add (accounts.delegation): each may refuse a completion (raise) or
# return data for the task_completed event (e.g. {"on_behalf_of": user}). They run for a
# task that was handed on since it was created (a `task_reassigned` or repair event marks
# it `reassigned`): the others need none, and skipping them saves a read per completion.
COMPLETION_CHECKS: list[Callable[[HumanTask, Actor], dict[str, Any]]] = []


@dataclass
class Change:
    """The outcome of one operation on an instance."""

    instance: dict[str, Any]
    events: list[dict[str, Any]]


def _event(
    type_: str, actor: str, at: datetime, task: dict[str, Any] | None = None, **data: Any
) -> dict[str, Any]:
    return {
        "type": type_,
        "actor": actor,
        "at": at,
        "task_guid": task["guid"] if task else None,
        "task_name": task["name"] if task else None,
        "data": data,
    }


def _context(doc: dict[str, Any], acting_user: str = "") -> InstanceContext:
    return InstanceContext(
        instance_id=str(doc["_id"]),
        process_key=doc["process_key"],
        started_by=doc["started_by"],
        subject=doc.get("subject"),
        acting_user=acting_user,
    )


def _owners(task: runtime.ReadyTask, started_by: str) -> tuple[str | None, list[str]]:
    """(assignee, candidates) by the lane convention; `lane_owners` in task data wins.

    A multi-instance child whose input item is a dict with `owners` (as `request_approval`
    prepares them) goes to those owners: each approver gets their own task.
    """
    item_owners = task.item.get("owners") if isinstance(task.item, dict) else None
    if isinstance(item_owners, list) and item_owners:
        owners = [str(o) for o in item_owners]
        single = len(owners) == 1 and not owners[0].startswith("group:")
        return (owners[0] if single else None), owners
    lane_owners = task.data.get("lane_owners")
    if task.lane and isinstance(lane_owners, dict) and isinstance(lane_owners.get(task.lane), list):
        owners = [str(o) for o in lane_owners[task.lane]]
        users = [o for o in owners if not o.startswith("group:")]
        if len(owners) == 1 and users:
            return users[0], owners
        return None, owners
    if task.lane:
        return None, [f"group:{task.lane}"]
    return started_by, [started_by]


def _open_tasks(
    runner: runtime.Runner,
    definition: definitions.LoadedDefinition,
    doc: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    previous = {t["guid"]: t for t in doc.get("open_tasks", [])}
    result = []
    for ready in runner.ready_manual_tasks():
        if ready.guid in previous:
            result.append(previous[ready.guid])
            continue
        assignee, candidates = _owners(ready, doc["started_by"])
        meta = definition.user_tasks.get(ready.bpmn_id, {})
        result.append(
            {
                "guid": ready.guid,
                "bpmn_id": ready.bpmn_id,
                "name": ready.name,
                "lane": ready.lane,
                "assignee": assignee,
                "candidates": candidates,
                "form": definition.forms.get(ready.bpmn_id),
                "created_at": now,
                "due_at": deadlines.due_at(meta.get("due"), now, ready.data),
            }
        )
    return result


def _derive(
    doc: dict[str, Any],
    runner: runtime.Runner,
    definition: definitions.LoadedDefinition,
    actor: Actor,
    now: datetime,
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    """The fields an instance write sets, and task events derived from the change."""
    for message in runner.thrown_messages():  # before the state is dumped without them
        events.append(
            _event(
                "message_sent",
                actor.username,
                now,
                name=message.name,
                correlation_key=message.correlation_key,
                payload=message.payload,
            )
        )
    open_tasks = _open_tasks(runner, definition, doc, now)
    before = {t["guid"] for t in doc.get("open_tasks", [])}
    after = {t["guid"] for t in open_tasks}
    handled = {e["task_guid"] for e in events if e["task_guid"]}
    for task in doc.get("open_tasks", []):
        if task["guid"] not in after and task["guid"] not in handled:
            events.append(_event("task_cancelled", actor.username, now, task))
    for task in open_tasks:
        if task["guid"] not in before:
            events.append(
                _event(
                    "task_created",
                    actor.username,
                    now,
                    task,
                    bpmn_id=task["bpmn_id"],
                    assignee=task["assignee"],
                    candidates=task["candidates"],
                )
            )
    status = doc["status"]
    ended_at = doc.get("ended_at")
    if runner.completed and status == "active":
        status, ended_at = "completed", now
        events.append(_event("instance_completed", actor.username, now))
    timers = [{"name": t.name, "kind": t.kind, "due": t.due} for t in runner.timers()]
    dues = [t["due"] for t in timers if t["due"] is not None]
    participants = list(doc.get("participants") or [doc["started_by"]])
    for name in [
        actor.username,
        *(p for t in open_tasks for p in [*t["candidates"], t["assignee"]] if p),
    ]:
        if name not in participants:
            participants.append(name)
    return {
        "waiting_messages": [
            {"name": m.name, "correlation_key": m.correlation_key}
            for m in runner.waiting_messages()
        ],
        "participants": participants,
        "state": runner.dump(),
        "serializer_version": runtime.SERIALIZER_VERSION,
        "engine_version": runtime.ENGINE_VERSION,
        "variables": data_rules.to_json_text(runner.variables()),
        "open_tasks": open_tasks,
        "timers": timers,
        "next_timer_at": min(dues) if dues else None,
        "async_calls": [
            {"guid": c.guid, "name": c.name, "operator": c.operator} for c in runner.async_calls()
        ],
        "status": status,
        "ended_at": ended_at,
        "updated_at": now,
    }


def _number_events(
    instance_id: ObjectId,
    version: int,
    process_key: str,
    subject: dict[str, Any] | None,
    events: list[dict[str, Any]],
) -> None:
    for i, event in enumerate(events):
        event.update(
            {
                "_id": f"{instance_id}:{version}:{i}",
                "instance_id": instance_id,
                "process_key": process_key,
                "subject": subject,
            }
        )


def _commit(
    doc: dict[str, Any],
    changes: dict[str, Any],
    events: list[dict[str, Any]],
    receive_buffered: bool = True,
) -> dict[str, Any]:
    """Compare-and-set the instance, then project it; return the new document."""
    new_version = doc["version"] + 1
    _number_events(doc["_id"], new_version, doc["process_key"], doc.get("subject"), events)
    # `doc` came through `_touch`: the outbox it carries was not copied yet (or is empty).
    _outbox(changes, list(doc.get("pending_events", [])) + events, doc.get("job_keys"))
    new_doc = {**doc, **changes, "version": new_version, "projection_pending": True}
    changes["job_keys"] = new_doc["job_keys"] = repository.job_keys(new_doc)
    changes["written_at"] = new_doc["written_at"] = utcnow()
    repository.compare_and_set(doc["_id"], doc["version"], changes)
    _project_or_defer(new_doc)
    return _receive_buffered(new_doc) if receive_buffered else new_doc


def _outbox(
    changes: dict[str, Any], pending: list[dict[str, Any]], job_keys_before: list[str] | None
) -> None:
    """The fields of a write that let its projection be finished (or proven) later."""
    changes["pending_events"] = pending
    changes["projection_proof"] = pending[-1]["_id"] if pending else None
    changes["previous_job_keys"] = list(job_keys_before or [])


def _project_or_defer(doc: dict[str, Any]) -> None:
    # The change is committed at this point; if copying it to the inbox fails, the copy is
    # finished later (next touch, or repair_pending), so the caller still gets success.
    try:
        repository.project(doc)
    except PyMongoError:
        log.warning("projection of instance %s deferred", doc["_id"], exc_info=True)


def _touch(instance_id: ObjectId | str) -> dict[str, Any]:
    """Load an instance, first finishing a projection a crash left undone."""
    return _settled(repository.load_instance(instance_id))


def _settled(doc: dict[str, Any], proof_found: bool | None = None) -> dict[str, Any]:
    """`doc` with its outbox copied: proven copied already, or repaired now."""
    if doc.get("pending_events") and repository.projected(doc, proof_found):
        return {**doc, "pending_events": []}
    if doc.get("projection_pending"):
        repository.project(doc, clear=True)
        return {**doc, "pending_events": [], "projection_pending": False}
    return doc


# ------------------------------------------------------------------------------ start


def start(
    process_key: str,
    actor: Actor,
    variables: dict[str, Any] | None = None,
    subject: dict[str, Any] | None = None,
    version: int | None = None,
    *,
    instance_id: ObjectId | None = None,
    message: message_store.InboundMessage | None = None,
) -> dict[str, Any]:
    """Start an instance and run it to its first wait state; return the stored document.

    With `instance_id` the start is idempotent: if that instance exists, it is returned and
    nothing new starts. With `message`, the message start event receives it.
    """
    variables = data_rules.check_data(variables or {}, "variables")
    subject = data_rules.check_subject(subject)
    definition = definitions.resolve(process_key, version, actor)
    now = utcnow()
    chosen_id, instance_id = instance_id, instance_id or ObjectId()
    doc: dict[str, Any] = {
        "_id": instance_id,
        "definition_id": ObjectId(definition.id),
        "process_key": definition.key,
        "definition_version": definition.version,
        "status": "active",
        "subject": subject,
        "started_by": actor.username,
        "started_at": now,
        "open_tasks": [],
        "pending_events": [],
        "version": 0,
        "projected_version": 0,
        "error": None,
    }
    runner = runtime.Runner.create(definition.specs, _context(doc, actor.username), variables)
    events = [_event("instance_started", actor.username, now, version=definition.version)]
    _record_service_tasks(runner, actor, now, events)
    runner.advance()
    if message is not None:
        events.append(_message_event(message, actor, now))
        runner.deliver_message(message.name, message.payload, None, any_key=True)
    changes = _derive(doc, runner, definition, actor, now, events)
    doc.update(changes)
    if message is not None and message.message_id:
        doc["received_messages"] = [message.message_id]
    doc["version"] = 1
    _number_events(instance_id, 1, definition.key, subject, events)
    _outbox(doc, events, [])
    doc["job_keys"] = repository.job_keys(doc)
    doc["projection_pending"] = True
    doc["written_at"] = utcnow()
    try:
        repository.insert_instance(doc)
    except DuplicateKeyError:
        if chosen_id is None:
            raise
        return _touch(chosen_id)  # the same start ran before: still one instance
    _project_or_defer(doc)
    return _receive_buffered(doc)


def _record_service_tasks(
    runner: runtime.Runner, actor: Actor, now: datetime, events: list[dict[str, Any]]
) -> None:
    """Append an event to `events` for each service task the runner executes."""

    def on_done(task: Any) -> None:
        spec = task.task_spec
        if hasattr(spec, "operation_name"):
            events.append(
                _event(
                    "service_task_completed",
                    actor.username,
                    now,
                    {"guid": str(task.id), "name": spec.bpmn_name or spec.bpmn_id},
                    operator=spec.operation_name,
                )
            )

    runner.on_task_done = on_done


# -------------------------------------------------------------------------- human tasks


def _visible(task: HumanTask, actor: Actor) -> bool:
    if actor.is_admin:
        return True
    if task.assignee == actor.username or task.assignee in actor.on_behalf_of:
        return True
    return bool(set(task.candidates) & set(actor.task_principals))


def _on_behalf_of(task: HumanTask, actor: Actor) -> str | None:
    """The absent user a substitute acts for on this task; None when acting as oneself."""
    if task.assignee == actor.username or set(task.candidates) & set(actor.principals):
        return None
    return actor.stands_in_for(task.assignee or list(task.candidates))


def get_task(guid: str, actor: Actor) -> HumanTask:
    """A task the actor may see: assigned to them or offered to them or their group.

    Candidates still see a task another candidate claimed (and who has it), but only the
    assignee may complete it.
    """
    task = HumanTask.objects(task_guid=str(guid)).first()
    if task is None or not _visible(task, actor):
        raise TaskNotFound(f"no task {guid}")
    return task


def complete_task(guid: str, actor: Actor, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Complete a READY user task with form data; return the instance document."""
    data = data_rules.check_data(data or {}, "data")
    task_doc, loaded, proof_found = repository.task_with_instance(str(guid))
    if task_doc is None:
        raise TaskNotFound(f"no task {guid}")
    task = HumanTask._from_son(task_doc)
    if not _visible(task, actor):
        raise TaskNotFound(f"no task {guid}")
    if task.status != "open":
        raise TaskNotActive(f"task {guid} is {task.status} already")
    substituted = _on_behalf_of(task, actor)
    if task.assignee and task.assignee not in (actor.username, substituted) and not actor.is_admin:
        raise TaskNotClaimable(f"task {guid} is claimed by {task.assignee}")
    behalf = {"on_behalf_of": substituted} if substituted else {}
    # A task stored before the mark existed has none: check it as if handed on.
    for check in COMPLETION_CHECKS if task_doc.get("reassigned", True) else []:
        behalf.update(check(task, actor))
    errors = validate_form_data(task.form, data)
    if errors:
        raise FormInvalid("the form has errors", errors)
    for _ in range(MAX_ATTEMPTS):
        # The instance read with the task serves the first attempt; a retry reads it anew.
        doc = _settled(loaded, proof_found) if loaded is not None else _touch(task.instance_id)
        loaded = None
        if doc["status"] in ("completed", "terminated"):
            raise TaskNotActive(f"task {guid} is no longer active: the instance is {doc['status']}")
        if doc["status"] != "active":
            raise InstanceNotActive(f"instance {doc['_id']} is {doc['status']}")
        definition = definitions.load(doc["definition_id"])
        runner = runtime.Runner.restore(
            definition.specs, doc["state"], _context(doc, actor.username)
        )
        if not runner.is_ready_manual(guid):
            raise TaskNotActive(f"task {guid} is no longer active")
        now = utcnow()
        open_task = next(
            (t for t in doc["open_tasks"] if t["guid"] == guid), {"guid": guid, "name": task.name}
        )
        events = [
            _event("task_completed", actor.username, now, open_task, fields=sorted(data), **behalf)
        ]
        _record_service_tasks(runner, actor, now, events)
        runner.complete(guid, data)
        changes = _derive(doc, runner, definition, actor, now, events)
        try:
            return _commit(doc, changes, events)
        except VersionConflict:
            continue  # another task of this instance moved first: run ours on the new state
    raise VersionConflict(f"instance {task.instance_id} keeps changing; try again")


def claim_task(guid: str, actor: Actor) -> HumanTask:
    """Take an unclaimed group task; claiming one's own task again is a no-op."""
    task = get_task(guid, actor)
    if task.status != "open":
        raise TaskNotActive(f"task {guid} is {task.status} already")
    if task.assignee == actor.username:
        return task
    result = repository.human_tasks().update_one(
        {"task_guid": task.task_guid, "status": "open", "assignee": None},
        {"$set": {"assignee": actor.username, "owners": [actor.username]}},
    )
    if result.modified_count == 0:
        raise TaskNotClaimable(f"task {guid} was claimed by someone else")
    task.reload()
    return task


def unclaim_task(guid: str, actor: Actor) -> HumanTask:
    """Give a claimed group task back to its candidates."""
    task = get_task(guid, actor)
    if task.status != "open":
        raise TaskNotActive(f"task {guid} is {task.status} already")
    if task.assignee != actor.username and not actor.is_admin:
        raise TaskNotClaimable(f"task {guid} is not claimed by you")
    if not any(c.startswith("group:") for c in task.candidates) and len(task.candidates) <= 1:
        raise TaskNotClaimable(f"task {guid} is assigned personally and cannot be released")
    repository.human_tasks().update_one(
        {"task_guid": task.task_guid, "status": "open"},
        {"$set": {"assignee": None, "owners": list(task.candidates)}},
    )
    task.reload()
    return task


# ---------------------------------------------------------------------------- lifecycle


def get(instance_id: ObjectId | str) -> dict[str, Any]:
    """The instance document (repairing its projection if a crash left it behind)."""
    return _touch(instance_id)


def _set_status(
    instance_id: ObjectId | str,
    actor: Actor,
    allowed_from: tuple[str, ...],
    status: str,
    event: str,
    reason: str = "",
) -> dict[str, Any]:
    why = {"reason": reason.strip()} if reason.strip() else {}
    for _ in range(MAX_ATTEMPTS):
        doc = _touch(instance_id)
        if doc["status"] == status:
            return doc
        if doc["status"] not in allowed_from:
            raise InstanceNotActive(f"instance {doc['_id']} is {doc['status']}")
        now = utcnow()
        changes: dict[str, Any] = {"status": status, "updated_at": now}
        events = [_event(event, actor.username, now, None, **why)]
        if status == "terminated":
            changes.update(open_tasks=[], timers=[], next_timer_at=None, ended_at=now)
            events.extend(
                _event("task_cancelled", actor.username, now, t) for t in doc.get("open_tasks", [])
            )
        try:
            return _commit(doc, changes, events)
        except VersionConflict:
            continue
    raise VersionConflict(f"instance {instance_id} keeps changing; try again")


def suspend(instance_id: ObjectId | str, actor: Actor, reason: str = "") -> dict[str, Any]:
    """Stop an active instance from advancing; its tasks cannot be completed meanwhile."""
    return _set_status(instance_id, actor, ("active",), "suspended", "instance_suspended", reason)


def resume(instance_id: ObjectId | str, actor: Actor, reason: str = "") -> dict[str, Any]:
    """Let a suspended instance advance again."""
    return _set_status(instance_id, actor, ("suspended",), "active", "instance_resumed", reason)


def terminate(instance_id: ObjectId | str, actor: Actor, reason: str = "") -> dict[str, Any]:
    """End an active or suspended instance for good; its open tasks are cancelled."""
    return _set_status(
        instance_id, actor, ("active", "suspended"), "terminated", "instance_terminated", reason
    )


# ----------------------------------------------------------------------------- messages


def _message_event(
    message: message_store.InboundMessage, actor: Actor, now: datetime
) -> dict[str, Any]:
    return _event(
        "message_received",
        actor.username,
        now,
        name=message.name,
        correlation_key=message.correlation_key,
        message_id=message.message_id,
    )


def deliver_message(
    instance_id: ObjectId | str,
    actor: Actor,
    message: message_store.InboundMessage,
    receive_buffered: bool = True,
) -> dict[str, Any]:
    """Hand a message to an instance that waits for it; return the instance document.

    A message whose id the instance received before changes nothing (one effect).
    """
    data_rules.check_data(message.payload, "payload")
    for _ in range(MAX_ATTEMPTS):
        doc = _touch(instance_id)
        received = list(doc.get("received_messages") or [])
        if message.message_id and message.message_id in received:
            return doc
        if doc["status"] != "active":
            raise InstanceNotActive(f"instance {doc['_id']} is {doc['status']}")
        definition = definitions.load(doc["definition_id"])
        runner = runtime.Runner.restore(definition.specs, doc["state"], _context(doc))
        now = utcnow()
        events = [_message_event(message, actor, now)]
        _record_service_tasks(runner, actor, now, events)
        runner.deliver_message(message.name, message.payload, message.correlation_key)
        changes = _derive(doc, runner, definition, actor, now, events)
        if message.message_id:
            changes["received_messages"] = [*received, message.message_id][-RECEIVED_KEPT:]
        try:
            return _commit(doc, changes, events, receive_buffered)
        except VersionConflict:
            continue
    raise VersionConflict(f"instance {instance_id} keeps changing; try again")


def receive_buffered(instance_id: ObjectId | str) -> dict[str, Any]:
    """Deliver buffered messages that the instance waits for; return its document."""
    return _receive_buffered(_touch(instance_id))


def _receive_buffered(doc: dict[str, Any]) -> dict[str, Any]:
    """Deliver buffered messages that the instance now waits for (see engine.messages)."""
    for _ in range(message_store.BUFFER_SCAN):
        if doc["status"] != "active" or not doc.get("waiting_messages"):
            return doc
        found = message_store.buffered_for(doc["waiting_messages"], doc["_id"])
        if found is None or not message_store.claim_buffered(found["_id"], doc["_id"]):
            return doc
        message = message_store.InboundMessage(
            name=found["name"],
            payload=found["payload"],
            correlation_key=found["correlation_key"],
            message_id=found["message_id"] or f"buffered:{found['_id']}",
        )
        try:
            doc = deliver_message(
                doc["_id"], Actor(found["sent_by"]), message, receive_buffered=False
            )
        except EngineError as exc:
            # The instance's own write is committed already; a message that cannot be
            # received is set aside (and logged) rather than failing that write.
            log.warning(
                "buffered message %s not received by %s: %s", found["_id"], doc["_id"], exc.message
            )
            message_store.fail_buffered(found["_id"], exc.message)
            continue
        message_store.drop_buffered(found, doc["_id"])
    return doc


def repair_pending(limit: int = 100) -> int:
    """Finish projections that a crash left undone; return how many were repaired."""
    repaired = 0
    for instance_id in repository.unprojected_instance_ids(limit):
        try:
            _touch(instance_id)
            repaired += 1
        except InstanceNotFound:
            continue
    return repaired


def variables(doc: dict[str, Any]) -> dict[str, Any]:
    """The instance's current data, decoded."""
    return dict(json.loads(doc.get("variables") or "{}"))


# --------------------------------------------------------------------- background work

SYSTEM_ACTOR = Actor("system", is_admin=True)


def fire_timers(instance_id: ObjectId | str) -> dict[str, Any] | None:
    """Let due timers of an instance fire and advance it; None if nothing was due."""
    for _ in range(MAX_ATTEMPTS):
        doc = _touch(instance_id)
        if doc["status"] != "active":
            return None
        definition = definitions.load(doc["definition_id"])
        runner = runtime.Runner.restore(definition.specs, doc["state"], _context(doc))
        now = utcnow()
        events: list[dict[str, Any]] = []
        _record_service_tasks(runner, SYSTEM_ACTOR, now, events)
        due = [t.name for t in runner.timers() if t.due is not None and t.due <= now]
        runner.advance()
        if runner.ran == 0:
            return None
        events.insert(0, _event("timer_fired", SYSTEM_ACTOR.username, now, timers=due))
        changes = _derive(doc, runner, definition, SYSTEM_ACTOR, now, events)
        try:
            return _commit(doc, changes, events)
        except VersionConflict:
            continue
    raise VersionConflict(f"instance {instance_id} keeps changing; try again")


def run_async_task(instance_id: ObjectId | str, guid: str, job_key: str) -> dict[str, Any] | None:
    """Call the operator of a waiting async service task, then complete it and advance.

    `job_key` reaches the operator as its idempotency key: if this runs twice (a worker
    died after the call), the operator's side effect must happen once.
    """
    result: Any = None
    called = False
    for _ in range(MAX_ATTEMPTS):
        doc = _touch(instance_id)
        if doc["status"] != "active":
            return None
        definition = definitions.load(doc["definition_id"])
        runner = runtime.Runner.restore(definition.specs, doc["state"], _context(doc))
        pending = runner.async_call(guid)
        if pending is None:
            return None  # completed by an earlier run of this job
        if not called:
            result = pending.call(_context(doc), job_key)
            called = True
        now = utcnow()
        events = [
            _event(
                "service_task_completed",
                SYSTEM_ACTOR.username,
                now,
                {"guid": guid, "name": pending.name},
                operator=pending.operator,
            )
        ]
        _record_service_tasks(runner, SYSTEM_ACTOR, now, events)
        runner.complete_async(guid, result)
        changes = _derive(doc, runner, definition, SYSTEM_ACTOR, now, events)
        try:
            return _commit(doc, changes, events)
        except VersionConflict:
            continue
    raise VersionConflict(f"instance {instance_id} keeps changing; try again")


def change(
    instance_id: ObjectId | str,
    actor: Actor,
    mutate: Callable[
        [runtime.Runner, list[dict[str, Any]], datetime], definitions.LoadedDefinition | None
    ],
    statuses: tuple[str, ...] = ("active",),
    reassign: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Apply `mutate(runner, events, now)` to an instance and store the result.

    The generic load / change / compare-and-set cycle for repairs: `mutate` changes the
    workflow in memory and appends the events that say what it did; it returns a
    definition when it moved the workflow to another version (a migration). `reassign`
    maps open task guids to new {assignee, candidates}.
    """
    for _ in range(MAX_ATTEMPTS):
        doc = _touch(instance_id)
        if doc["status"] not in statuses:
            raise InstanceNotActive(f"instance {doc['_id']} is {doc['status']}")
        definition = definitions.load(doc["definition_id"])
        runner = runtime.Runner.restore(definition.specs, doc["state"], _context(doc))
        now = utcnow()
        events: list[dict[str, Any]] = []
        _record_service_tasks(runner, actor, now, events)
        target = mutate(runner, events, now)
        base = doc
        if target is not None:
            # Tasks that survive the migration are described anew from the new version.
            ready = {t.guid for t in runner.ready_manual_tasks()}
            base = {
                **doc,
                "open_tasks": [t for t in doc.get("open_tasks", []) if t["guid"] not in ready],
            }
            definition = target
        changes = _derive(base, runner, definition, actor, now, events)
        if target is not None:
            changes.update(definition_id=ObjectId(target.id), definition_version=target.version)
        if reassign:
            changes["open_tasks"] = [
                {**t, **reassign.get(t["guid"], {})} for t in changes["open_tasks"]
            ]
        try:
            return _commit(doc, changes, events)
        except VersionConflict:
            continue
    raise VersionConflict(f"instance {instance_id} keeps changing; try again")
