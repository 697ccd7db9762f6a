"""Stored engine records. Instance writes go through `repository` (compare-and-set)."""

from __future__ import annotations

from datetime import UTC, datetime

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

NO_DUE = datetime(9999, 12, 31)  # sorts a task without a due date after every dated one


def utcnow() -> datetime:
    """Now, in UTC, truncated to milliseconds as BSON stores it."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000, tzinfo=None)


class ProcessDefinition(Document):
    """One immutable deployed version of a BPMN process (or a DMN decision)."""

    key = StringField(required=True)  # BPMN process id or DMN decision id
    version = IntField(required=True, min_value=1)
    kind = StringField(required=True, choices=("bpmn", "dmn"))
    name = StringField(default="")
    filename = StringField(default="")
    source = StringField(required=True)  # the XML as uploaded (bytes decoded as UTF-8)
    source_hash = StringField(required=True)  # sha256 of the canonical content
    # SpiffWorkflow's serialized spec (JSON text): stored once, joined with instance state.
    spec = StringField(default="")
    forms = DictField()  # BPMN task id -> form definition (see engine.forms)
    user_tasks = DictField()  # BPMN task id -> {name, lane, kind, due (engine.deadlines)}
    message_starts = ListField(StringField())  # message names that start this process
    deployed_by = StringField(default="")
    deployed_at = DateTimeField(default=utcnow)
    # Private definitions (linear procedures, engine.linear_procedures): the principals who
    # may see and start it; None (absent) for an ordinary definition everyone sees.
    readers = ListField(StringField(), default=None, null=True)
    # Set when a private definition was removed after its run: hidden from every lookup by
    # key, kept only so the finished instance's history can still draw its diagram.
    removed_at = DateTimeField(null=True)
    # engine.process_extensions: auto-start rules, the object types they listen to (a flat
    # indexed field for the lookup when an object is created), and reference documents.
    auto_start = ListField(DictField())
    auto_start_types = ListField(StringField())
    references = ListField(DictField())

    meta = {
        "collection": "process_definitions",
        "indexes": [
            {"fields": ["kind", "key", "-version"], "unique": True},
            {"fields": ["kind", "key", "source_hash"]},
            {"fields": ["message_starts"]},
            {"fields": ["auto_start_types"]},
        ],
    }


class ProcessInstance(Document):
    """One run of a procedure. `version` guards every write (compare-and-set)."""

    definition_id = ObjectIdField(required=True)
    process_key = StringField(required=True)
    definition_version = IntField(required=True)
    status = StringField(required=True, default="active")
    subject = DictField(default=None, null=True)  # {"type": ..., "id": ..., "title": ...}
    started_by = StringField(required=True)
    started_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)
    # The serialized workflow without its spec (see ProcessDefinition.spec).
    state = StringField(required=True)
    serializer_version = StringField(required=True)
    engine_version = StringField(required=True)
    version = IntField(required=True, default=1)
    # What the instance shows between runs, derived from `state` at every write:
    variables = StringField(default="{}")  # JSON text: keys may be anything a user typed
    open_tasks = ListField(DictField())
    timers = ListField(DictField())
    next_timer_at = DateTimeField(null=True)
    async_calls = ListField(DictField())  # service tasks waiting for a background job
    job_keys = ListField(StringField())  # the jobs it needs now (timer, async calls)
    incident = DictField(default=None, null=True)  # {id, error} of an open incident
    legal_hold = BooleanField(default=False)  # never archived while set
    archived = BooleanField(default=False)  # its state moved to process_instance_archive
    archived_at = DateTimeField(null=True)
    # The outbox: events not yet copied to ProcessEvent, and the version whose open tasks
    # were last copied to HumanTask. A crash between the two writes is repaired from these.
    pending_events = ListField(DictField())
    projected_version = IntField(default=0)
    # True from a write until a repair clears it; the normal copy leaves it set and proves
    # itself by its last event (`projection_proof`, the last pending event's id) existing.
    projection_pending = BooleanField(default=True)
    projection_proof = StringField(null=True)
    written_at = DateTimeField(null=True)  # when the last write was sent (the repair scan)
    previous_job_keys = ListField(StringField())  # job_keys before the last write
    error = DictField(default=None, null=True)
    # Derived at each write too: messages the instance waits for ({name, correlation_key}),
    # who may see it (started_by, task candidates and assignees, who acted on it), and the
    # ids of the last messages it received (a repeated delivery is a no-op).
    waiting_messages = ListField(DictField())
    participants = ListField(StringField())
    received_messages = ListField(StringField())

    meta = {
        "collection": "process_instances",
        "indexes": [
            {"fields": ["process_key", "-started_at"]},
            {"fields": ["status", "-started_at"]},
            {"fields": ["started_by", "-started_at"]},
            {"fields": ["subject.type", "subject.id"]},
            {"fields": ["projection_pending", "written_at"]},
            {"fields": ["written_at"]},  # the timeline's look-back (engine.monitor)
            {"fields": ["status", "ended_at"]},
            {"fields": ["ended_at", "started_at"]},
            {"fields": ["waiting_messages.name", "waiting_messages.correlation_key"]},
            {"fields": ["participants", "-started_at"]},
        ],
    }


class HumanTask(Document):
    """A READY user task of an instance, as the inbox lists it."""

    instance_id = ObjectIdField(required=True)
    task_guid = StringField(required=True)
    bpmn_id = StringField(required=True)
    name = StringField(default="")
    process_key = StringField(required=True)
    definition_version = IntField(required=True)
    lane = StringField(null=True)
    assignee = StringField(null=True)  # who works on it now (claimed or assigned)
    candidates = ListField(StringField())  # "user" or "group:NAME" who may claim it
    owners = ListField(StringField())  # whose inbox lists it: [assignee] or the candidates
    due_sort = DateTimeField()  # due_at, or NO_DUE: the inbox's order without nulls
    form = DictField(default=None, null=True)
    subject = DictField(default=None, null=True)
    due_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    status = StringField(required=True, default="open")  # open | completed | cancelled
    completed_by = StringField(null=True)
    completed_at = DateTimeField(null=True)
    instance_suspended = BooleanField(default=False)
    reassigned = BooleanField(default=False)  # handed on since created (completion checks)

    meta = {
        "collection": "human_tasks",
        "indexes": [
            {"fields": ["task_guid"], "unique": True},
            {"fields": ["status", "owners", "due_sort", "_id"]},
            {"fields": ["status", "assignee", "due_at"]},
            {"fields": ["instance_id", "status"]},
            {"fields": ["created_at"]},
            {"fields": ["status", "created_at"]},
            {"fields": ["completed_at"], "sparse": True},
            {"fields": ["subject.type", "subject.id", "status"]},  # an object's open tasks
        ],
    }


class ProcessEvent(Document):
    """Append-only history: what happened to an instance, when, by whom."""

    id = StringField(primary_key=True)  # "<instance>:<instance version>:<n>": rewrites are no-ops
    instance_id = ObjectIdField(required=True)
    process_key = StringField(required=True)
    type = StringField(required=True)
    at = DateTimeField(required=True)
    actor = StringField(default="system")
    task_guid = StringField(null=True)
    task_name = StringField(null=True)
    subject = DictField(default=None, null=True)
    data = DictField()

    meta = {
        "collection": "process_events",
        "indexes": [
            {"fields": ["instance_id", "at"]},
            {"fields": ["subject.type", "subject.id", "at"]},
            {"fields": ["type", "at"]},
        ],
    }


class EngineMark(Document):
    """A named point the engine's background work has reached (the repair checkpoint)."""

    id = StringField(primary_key=True)
    at = DateTimeField(required=True)

    meta = {"collection": "engine_marks"}


ALL_MODELS = (ProcessDefinition, ProcessInstance, HumanTask, ProcessEvent, EngineMark)
