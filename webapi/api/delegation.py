"""Delegating a single task (optionally returned for acceptance) and reassignment of a
department's tasks by its head."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from accounts import delegation
from webapi.auth import current_actor
from webapi.schemas import (
    CompleteTaskSchema,
    InstanceSummarySchema,
    StrictSchema,
    TaskDetailSchema,
    UtcDateTime,
)

from .common import errors, secured

PREFIX = ""
blp = Blueprint("delegation", __name__, description="Delegating and reassigning tasks")
_USER = validate.Length(min=1, max=64)
_TEXT = validate.Length(max=2000)


class DelegateSchema(StrictSchema):
    user = fields.String(required=True, validate=_USER)
    return_for_acceptance = fields.Boolean(load_default=False)
    comment = fields.String(load_default="", validate=_TEXT)


class RejectSchema(StrictSchema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReassignSchema(StrictSchema):
    user = fields.String(required=True, validate=_USER)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DelegationSchema(Schema):
    task = fields.String(attribute="task_guid")
    task_name = fields.String()
    instance_id = fields.String()
    delegator = fields.String(metadata={"description": "the assignee the task returns to"})
    delegate = fields.String()
    return_for_acceptance = fields.Boolean()
    state = fields.String(metadata={"description": "delegated | awaiting_acceptance"})
    data = fields.Function(
        delegation.data_of, metadata={"description": "the delegate's submitted form data"}
    )
    comment = fields.String(metadata={"description": "the delegator's note or rejection"})
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class DelegationItemSchema(Schema):
    delegation = fields.Nested(DelegationSchema)
    task_status = fields.String(metadata={"description": "open | completed | cancelled"})


class DelegationListSchema(Schema):
    items = fields.List(fields.Nested(DelegationItemSchema))


class DelegationListQuerySchema(StrictSchema):
    role = fields.String(
        load_default="delegator", validate=validate.OneOf(("delegator", "delegate"))
    )
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


@blp.route("/tasks/<task_id>/delegate")
class Delegate(MethodView):
    @secured(blp)
    @blp.arguments(DelegateSchema)
    @blp.response(200, DelegationSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, args: dict[str, Any], task_id: str) -> Any:
        """Hand the caller's task to another person; with `return_for_acceptance` their
        result comes back to the caller to accept or reject."""
        return delegation.delegate(
            current_actor(),
            task_id,
            args["user"],
            args["return_for_acceptance"],
            args["comment"],
        )


@blp.route("/tasks/<task_id>/delegation")
class OneDelegation(MethodView):
    @secured(blp)
    @blp.response(200, DelegationSchema)
    @errors(blp, 404)
    def get(self, task_id: str) -> Any:
        """The task's delegation (for its delegator and delegate)."""
        return delegation.get(current_actor(), task_id)


@blp.route("/tasks/<task_id>/delegation/submit")
class Submit(MethodView):
    @secured(blp)
    @blp.arguments(CompleteTaskSchema)
    @blp.response(200, DelegationSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """The delegate's form data goes back to the delegator for acceptance."""
        return delegation.submit(current_actor(), task_id, body["data"])


@blp.route("/tasks/<task_id>/delegation/accept")
class Accept(MethodView):
    @secured(blp)
    @blp.response(200, InstanceSummarySchema)
    @errors(blp, 403, 404, 409)
    def post(self, task_id: str) -> Any:
        """The delegator accepts: the task completes with the delegate's data."""
        return delegation.accept(current_actor(), task_id)


@blp.route("/tasks/<task_id>/delegation/reject")
class Reject(MethodView):
    @secured(blp)
    @blp.arguments(RejectSchema)
    @blp.response(200, DelegationSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, args: dict[str, Any], task_id: str) -> Any:
        """The delegator rejects: the task goes back to the delegate with the comment."""
        return delegation.reject(current_actor(), task_id, args["comment"])


@blp.route("/tasks/<task_id>/delegation/recall")
class Recall(MethodView):
    @secured(blp)
    @blp.response(204)
    @errors(blp, 403, 404, 409)
    def post(self, task_id: str) -> None:
        """The delegator takes the task back before the delegate is done."""
        delegation.recall(current_actor(), task_id)


@blp.route("/me/delegations")
class MyDelegations(MethodView):
    @secured(blp)
    @blp.arguments(DelegationListQuerySchema, location="query")
    @blp.response(200, DelegationListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Tasks the caller delegated (`role=delegator`) or was delegated (`delegate`)."""
        return {"items": delegation.listed(current_actor(), args["role"], args["limit"])}


@blp.route("/tasks/<task_id>/reassign")
class Reassign(MethodView):
    @secured(blp)
    @blp.arguments(ReassignSchema)
    @blp.response(200, TaskDetailSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, args: dict[str, Any], task_id: str) -> Any:
        """The head of the assignee's department gives the task to another member."""
        return delegation.reassign_by_head(current_actor(), task_id, args["user"], args["reason"])
