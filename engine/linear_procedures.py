"""Linear procedures: generate, deploy privately, start; remove after the run; prototypes.

A user's list of steps becomes a BPMN diagram (engine.linear), deployed as a private
definition (only its creator, whom a prototype is shared with, and admins see it) and
started on the chosen subject. When the instance ends, a `linear_cleanup` job (scheduled by
`repository.project`) removes the definition, unless the procedure was saved as a
prototype: then it stays, can be started again and shared with users and groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from . import data as data_rules
from . import definitions, instances, jobs, linear, repository
from .actor import Actor
from .errors import InstanceNotFound, InvalidInput, NotFound, PermissionDenied
from .models import utcnow
from .repository import LINEAR_KEY_PREFIX

CLEANUP_JOB = "linear_cleanup"
MAX_SHARED = 200


class LinearProcedure(Document):
    """A linear procedure as its creator wrote it, and the definition generated from it."""

    key = StringField(required=True)  # the process key of its definition
    title = StringField(required=True)
    owner = StringField(required=True)
    steps = ListField(DictField())  # engine.linear.step_to_dict
    subject = DictField(default=None, null=True)  # what the first run was started on
    prototype = BooleanField(default=False)  # kept after its run, may be started again
    shared_with = ListField(StringField())  # principals: "user" or "group:NAME"
    readers = ListField(StringField())  # owner + shared_with: one multikey condition
    definition_id = ObjectIdField(required=True)
    definition_version = IntField(default=1)
    created_at = DateTimeField(default=utcnow)
    removed_at = DateTimeField(null=True)  # its definition was removed after the run

    meta = {
        "collection": "linear_procedures",
        "indexes": [
            {"fields": ["key"], "unique": True},
            {"fields": ["prototype", "readers", "-created_at"]},
        ],
    }


ALL_MODELS = (LinearProcedure,)


@dataclass(frozen=True)
class Run:
    """A linear procedure and the instance just started from it."""

    procedure: LinearProcedure
    instance: dict[str, Any]


class LinearProcedureNotFound(NotFound):
    code = "linear_procedure_not_found"


class NotProcedureOwner(PermissionDenied):
    code = "not_procedure_owner"


def _sees(procedure: LinearProcedure, actor: Actor) -> bool:
    return actor.is_admin or bool(set(procedure.readers) & set(actor.principals))


def _start(
    procedure: LinearProcedure,
    actor: Actor,
    subject: dict[str, Any] | None,
    replace: dict[str, str] | None = None,
) -> dict[str, Any]:
    steps = [linear.step_from_dict(s) for s in procedure.steps]
    variables = {
        "procedure_title": procedure.title,
        "lane_owners": linear.lane_owners(steps, replace),
    }
    # Its runs are the instances of its key (process_key is indexed): no list to grow here.
    return instances.start(procedure.key, actor, variables, subject=subject)


def create(
    actor: Actor,
    title: str,
    subject: dict[str, Any] | None,
    steps: list[linear.Step],
    save_as_prototype: bool = False,
) -> Run:
    """Generate, deploy (privately) and start a linear procedure."""
    subject = data_rules.check_subject(subject)
    key = f"{LINEAR_KEY_PREFIX}{ObjectId()}"
    xml = linear.build_bpmn(key, title, steps)  # checks title and steps first
    (definition,) = definitions.deploy(xml, f"{key}.bpmn", actor.username, readers=[actor.username])
    procedure = LinearProcedure(
        key=key,
        title=title,
        owner=actor.username,
        steps=[linear.step_to_dict(s) for s in steps],
        subject=subject,
        prototype=save_as_prototype,
        readers=[actor.username],
        definition_id=definition.id,
        definition_version=definition.version,
    )
    procedure.save(force_insert=True)
    try:
        instance = _start(procedure, actor, subject)
    except Exception:
        # Nothing runs on it: a definition nobody can use would only clutter the store.
        _remove(procedure)
        raise
    procedure.reload()
    return Run(procedure, instance)


def get(procedure_id: str, actor: Actor) -> LinearProcedure:
    """A linear procedure the actor may see (its owner, whom it is shared with, admins)."""
    try:
        oid = ObjectId(procedure_id)
    except (InvalidId, TypeError):
        raise LinearProcedureNotFound(f"no linear procedure {procedure_id}") from None
    found = LinearProcedure.objects(id=oid, removed_at=None).first()
    if found is None or not _sees(found, actor):
        raise LinearProcedureNotFound(f"no linear procedure {procedure_id}")
    return found


def _prototype(procedure_id: str, actor: Actor) -> LinearProcedure:
    found = get(procedure_id, actor)
    if not found.prototype:
        raise LinearProcedureNotFound(f"linear procedure {procedure_id} is not a prototype")
    return found


def start_prototype(
    procedure_id: str,
    actor: Actor,
    subject: dict[str, Any] | None,
    replace_executors: dict[str, str] | None = None,
) -> Run:
    """Run a saved prototype again, optionally with other people in some executors' place."""
    procedure = _prototype(procedure_id, actor)
    replace = dict(replace_executors or {})
    lanes = set(linear.lanes([linear.step_from_dict(s) for s in procedure.steps]))
    errors: dict[str, list[str]] = {}
    for old, new in replace.items():
        if old not in lanes:
            errors[f"replace_executors.{old}"] = ["is not an executor of this procedure"]
        elif not linear.EXECUTOR.match(new):
            errors[f"replace_executors.{old}"] = ["a user name or group:NAME"]
    if errors:
        raise InvalidInput("the replacements have invalid fields", errors)
    subject = data_rules.check_subject(subject)
    instance = _start(procedure, actor, subject, replace)
    procedure.reload()
    return Run(procedure, instance)


def share(procedure_id: str, actor: Actor, users: list[str], groups: list[str]) -> LinearProcedure:
    """Replace whom a prototype is shared with (they may see and start it): owner or admin."""
    procedure = _prototype(procedure_id, actor)
    if procedure.owner != actor.username and not actor.is_admin:
        raise NotProcedureOwner("only the procedure's creator or an admin may share it")
    principals = list(dict.fromkeys([*users, *(f"group:{g}" for g in groups)]))
    errors: dict[str, list[str]] = {}
    for name in users:
        if name.startswith("group:") or not linear.EXECUTOR.match(name):
            errors.setdefault("users", []).append(f"{name!r} is not a user name")
    for name in groups:
        if not linear.EXECUTOR.match(f"group:{name}"):
            errors.setdefault("groups", []).append(f"{name!r} is not a group name")
    if len(principals) > MAX_SHARED:
        errors["users"] = [f"share with at most {MAX_SHARED} users and groups"]
    if errors:
        raise InvalidInput("the share has invalid fields", errors)
    readers = list(dict.fromkeys([procedure.owner, *principals]))
    # The definition first: a failure in between leaves it no wider than the record says.
    definitions.set_readers(procedure.key, readers)
    LinearProcedure.objects(id=procedure.id).update_one(
        set__shared_with=principals, set__readers=readers
    )
    procedure.reload()
    return procedure


def discard_prototype(procedure_id: str, actor: Actor) -> None:
    """Stop keeping a prototype (its creator or an admin): removed now, or after its runs."""
    procedure = _prototype(procedure_id, actor)
    if procedure.owner != actor.username and not actor.is_admin:
        raise NotProcedureOwner("only the procedure's creator or an admin may discard it")
    LinearProcedure.objects(id=procedure.id).update_one(set__prototype=False)
    if not _running(procedure.key):
        _remove(procedure)
    # Otherwise the cleanup after the last run removes it (cleanup reads `prototype` anew).


def _running(key: str) -> bool:
    return bool(
        repository.instances().count_documents(
            {"process_key": key, "status": {"$in": ["active", "suspended"]}}, limit=1
        )
    )


def list_prototypes(actor: Actor) -> list[LinearProcedure]:
    """Prototypes the actor may see and start, newest first."""
    query: dict[str, Any] = {"prototype": True, "removed_at": None}
    if not actor.is_admin:
        query["readers__in"] = actor.principals
    return list(LinearProcedure.objects(**query).order_by("-created_at").limit(500))


def _remove(procedure: LinearProcedure) -> None:
    definitions.remove(procedure.key)
    LinearProcedure.objects(id=procedure.id, removed_at=None).update_one(set__removed_at=utcnow())


def cleanup(instance_id: ObjectId | str) -> bool:
    """After a run ended: remove its definition unless it is a prototype or still runs.

    Idempotent; True when the definition was removed (now or before).
    """
    try:
        doc = instances.get(instance_id)
    except InstanceNotFound:
        return False
    procedure = LinearProcedure.objects(key=doc["process_key"]).first()
    if procedure is None or procedure.prototype:
        return False
    if doc["status"] not in ("completed", "terminated"):
        return False
    if _running(procedure.key):
        return False
    _remove(procedure)
    return True


@jobs.handler(CLEANUP_JOB)
def _cleanup_job(job: jobs.Job) -> None:
    if job.instance_id is not None:
        cleanup(job.instance_id)
