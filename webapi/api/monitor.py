"""The process monitor: timeline, statistics, audit trail, diagram state, repairs,
migrations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, overload

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from engine import monitor, repair, retention
from engine.actor import Actor
from engine.clock import naive_utc
from engine.errors import NotAllowed
from webapi.auth import current_actor
from webapi.schemas import (
    EventSchema,
    InstanceDetailSchema,
    StrictSchema,
    SubjectOutSchema,
    UtcDateTime,
)

from .common import errors, secured

PREFIX = "/monitor"
blp = Blueprint("monitor", __name__, description="Process monitor and repairs")
_OID = validate.Regexp(r"^[0-9a-f]{24}$")
_ID = validate.Length(min=1, max=200)


# --------------------------------------------------------------------------- schemas


class TimelineQuerySchema(StrictSchema):
    from_ = fields.DateTime(required=True, data_key="from")
    to = fields.DateTime(required=True)
    process_key = fields.String(validate=_ID)
    subject_type = fields.String(validate=_ID)
    subject_id = fields.String(validate=_ID)
    user = fields.String(validate=_ID)


class BarSchema(ma.Schema):
    kind = fields.String(required=True, metadata={"description": "user_task or timer"})
    id = fields.String(required=True)
    element = fields.String(required=True, metadata={"description": "BPMN element id"})
    name = fields.String(required=True)
    status = fields.String(required=True)
    performer = fields.String(allow_none=True)
    candidates = fields.List(fields.String())
    start = UtcDateTime(required=True)
    end = UtcDateTime(required=True)
    due = UtcDateTime(allow_none=True)
    overdue = fields.Boolean(required=True)


class RowIncidentSchema(ma.Schema):
    id = fields.String(required=True)
    error = fields.String(required=True)
    task = fields.String(allow_none=True)
    at = UtcDateTime()


class RowSchema(ma.Schema):
    instance_id = fields.String(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    subject = fields.Nested(SubjectOutSchema, allow_none=True)
    started_by = fields.String(required=True)
    start = UtcDateTime(required=True)
    end = UtcDateTime(required=True)
    running = fields.Boolean(required=True)
    has_incident = fields.Boolean(required=True)
    incidents = fields.List(fields.Nested(RowIncidentSchema))
    bars = fields.List(fields.Nested(BarSchema))


class TimelineSchema(ma.Schema):
    from_ = UtcDateTime(data_key="from", attribute="from")
    to = UtcDateTime()
    now = UtcDateTime()
    rows = fields.List(fields.Nested(RowSchema))
    truncated = fields.Boolean(metadata={"description": "more than 10,000 instances"})

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """What the fields above make of the service's rows, written out by hand: field by
        field, marshmallow took 6 s for 10,000 rows (tests compare the two)."""
        if many:
            return [self.dump(item) for item in obj]
        return {
            "from": _iso(obj["from"]),
            "to": _iso(obj["to"]),
            "now": _iso(obj["now"]),
            "rows": [_row_out(row) for row in obj["rows"]],
            "truncated": bool(obj["truncated"]),
        }


def _iso(value: datetime | None) -> str | None:
    """As UtcDateTime writes it."""
    if value is None:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


def _row_out(row: dict[str, Any]) -> dict[str, Any]:
    subject = row["subject"]
    return {
        "instance_id": row["instance_id"],
        "process_key": row["process_key"],
        "version": int(row["version"]),
        "status": row["status"],
        "subject": (
            None
            if subject is None
            else {k: subject[k] for k in ("type", "id", "title") if k in subject}
        ),
        "started_by": row["started_by"],
        "start": _iso(row["start"]),
        "end": _iso(row["end"]),
        "running": bool(row["running"]),
        "has_incident": bool(row["has_incident"]),
        "incidents": [
            {"id": i["id"], "error": i["error"], "task": i["task"], "at": _iso(i["at"])}
            for i in row["incidents"]
        ],
        "bars": [
            {
                "kind": b["kind"],
                "id": b["id"],
                "element": b["element"],
                "name": b["name"],
                "status": b["status"],
                "performer": b["performer"],
                "candidates": None if b["candidates"] is None else list(b["candidates"]),
                "start": _iso(b["start"]),
                "end": _iso(b["end"]),
                "due": _iso(b["due"]),
                "overdue": bool(b["overdue"]),
            }
            for b in row["bars"]
        ],
    }


class InstanceTimelineSchema(ma.Schema):
    instance = fields.Nested(RowSchema)
    events = fields.List(fields.Nested(EventSchema))


class StatisticsQuerySchema(StrictSchema):
    process_key = fields.String(validate=_ID)


class ProcessStatisticsSchema(ma.Schema):
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    started = fields.Integer()
    running = fields.Integer()
    completed = fields.Integer()
    terminated = fields.Integer()
    suspended = fields.Integer()
    incidents = fields.Integer()
    tasks_overdue = fields.Integer()
    avg_duration_seconds = fields.Float(allow_none=True)
    p90_duration_seconds = fields.Float(allow_none=True)


class StatisticsSchema(ma.Schema):
    items = fields.List(fields.Nested(ProcessStatisticsSchema))


class UserStatisticsSchema(ma.Schema):
    username = fields.String()
    open = fields.Integer()
    overdue = fields.Integer()
    completed_this_week = fields.Integer()


class AuditQuerySchema(StrictSchema):
    instance_id = fields.String(validate=_OID)
    subject_type = fields.String(validate=_ID)
    subject_id = fields.String(validate=_ID)
    actor = fields.String(validate=_ID)
    type = fields.String(validate=_ID)
    since = fields.DateTime()
    until = fields.DateTime()
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class AuditEntrySchema(EventSchema):
    instance_id = fields.String()
    process_key = fields.String()
    subject = fields.Nested(SubjectOutSchema, allow_none=True)


class AuditSchema(ma.Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))


class DiagramStateSchema(ma.Schema):
    instance_id = fields.String()
    process_key = fields.String()
    version = fields.Integer()
    elements = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata={"description": "element id → {active, completed, cancelled, error}"},
    )
    incidents = fields.List(fields.String(), metadata={"description": "tasks with incidents"})


class _Reason(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class CancelActivitySchema(_Reason):
    element = fields.String(required=True, validate=_ID)


class MoveTokenSchema(_Reason):
    from_ = fields.String(required=True, data_key="from", validate=_ID)
    to = fields.String(required=True, validate=_ID)


class SkipTaskSchema(_Reason):
    element = fields.String(required=True, validate=_ID)
    data = fields.Dict(load_default=dict)


class SetVariablesSchema(_Reason):
    variables = fields.Dict(required=True)


class ReassignSchema(_Reason):
    task_id = fields.String(required=True, validate=_ID)
    assignee = fields.String(validate=_ID, allow_none=True)
    candidates = fields.List(fields.String(validate=_ID), validate=validate.Length(max=100))


class LegalHoldSchema(_Reason):
    hold = fields.Boolean(required=True)


class LegalHoldResultSchema(ma.Schema):
    instance_id = fields.String()
    legal_hold = fields.Boolean()


class MigrationRequestSchema(StrictSchema):
    from_version = fields.Integer(required=True, validate=validate.Range(min=1))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1))
    mapping = fields.Dict(
        keys=fields.String(validate=_ID), values=fields.String(validate=_ID), load_default=dict
    )
    dry_run = fields.Boolean(load_default=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class MigrationEntrySchema(ma.Schema):
    instance_id = fields.String()
    mapping = fields.Dict(keys=fields.String(), values=fields.String())
    reasons = fields.List(fields.String())


class MigrationReportSchema(ma.Schema):
    movable = fields.List(fields.Nested(MigrationEntrySchema))
    blocked = fields.List(fields.Nested(MigrationEntrySchema))
    migrated = fields.Integer()
    job_id = fields.String(
        allow_none=True, metadata={"description": "the background job that migrates"}
    )


# ---------------------------------------------------------------------------- routes


@blp.route("/timeline")
class Timeline(MethodView):
    @secured(blp)
    @blp.arguments(TimelineQuerySchema, location="query", unknown=None)
    @blp.response(200, TimelineSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Instances running in [from, to) and their works as bars (for a Gantt chart)."""
        window = monitor.TimelineWindow(
            start=_naive(args["from_"]),
            end=_naive(args["to"]),
            process_key=args.get("process_key"),
            subject_type=args.get("subject_type"),
            subject_id=args.get("subject_id"),
            user=args.get("user"),
        )
        return monitor.timeline(window, current_actor())


@blp.route("/statistics")
class Statistics(MethodView):
    @secured(blp)
    @blp.arguments(StatisticsQuerySchema, location="query", unknown=None)
    @blp.response(200, StatisticsSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Per process and version: counts, durations, overdue tasks, incidents."""
        return {"items": monitor.process_statistics(current_actor(), args.get("process_key"))}


@blp.route("/users/<username>/statistics")
class UserStatistics(MethodView):
    @secured(blp)
    @blp.response(200, UserStatisticsSchema)
    @errors(blp, 403)
    def get(self, username: str) -> Any:
        """A user's open, overdue and completed-this-week tasks (self, designers, admins)."""
        actor = current_actor()
        if username != actor.username and not (actor.is_admin or "designers" in actor.groups):
            raise NotAllowed("only your own figures, unless you are a designer or admin")
        return monitor.user_statistics(username)


@blp.route("/audit")
class Audit(MethodView):
    @secured(blp)
    @blp.arguments(AuditQuerySchema, location="query", unknown=None)
    @blp.response(200, AuditSchema)
    @errors(blp, 404)
    def get(self, args: dict[str, Any]) -> Any:
        """The audit trail of instances you may see, newest first (append-only)."""
        where = monitor.AuditFilter(
            instance_id=args.get("instance_id"),
            subject_type=args.get("subject_type"),
            subject_id=args.get("subject_id"),
            actor=args.get("actor"),
            type=args.get("type"),
            since=_naive(args.get("since")),
            until=_naive(args.get("until")),
        )
        return {"items": monitor.audit(where, current_actor(), args["limit"])}


@blp.route("/instances/<instance_id>/timeline")
class InstanceTimeline(MethodView):
    @secured(blp)
    @blp.response(200, InstanceTimelineSchema)
    @errors(blp, 404)
    def get(self, instance_id: str) -> Any:
        """One instance's bars and its full history."""
        return monitor.instance_timeline(instance_id, current_actor())


@blp.route("/instances/<instance_id>/diagram-state")
class DiagramState(MethodView):
    @secured(blp)
    @blp.response(200, DiagramStateSchema)
    @errors(blp, 404)
    def get(self, instance_id: str) -> Any:
        """Tokens per BPMN element (for highlighting the diagram) and incident tasks."""
        return repair.diagram_state(instance_id, current_actor())


# Repairs: each takes its schema's fields and answers with the instance afterwards.
Repair = Callable[[str, Actor, dict[str, Any]], Any]
_REPAIRS: dict[str, tuple[type[ma.Schema], Repair, str]] = {
    "cancel-activity": (
        CancelActivitySchema,
        lambda i, a, p: repair.cancel_activity(i, a, p["element"], p["reason"]),
        "Take the token off an element.",
    ),
    "move-token": (
        MoveTokenSchema,
        lambda i, a, p: repair.move_token(i, a, p["from_"], p["to"], p["reason"]),
        "Move the token from one element to another.",
    ),
    "skip-task": (
        SkipTaskSchema,
        lambda i, a, p: repair.skip_task(i, a, p["element"], p["data"], p["reason"]),
        "Complete an active (failed) task without running it, with the given output.",
    ),
    "set-variables": (
        SetVariablesSchema,
        lambda i, a, p: repair.set_variables(i, a, p["variables"], p["reason"]),
        "Merge variables into the data of the tasks that hold a token.",
    ),
    "reassign-task": (
        ReassignSchema,
        lambda i, a, p: repair.reassign_task(
            i, a, p["task_id"], p.get("assignee"), p.get("candidates"), p["reason"]
        ),
        "Give an open task to another user, or offer it to others.",
    ),
}


def _repair_view(command: Repair, doc: str) -> Callable[..., Any]:
    def view(args: dict[str, Any], instance_id: str) -> Any:
        return command(instance_id, current_actor(), args)

    view.__doc__ = doc
    return view


for _path, (_schema, _command, _doc) in _REPAIRS.items():
    blp.route(
        f"/instances/<instance_id>/{_path}", methods=["POST"], endpoint=_path.replace("-", "_")
    )(
        secured(blp)(
            blp.arguments(_schema)(
                blp.response(200, InstanceDetailSchema)(
                    errors(blp, 403, 404, 409, 422)(_repair_view(_command, _doc))
                )
            )
        )
    )


@blp.route("/instances/<instance_id>/legal-hold", methods=["POST"])
@secured(blp)
@blp.arguments(LegalHoldSchema)
@blp.response(200, LegalHoldResultSchema)
@errors(blp, 403, 404, 422)
def legal_hold(args: dict[str, Any], instance_id: str) -> Any:
    """Keep an instance's whole state however old it gets (admins), or release it."""
    return retention.set_legal_hold(instance_id, current_actor(), args["hold"], args["reason"])


@blp.route("/definitions/<key>/migrations")
class Migrations(MethodView):
    @secured(blp, "designers")
    @blp.arguments(MigrationRequestSchema)
    @blp.response(200, MigrationReportSchema)
    @errors(blp, 404, 422)
    def post(self, args: dict[str, Any], key: str) -> Any:
        """Report which running instances can move between versions; unless `dry_run`
        (the default), migrate them in a background job (`job_id`)."""
        return repair.request_migration(
            key,
            args["from_version"],
            args["to_version"],
            current_actor(),
            args["mapping"],
            args["dry_run"],
            args["reason"],
        )


@overload
def _naive(value: datetime) -> datetime: ...


@overload
def _naive(value: None) -> None: ...


def _naive(value: datetime | None) -> datetime | None:
    """Aware datetimes from the query string as the naive UTC the database keeps."""
    return None if value is None else naive_utc(value)
