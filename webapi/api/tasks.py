"""The caller's inbox: list, read, claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from engine import instances, process_extensions, queries
from webapi.auth import current_actor
from webapi.schemas import (
    CompleteTaskSchema,
    InstanceSummarySchema,
    TaskDetailSchema,
    TaskListQuerySchema,
    TaskPageSchema,
)

from .common import errors, secured

PREFIX = "/tasks"
blp = Blueprint("tasks", __name__, description="The inbox of user tasks")


class TaskWithReferencesSchema(TaskDetailSchema):
    """A task with its form and its procedure's reference documents."""

    references = fields.Function(
        lambda task: process_extensions.references_of(task.process_key, task.definition_version),
        metadata={"description": "the procedure's reference documents: type, id, code, title"},
    )


@blp.route("")
class Tasks(MethodView):
    @secured(blp)
    @blp.arguments(TaskListQuerySchema, location="query", unknown=None)
    @blp.response(200, TaskPageSchema)
    @errors(blp, 403)
    def get(self, args: dict[str, Any]) -> Any:
        """Tasks assigned to the caller or offered to them and unclaimed; earliest due
        first."""
        where = queries.TaskFilter(
            status=args["status"], process_key=args.get("process_key"), everyone=args["all"]
        )
        page = queries.inbox(current_actor(), where, args["limit"], args.get("cursor"))
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/<task_id>")
class Task(MethodView):
    @secured(blp)
    @blp.response(200, TaskWithReferencesSchema)
    @errors(blp, 404)
    def get(self, task_id: str) -> Any:
        """A task with its form and the procedure's reference documents."""
        return instances.get_task(task_id, current_actor())


@blp.route("/<task_id>/claim")
class Claim(MethodView):
    @secured(blp)
    @blp.response(200, TaskDetailSchema)
    @errors(blp, 404, 409)
    def post(self, task_id: str) -> Any:
        """Take a task offered to the caller's group."""
        return instances.claim_task(task_id, current_actor())


@blp.route("/<task_id>/unclaim")
class Unclaim(MethodView):
    @secured(blp)
    @blp.response(200, TaskDetailSchema)
    @errors(blp, 404, 409)
    def post(self, task_id: str) -> Any:
        """Give a claimed task back to its group."""
        return instances.unclaim_task(task_id, current_actor())


@blp.route("/<task_id>/complete")
class Complete(MethodView):
    @secured(blp)
    @blp.arguments(CompleteTaskSchema)
    @blp.response(200, InstanceSummarySchema)
    @errors(blp, 404, 409)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """Complete a task with its form data; answers with the instance after it moved on.
        A second completion answers 409."""
        return instances.complete_task(task_id, current_actor(), body["data"])
