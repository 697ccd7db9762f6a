"""Repair commands for running instances, and migration between versions.

Allowed to admins, to designers and to whoever deployed the instance's definition. Each
command is recorded in the instance's event log (the audit trail) with who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from . import data as data_rules
from . import definitions, instances, jobs, queries, retention, runtime, surgery
from .actor import Actor
from .errors import InvalidInput, NotAllowed
from .models import ProcessDefinition, ProcessInstance

DESIGNERS = "designers"
REPAIRABLE = ("active", "suspended")


def may_repair(doc: dict[str, Any], actor: Actor) -> bool:
    """Admins, designers and the deployer of the instance's definition may repair it."""
    if actor.is_admin or DESIGNERS in actor.groups:
        return True
    deployed_by = ProcessDefinition.objects(id=doc["definition_id"]).scalar("deployed_by").first()
    return bool(deployed_by) and deployed_by == actor.username


def _guard(instance_id: str, actor: Actor, reason: str) -> dict[str, Any]:
    if not reason or not reason.strip():
        raise InvalidInput("say why", {"reason": ["is required for a repair"]})
    doc = instances.get(queries.visible_instance(instance_id, actor)["_id"])
    if not may_repair(doc, actor):
        raise NotAllowed("only admins, designers and the process's owner may repair it")
    return doc


def _detail(doc: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """The instance as the API shows it after a repair (variables, tasks, history)."""
    return queries.instance_detail(doc["_id"], actor)


def _record(
    events: list[dict[str, Any]], kind: str, actor: Actor, now: datetime, reason: str, **data: Any
) -> None:
    events.append(
        {
            "type": f"repair_{kind}",
            "actor": actor.username,
            "at": now,
            "task_guid": None,
            "task_name": None,
            "data": {"reason": reason.strip(), **data},
        }
    )


def cancel_activity(instance_id: str, actor: Actor, element: str, reason: str) -> dict[str, Any]:
    """Take the token off an element."""
    doc = _guard(instance_id, actor, reason)

    def mutate(runner: runtime.Runner, events: list[dict[str, Any]], now: datetime) -> None:
        surgery.cancel_activity(runner, element)
        _record(events, "cancel_activity", actor, now, reason, element=element)

    return _detail(instances.change(doc["_id"], actor, mutate, REPAIRABLE), actor)


def move_token(
    instance_id: str, actor: Actor, source: str, target: str, reason: str
) -> dict[str, Any]:
    """Move the token from element `source` to element `target`."""
    doc = _guard(instance_id, actor, reason)

    def mutate(runner: runtime.Runner, events: list[dict[str, Any]], now: datetime) -> None:
        surgery.move_token(runner, source, target)
        _record(events, "move_token", actor, now, reason, source=source, target=target)

    return _detail(instances.change(doc["_id"], actor, mutate, REPAIRABLE), actor)


def skip_task(
    instance_id: str, actor: Actor, element: str, data: dict[str, Any], reason: str
) -> dict[str, Any]:
    """Complete an active (e.g. failed) task without running it, with `data` as output."""
    data = data_rules.check_data(data, "data")
    doc = _guard(instance_id, actor, reason)

    def mutate(runner: runtime.Runner, events: list[dict[str, Any]], now: datetime) -> None:
        surgery.skip_task(runner, element, data)
        _record(events, "skip_task", actor, now, reason, element=element, fields=sorted(data))

    instances.change(doc["_id"], actor, mutate, REPAIRABLE)
    jobs.close_incidents(doc["_id"], actor.username)
    return queries.instance_detail(doc["_id"], actor)


def set_variables(
    instance_id: str, actor: Actor, data: dict[str, Any], reason: str
) -> dict[str, Any]:
    """Merge `data` into the data of the tasks that hold a token."""
    data = data_rules.check_data(data, "variables")
    doc = _guard(instance_id, actor, reason)

    def mutate(runner: runtime.Runner, events: list[dict[str, Any]], now: datetime) -> None:
        surgery.set_variables(runner, data)
        _record(events, "set_variables", actor, now, reason, fields=sorted(data))

    return _detail(instances.change(doc["_id"], actor, mutate, REPAIRABLE), actor)


def reassign_task(
    instance_id: str,
    actor: Actor,
    guid: str,
    assignee: str | None,
    candidates: list[str] | None,
    reason: str,
) -> dict[str, Any]:
    """Give an open task to another user, or offer it to other users and groups."""
    if not assignee and not candidates:
        raise InvalidInput(
            "name a new assignee or candidates",
            {"assignee": ["an assignee or candidates are required"]},
        )
    doc = _guard(instance_id, actor, reason)
    task = next((t for t in doc.get("open_tasks", []) if t["guid"] == guid), None)
    if task is None:
        raise InvalidInput(f"task {guid} is not open in this instance", {"task": ["not open"]})
    new = {
        "assignee": assignee or None,
        "candidates": list(candidates or ([assignee] if assignee else [])),
    }
    return _detail(
        instances.change(
            doc["_id"],
            actor,
            _note_reassignment(actor, guid, new, reason),
            REPAIRABLE,
            reassign={guid: new},
        ),
        actor,
    )


def _note_reassignment(actor: Actor, guid: str, new: dict[str, Any], reason: str) -> Any:
    def mutate(runner: runtime.Runner, events: list[dict[str, Any]], now: datetime) -> None:
        _record(events, "reassign_task", actor, now, reason, task=guid, **new)

    return mutate


# -------------------------------------------------------------------------- migration


@dataclass
class MigrationReport:
    """What a migration did, or would do (dry run); `job_id` when it runs in the background."""

    movable: list[dict[str, Any]]
    blocked: list[dict[str, Any]]
    migrated: int = 0
    job_id: str | None = None


def request_migration(
    process_key: str,
    from_version: int,
    to_version: int,
    actor: Actor,
    mapping: dict[str, str] | None = None,
    dry_run: bool = True,
    reason: str = "",
) -> MigrationReport:
    """A dry-run report; unless `dry_run`, the migration itself is queued as a job."""
    report = migrate(process_key, from_version, to_version, actor, mapping, True, reason)
    if dry_run or not report.movable:
        return report
    if not reason.strip():
        raise InvalidInput("say why", {"reason": ["is required for a migration"]})
    key = f"migration:{process_key}:{from_version}:{to_version}:{ObjectId()}"
    jobs.enqueue(
        "migration",
        key,
        payload={
            "process_key": process_key,
            "from": from_version,
            "to": to_version,
            "mapping": mapping or {},
            "reason": reason,
            "actor": actor.username,
            "groups": sorted(actor.groups),
            "is_admin": actor.is_admin,
        },
        max_attempts=1,
    )
    report.job_id = key
    return report


@jobs.handler("migration")
def _run_migration(job: jobs.Job) -> None:
    p = job.payload
    actor = Actor(p["actor"], frozenset(p["groups"]), p["is_admin"])
    migrate(p["process_key"], p["from"], p["to"], actor, p["mapping"], False, p["reason"])


def migrate(
    process_key: str,
    from_version: int,
    to_version: int,
    actor: Actor,
    mapping: dict[str, str] | None = None,
    dry_run: bool = True,
    reason: str = "",
    limit: int = 1000,
) -> MigrationReport:
    """Move running instances of one version to another (a dry run only reports)."""
    if not (actor.is_admin or DESIGNERS in actor.groups):
        raise NotAllowed("only admins and designers migrate instances")
    if not dry_run and not reason.strip():
        raise InvalidInput("say why", {"reason": ["is required for a migration"]})
    source = definitions.find(process_key, from_version)
    target_def = definitions.find(process_key, to_version)
    target = definitions.load(target_def.id)
    report = MigrationReport([], [])
    ids = (
        ProcessInstance.objects(definition_id=source.id, status__in=REPAIRABLE)
        .limit(limit)
        .scalar("id")
    )
    for instance_id in ids:
        doc = instances.get(instance_id)
        runner = runtime.Runner.restore(definitions.load(source.id).specs, doc["state"], None)
        plan, _ = surgery.plan_migration(runner, target.specs, mapping or {})
        entry = {"instance_id": str(instance_id), "mapping": plan.mapping, "reasons": plan.reasons}
        (report.movable if plan.possible else report.blocked).append(entry)
        if plan.possible and not dry_run:
            instances.change(
                instance_id,
                actor,
                _migrator(target, mapping or {}, actor, reason, from_version),
                REPAIRABLE,
            )
            report.migrated += 1
    return report


def _migrator(
    target: definitions.LoadedDefinition,
    mapping: dict[str, str],
    actor: Actor,
    reason: str,
    from_version: int,
) -> Any:
    def mutate(
        runner: runtime.Runner, events: list[dict[str, Any]], now: datetime
    ) -> definitions.LoadedDefinition:
        plan, diff = surgery.plan_migration(runner, target.specs, mapping)
        if not plan.possible or diff is None:
            raise InvalidInput("the instance cannot be migrated", {"instance": plan.reasons})
        surgery.migrate(runner, target.specs, diff)
        _record(
            events,
            "migrate",
            actor,
            now,
            reason,
            from_version=from_version,
            to_version=target.version,
            mapping=plan.mapping,
        )
        return target

    return mutate


def diagram_state(instance_id: str, actor: Actor) -> dict[str, Any]:
    """Tokens per BPMN element, and the elements where an incident stopped the instance."""
    doc = instances.get(queries.visible_instance(instance_id, actor)["_id"])
    runner = runtime.Runner.restore(
        definitions.load(doc["definition_id"]).specs, retention.state_of(doc), None
    )
    incidents = [i.task for i in jobs.list_incidents("open", ObjectId(str(doc["_id"])))]
    return {
        "instance_id": str(doc["_id"]),
        "process_key": doc["process_key"],
        "version": doc["definition_version"],
        "elements": surgery.diagram_state(runner),
        "incidents": [t for t in incidents if t],
    }
