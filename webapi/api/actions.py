"""Actions: logged calls, meetings, e-mails and visits."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from registry import actions
from registry import operators as registry_operators  # noqa: F401 - registers log_action
from webapi.auth import current_actor
from webapi.registry_schemas import (
    ActionInSchema,
    ActionPageSchema,
    ActionPatchSchema,
    ActionQuerySchema,
    ActionSchema,
)

from .common import errors, secured

PREFIX = "/actions"
blp = Blueprint("actions", __name__, description="Logged calls, meetings, e-mails, visits")


@blp.route("")
class Actions(MethodView):
    @secured(blp)
    @blp.arguments(ActionQuerySchema, location="query")
    @blp.response(200, ActionPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Actions the caller may see, newest first."""
        return actions.find(current_actor(), **args)

    @secured(blp)
    @blp.arguments(ActionInSchema)
    @blp.response(201, ActionSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Log an action on an organization the caller may see."""
        return actions.create(current_actor(), body)


@blp.route("/<action_id>")
class Action(MethodView):
    @secured(blp)
    @blp.response(200, ActionSchema)
    @errors(blp, 404)
    def get(self, action_id: str) -> Any:
        """One by id."""
        return actions.get(current_actor(), action_id)

    @secured(blp)
    @blp.arguments(ActionPatchSchema)
    @blp.response(200, ActionSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], action_id: str) -> Any:
        """Change some fields; send `version` to refuse overwriting someone else's change."""
        version = body.pop("version", None)
        return actions.update(current_actor(), action_id, body, version)

    @secured(blp)
    @blp.response(200, ActionSchema)
    @errors(blp, 403, 404, 409)
    def delete(self, action_id: str) -> Any:
        """Archive an action (its author or the organization's writers)."""
        return actions.archive(current_actor(), action_id)
