"""Marshmallow schemas of the HTTP API: input is strict (unknown fields are refused), output
is declared field by field (nothing leaks that a schema does not name)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

MAX_LIMIT = 200
_NAME = validate.Length(min=1, max=200)


class UtcDateTime(fields.DateTime):
    """The database keeps naive UTC datetimes; on the wire they say so (+00:00)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _utc() -> UtcDateTime:
    return UtcDateTime(allow_none=True)


class StrictSchema(ma.Schema):
    """Input: an unknown field is an error naming that field."""

    class Meta:
        unknown = ma.RAISE


class PageQuerySchema(StrictSchema):
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"page size, at most {MAX_LIMIT}"},
    )
    cursor = fields.String(
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "next_cursor of the previous page"},
    )


# ------------------------------------------------------------------------------- auth


class TokenRequestSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(
        required=True, validate=validate.Length(min=1, max=1024), load_only=True
    )


class TokenSchema(ma.Schema):
    token = fields.String(required=True, metadata={"description": "send as 'Bearer <token>'"})
    token_type = fields.String(required=True, dump_default="Bearer")
    expires_at = _utc()


class MeSchema(ma.Schema):
    username = fields.String(required=True)
    full_name = fields.String()
    groups = fields.List(fields.String(), required=True)
    is_admin = fields.Boolean(required=True)
    is_machine = fields.Boolean()


# ------------------------------------------------------------------------ definitions


class UploadSchema(StrictSchema):
    file = Upload(required=True, metadata={"description": "a .bpmn or .dmn file, at most 2 MB"})


class KindQuerySchema(StrictSchema):
    kind = fields.String(load_default="bpmn", validate=validate.OneOf(["bpmn", "dmn"]))


class DefinitionListQuerySchema(StrictSchema):
    kind = fields.String(validate=validate.OneOf(["bpmn", "dmn"]))
    # Only the procedures the caller may start ("me"), on objects of subject_type if given.
    startable_for = fields.String(validate=validate.OneOf(["me"]))
    subject_type = fields.String(validate=validate.Length(min=1, max=64))


class DefinitionSchema(ma.Schema):
    id = fields.String(required=True)
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    kind = fields.String(required=True)
    name = fields.String()
    filename = fields.String()
    deployed_by = fields.String()
    deployed_at = _utc()


class DeployedSchema(DefinitionSchema):
    """The first definition of the file, and all of them."""

    definitions = fields.List(
        fields.Nested(DefinitionSchema),
        required=True,
        metadata={"description": "every process or decision of the file"},
    )

    @ma.pre_dump
    def _first(self, obj: Any, **_: Any) -> Any:
        if isinstance(obj, list):
            first = obj[0]
            return {
                **{name: getattr(first, name, None) for name in DefinitionSchema().fields},
                "definitions": obj,
            }
        return obj


class DefinitionListSchema(ma.Schema):
    items = fields.List(fields.Nested(DefinitionSchema), required=True)


class DefinitionVersionsSchema(ma.Schema):
    key = fields.String(required=True)
    kind = fields.String(required=True)
    versions = fields.List(fields.Nested(DefinitionSchema), required=True)


# -------------------------------------------------------------------------- instances


class SubjectSchema(StrictSchema):
    type = fields.String(required=True, validate=_NAME)
    id = fields.String(required=True, validate=_NAME)
    title = fields.String(validate=validate.Length(max=500))


class InstanceControlSchema(StrictSchema):
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=1000),
        metadata={"description": "Why; recorded in the audit log with the event."},
    )


class StartInstanceSchema(StrictSchema):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=128))
    version = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    subject = fields.Nested(SubjectSchema, allow_none=True)


class IdempotencyHeaderSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # every other header is none of our business

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "the same key from the same caller within 24 h returns the "
            "first result and starts nothing new"
        },
    )


class InstanceCreatedSchema(ma.Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)


STATUSES = ["active", "suspended", "completed", "terminated"]


class InstanceListQuerySchema(PageQuerySchema):
    process_key = fields.String(validate=_NAME)
    status = fields.String(validate=validate.OneOf(STATUSES))
    subject_type = fields.String(validate=_NAME)
    subject_id = fields.String(validate=_NAME)
    started_by = fields.String(validate=_NAME)
    started_after = fields.AwareDateTime(default_timezone=UTC)
    started_before = fields.AwareDateTime(default_timezone=UTC)


class SubjectOutSchema(ma.Schema):
    type = fields.String(required=True)
    id = fields.String(required=True)
    title = fields.String()


class _FromDocument(ma.Schema):
    """Dumps stored documents: `_id` becomes `id`."""

    @ma.pre_dump
    def _ids(self, obj: Any, **_: Any) -> Any:
        if isinstance(obj, dict) and "_id" in obj:
            obj = {**obj, "id": str(obj["_id"])}
        return obj


class InstanceSummarySchema(_FromDocument):
    id = fields.String(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True, attribute="definition_version")
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    has_incident = fields.Boolean(
        required=True, metadata={"description": "an error stopped the instance"}
    )
    subject = fields.Nested(SubjectOutSchema, allow_none=True)
    started_by = fields.String(required=True)
    started_at = _utc()
    updated_at = _utc()
    ended_at = _utc()

    @ma.pre_dump
    def _incident(self, obj: Any, **_: Any) -> Any:
        return {**obj, "has_incident": bool(obj.get("incident") or obj.get("error"))}


class InstancePageSchema(ma.Schema):
    items = fields.List(fields.Nested(InstanceSummarySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class TaskSchema(_FromDocument):
    id = fields.String(required=True, attribute="task_guid")
    name = fields.String(required=True)
    bpmn_id = fields.String(required=True)
    instance_id = fields.String(required=True)
    process_key = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["open", "completed", "cancelled"])
    )
    assignee = fields.String(allow_none=True)
    candidates = fields.List(fields.String())
    lane = fields.String(allow_none=True)
    subject = fields.Nested(SubjectOutSchema, allow_none=True)
    due_at = _utc()
    created_at = _utc()
    completed_by = fields.String(allow_none=True)
    completed_at = _utc()
    instance_suspended = fields.Boolean()


class FormSchema(ma.Schema):
    fields_ = fields.List(
        fields.Dict(),
        data_key="fields",
        attribute="fields",
        metadata={"description": "id, type, label, labels, required, ..."},
    )
    text = fields.String(metadata={"description": "instructions shown above the fields"})


class TaskDetailSchema(TaskSchema):
    form = fields.Nested(FormSchema, allow_none=True)


class TaskPageSchema(ma.Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class EventSchema(_FromDocument):
    id = fields.String(required=True)
    type = fields.String(required=True)
    at = _utc()
    actor = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True, attribute="task_guid")
    task_name = fields.String(allow_none=True)
    data = fields.Dict()


class WaitingMessageSchema(ma.Schema):
    name = fields.String(required=True)
    correlation_key = fields.String(allow_none=True)


class InstanceDetailSchema(InstanceSummarySchema):
    variables = fields.Dict(required=True)
    tasks = fields.List(
        fields.Nested(TaskSchema), required=True, metadata={"description": "open tasks"}
    )
    events = fields.List(fields.Nested(EventSchema), required=True)
    waiting_messages = fields.List(fields.Nested(WaitingMessageSchema))
    incident = fields.Dict(
        keys=fields.String(),
        values=fields.String(allow_none=True),
        allow_none=True,
        dump_default=None,
        metadata={"description": "the open incident, or the error that stopped the run"},
    )

    @ma.pre_dump
    def _incident_detail(self, obj: Any, **_: Any) -> Any:
        return {**obj, "incident": obj.get("incident") or obj.get("error")}


class TaskListQuerySchema(PageQuerySchema):
    status = fields.String(
        load_default="open", validate=validate.OneOf(["open", "completed", "cancelled"])
    )
    process_key = fields.String(validate=_NAME)
    all = fields.Boolean(
        load_default=False, metadata={"description": "admins only: every task, not just theirs"}
    )


class CompleteTaskSchema(StrictSchema):
    data = fields.Dict(keys=fields.String(), load_default=dict)


# ---------------------------------------------------------------------------- messages


class MessageSchema(StrictSchema):
    name = fields.String(required=True, validate=_NAME)
    correlation_key = fields.String(allow_none=True, validate=_NAME)
    payload = fields.Dict(keys=fields.String(), load_default=dict)
    message_id = fields.String(
        allow_none=True,
        validate=_NAME,
        metadata={"description": "a repeat of this id has no effect"},
    )
    ttl = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=7 * 24 * 3600),
        metadata={"description": "seconds to keep the message when nobody waits for it yet"},
    )


class MessageResultSchema(ma.Schema):
    status = fields.String(
        required=True, validate=validate.OneOf(["delivered", "started", "buffered"])
    )
    instance_id = fields.String(allow_none=True, dump_default=None)
    message_id = fields.String(allow_none=True, dump_default=None)
    buffer_id = fields.String(allow_none=True, dump_default=None)
    duplicate = fields.Boolean(
        required=True, metadata={"description": "the id was seen before: no new effect"}
    )
