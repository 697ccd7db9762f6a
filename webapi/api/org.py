"""The caller's substitute and the org structure (departments)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from accounts import delegation, org, substitutes, workpage
from accounts import operators as org_operators  # noqa: F401 - registers org_lane
from webapi.auth import current_actor
from webapi.schemas import StrictSchema, TaskSchema, UtcDateTime

from .common import errors, secured

PREFIX = ""
blp = Blueprint("org", __name__, description="Substitutes and departments")
_USER = validate.Length(min=1, max=64)


class SubstituteInSchema(StrictSchema):
    user = fields.String(required=True, validate=_USER)
    from_ = fields.AwareDateTime(required=True, data_key="from", default_timezone=UTC)
    to = fields.AwareDateTime(required=True, default_timezone=UTC)


class SubstituteSchema(Schema):
    user = fields.String(attribute="substitute")
    from_ = UtcDateTime(attribute="starts_at", data_key="from")
    to = UtcDateTime(attribute="ends_at")
    stands_in_for = fields.List(
        fields.String(), metadata={"description": "users the caller substitutes right now"}
    )


@blp.route("/me/substitute")
class MySubstitute(MethodView):
    @secured(blp)
    @blp.response(200, SubstituteSchema)
    def get(self) -> Any:
        """The caller's substitute (if any), and whom the caller stands in for now."""
        actor = current_actor()
        found = substitutes.substitute_of(actor.username)
        body: dict[str, Any] = {"stands_in_for": sorted(actor.on_behalf_of)}
        if found is not None:
            body.update(
                substitute=found.substitute, starts_at=found.starts_at, ends_at=found.ends_at
            )
        return body

    @secured(blp)
    @blp.arguments(SubstituteInSchema)
    @blp.response(200, SubstituteSchema)
    @errors(blp, 422)
    def put(self, args: dict[str, Any]) -> Any:
        """Name who stands in for the caller from `from` until `to` (replaces the earlier)."""
        actor = current_actor()
        found = substitutes.set_substitute(actor, args["user"], args["from_"], args["to"])
        return {
            "substitute": found.substitute,
            "starts_at": found.starts_at,
            "ends_at": found.ends_at,
            "stands_in_for": sorted(actor.on_behalf_of),
        }

    @secured(blp)
    @blp.response(204)
    def delete(self) -> None:
        """Remove the caller's substitute."""
        substitutes.clear_substitute(current_actor())


class PositionHeldSchema(StrictSchema):
    user = fields.String(required=True, validate=_USER)
    position = fields.String(required=True, validate=_USER, metadata={"example": "lawyer"})


class DepartmentSchema(Schema):
    name = fields.String(dump_only=True)
    title = fields.String(validate=validate.Length(max=200))
    head = fields.String(allow_none=True, validate=_USER)
    parent = fields.String(allow_none=True, validate=_USER)
    members = fields.List(fields.String(validate=_USER), validate=validate.Length(max=5000))
    positions = fields.List(
        fields.Nested(PositionHeldSchema),
        validate=validate.Length(max=5000),
        metadata={"description": "who holds which position here (one each; members)"},
    )


class DepartmentInSchema(StrictSchema, DepartmentSchema):
    pass


class DepartmentListSchema(Schema):
    items = fields.List(fields.Nested(DepartmentSchema))


@blp.route("/departments")
class Departments(MethodView):
    @secured(blp)
    @blp.response(200, DepartmentListSchema)
    def get(self) -> Any:
        """Every department."""
        return {"items": org.list_departments()}


@blp.route("/departments/<name>")
class OneDepartment(MethodView):
    @secured(blp)
    @blp.response(200, DepartmentSchema)
    @errors(blp, 404)
    def get(self, name: str) -> Any:
        return org.get_department(name)

    @secured(blp, "admins")
    @blp.arguments(DepartmentInSchema)
    @blp.response(200, DepartmentSchema)
    @errors(blp, 422)
    def put(self, args: dict[str, Any], name: str) -> Any:
        """Create or replace a department (admins)."""
        return org.save_department(
            name,
            args.get("title", ""),
            args.get("head"),
            args.get("parent"),
            args.get("members", []),
            args.get("positions", []),
        )


class DepartmentTasksSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))


@blp.route("/departments/<name>/tasks")
class DepartmentTasks(MethodView):
    @secured(blp)
    @blp.response(200, DepartmentTasksSchema)
    @errors(blp, 403, 404)
    def get(self, name: str) -> Any:
        """Open tasks of the department's members, earliest due first (its head, admins):
        what the head may reassign (`POST /tasks/<id>/reassign`)."""
        return {"items": delegation.department_tasks(current_actor(), name)}


class HolderSchema(Schema):
    user = fields.String()
    department = fields.String()


class PositionSchema(Schema):
    position = fields.String()
    holders = fields.List(fields.Nested(HolderSchema))


@blp.route("/positions/<position>")
class OnePosition(MethodView):
    @secured(blp)
    @blp.response(200, PositionSchema)
    def get(self, position: str) -> Any:
        """Who holds a position, in which department (e.g. all lawyers)."""
        return {"position": position, "holders": org.holders_of(position)}


class WorkpageSchema(StrictSchema):
    widgets = fields.List(
        fields.String(validate=validate.OneOf(workpage.WIDGETS)),
        required=True,
        validate=validate.Length(max=len(workpage.WIDGETS)),
    )


@blp.route("/me/workpage")
class MyWorkpage(MethodView):
    @secured(blp)
    @blp.response(200, WorkpageSchema)
    def get(self) -> Any:
        """The caller's workpage widgets, in order."""
        return {"widgets": workpage.layout(current_actor())}

    @secured(blp)
    @blp.arguments(WorkpageSchema)
    @blp.response(200, WorkpageSchema)
    @errors(blp, 422)
    def put(self, args: dict[str, Any]) -> Any:
        """Save the caller's widgets in this order."""
        return {"widgets": workpage.save_layout(current_actor(), args["widgets"])}
