"""Linear procedures: create and run one, prototypes started again and shared."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from accounts import service as accounts
from accounts.errors import UserNotFound
from engine import linear, linear_procedures
from webapi.auth import current_actor
from webapi.schemas import StrictSchema, SubjectSchema, UtcDateTime

from .common import errors, secured

PREFIX = "/linear-procedures"
blp = Blueprint(
    "linear_procedures",
    __name__,
    description="Linear procedures: steps → a private BPMN diagram, run once or kept as a "
    "prototype",
)


def _flatten(messages: Any, prefix: str = "") -> dict[str, Any]:
    """{"steps": {2: {"executor": [...]}}} → {"steps[2].executor": [...]}."""
    if not isinstance(messages, dict):
        return {prefix or "_schema": messages}
    flat: dict[str, Any] = {}
    for key, value in messages.items():
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            path = f"{prefix}[{key}]"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        flat.update(_flatten(value, path))
    return flat


def _unknown_users(names: list[str]) -> set[str]:
    """Names (not group:NAME) of no active user: their tasks would reach nobody's inbox."""
    unknown = set()
    for name in dict.fromkeys(n for n in names if n and not n.startswith("group:")):
        try:
            accounts.get_user(name)
        except UserNotFound:
            unknown.add(name)
    return unknown


class _FlatErrors(StrictSchema):
    """Input whose errors name each field by its path: `steps[2].executor`."""

    def handle_error(self, error: ma.ValidationError, data: Any, **kwargs: Any) -> None:
        raise ma.ValidationError(_flatten(error.messages))


class StepSchema(StrictSchema):
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=linear.MAX_TITLE),
        metadata={"description": "what the step is"},
    )
    executor = fields.String(
        required=True,
        validate=validate.Regexp(linear.EXECUTOR),
        metadata={"description": "a user name, or group:NAME (claimed by one)"},
    )
    instructions = fields.String(
        load_default="",
        validate=validate.Length(max=linear.MAX_INSTRUCTIONS),
        metadata={"description": "shown with the task and in its form"},
    )
    duration = fields.String(
        allow_none=True, metadata={"description": "due after an ISO 8601 duration, e.g. P3D"}
    )
    working_days = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=0, max=linear.MAX_WORKING_DAYS),
        metadata={"description": "or due after this many working days"},
    )
    on_reject = fields.String(
        load_default="stop",
        validate=validate.OneOf(["stop", "back"]),
        metadata={"description": "a rejection ends the run (stop) or returns (back)"},
    )
    back_to = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=linear.MAX_STEPS - 1),
        metadata={"description": "with back: the number (1-based) of an earlier step"},
    )

    @ma.post_load
    def _step(self, data: dict[str, Any], **_: Any) -> linear.Step:
        return linear.step_from_dict(data)


def _check_steps(steps: list[linear.Step]) -> None:
    problems = linear.step_errors(steps)
    if problems:
        raise ma.ValidationError(problems)


class CreateSchema(_FlatErrors):
    title = fields.String(required=True, validate=validate.Length(min=1, max=linear.MAX_TITLE))
    subject = fields.Nested(SubjectSchema, required=True)
    steps = fields.List(
        fields.Nested(StepSchema),
        required=True,
        validate=validate.Length(min=1, max=linear.MAX_STEPS),
    )
    save_as_prototype = fields.Boolean(
        load_default=False,
        metadata={"description": "keep the definition after the run, to start it again"},
    )

    @ma.validates_schema
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        problems = {"title": linear.title_errors(data["title"])} if "title" in data else {}
        problems = {k: v for k, v in problems.items() if v}
        steps = data.get("steps", [])
        problems.update(linear.step_errors(steps))
        unknown = _unknown_users([s.executor for s in steps])
        for i, step in enumerate(steps):
            if step.executor in unknown:
                problems.setdefault(f"steps[{i}].executor", []).append("no such user")
        if problems:
            raise ma.ValidationError(problems)


class StartSchema(_FlatErrors):
    subject = fields.Nested(SubjectSchema, required=True)
    replace_executors = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        load_default=dict,
        metadata={"description": "executor → who works in their place this time"},
    )

    @ma.validates_schema
    def _known(self, data: dict[str, Any], **_: Any) -> None:
        replace = data.get("replace_executors", {})
        unknown = _unknown_users(list(replace.values()))
        problems = {
            f"replace_executors.{k}": ["no such user"] for k, v in replace.items() if v in unknown
        }
        if problems:
            raise ma.ValidationError(problems)


class ShareSchema(_FlatErrors):
    users = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    groups = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)

    @ma.validates_schema
    def _known(self, data: dict[str, Any], **_: Any) -> None:
        unknown = _unknown_users(data.get("users", []))
        if unknown:
            raise ma.ValidationError({"users": [f"no such user: {', '.join(sorted(unknown))}"]})


class ProcedureSchema(ma.Schema):
    id = fields.String(required=True)
    key = fields.String(required=True, metadata={"description": "the definition's key"})
    definition_version = fields.Integer(required=True)
    title = fields.String(required=True)
    owner = fields.String(required=True)
    prototype = fields.Boolean(required=True)
    shared_with = fields.List(fields.String())
    steps = fields.List(fields.Dict())
    created_at = UtcDateTime()
    xml_url = fields.Method("_xml_url", metadata={"description": "the generated BPMN"})

    def _xml_url(self, procedure: Any) -> str:
        return f"/api/v1/definitions/{procedure.key}/{procedure.definition_version}/xml"


class StartedSchema(ma.Schema):
    procedure = fields.Nested(ProcedureSchema, required=True)
    instance_id = fields.String(required=True)
    instance_status = fields.String(required=True)

    @ma.pre_dump
    def _unpack(self, run: linear_procedures.Run, **_: Any) -> dict[str, Any]:
        return {
            "procedure": run.procedure,
            "instance_id": str(run.instance["_id"]),
            "instance_status": run.instance["status"],
        }


class ProcedureListSchema(ma.Schema):
    items = fields.List(fields.Nested(ProcedureSchema), required=True)


@blp.route("")
class LinearProcedures(MethodView):
    @secured(blp)
    @blp.arguments(CreateSchema)
    @blp.response(201, StartedSchema)
    @errors(blp, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Generate a BPMN diagram from the steps, deploy it privately and start it on the
        subject (any user). After the run its definition is removed unless it was saved as a
        prototype."""
        return linear_procedures.create(
            current_actor(),
            body["title"],
            body["subject"],
            body["steps"],
            body["save_as_prototype"],
        )


@blp.route("/prototypes")
class Prototypes(MethodView):
    @secured(blp)
    @blp.response(200, ProcedureListSchema)
    def get(self) -> Any:
        """Prototypes the caller created or that were shared with them or their groups."""
        return {"items": linear_procedures.list_prototypes(current_actor())}


@blp.route("/<procedure_id>")
class Procedure(MethodView):
    @secured(blp)
    @blp.response(200, ProcedureSchema)
    @errors(blp, 404)
    def get(self, procedure_id: str) -> Any:
        """A linear procedure (its creator, whom it is shared with, admins)."""
        return linear_procedures.get(procedure_id, current_actor())


@blp.route("/prototypes/<procedure_id>")
class Prototype(MethodView):
    @secured(blp)
    @blp.response(204)
    @errors(blp, 404)
    def delete(self, procedure_id: str) -> None:
        """Stop keeping a prototype (its creator or an admin): its definition is removed
        now, or after the runs still going on."""
        linear_procedures.discard_prototype(procedure_id, current_actor())


@blp.route("/prototypes/<procedure_id>/start")
class StartPrototype(MethodView):
    @secured(blp)
    @blp.arguments(StartSchema)
    @blp.response(201, StartedSchema)
    @errors(blp, 404, 422)
    def post(self, body: dict[str, Any], procedure_id: str) -> Any:
        """Start a prototype again on a subject."""
        return linear_procedures.start_prototype(
            procedure_id, current_actor(), body["subject"], body["replace_executors"]
        )


@blp.route("/prototypes/<procedure_id>/share")
class SharePrototype(MethodView):
    @secured(blp)
    @blp.arguments(ShareSchema)
    @blp.response(200, ProcedureSchema)
    @errors(blp, 404, 422)
    def put(self, body: dict[str, Any], procedure_id: str) -> Any:
        """Share a prototype with users and groups (replaces the previous list; its creator
        or an admin). They may see and start it."""
        return linear_procedures.share(procedure_id, current_actor(), body["users"], body["groups"])
