"""Assignments (задания): issue, list, read, start, report, review, control, cancel."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from mail import assignments
from webapi.auth import current_actor

from .common import errors, secured
from .mail_common import attachment_response
from .mail_schemas import (
    AssignmentDetailSchema,
    AssignmentInSchema,
    AssignmentPageSchema,
    AssignmentQuerySchema,
    MailCancelSchema,
    MailControlSchema,
    MailReportSchema,
    MailReviewSchema,
)

PREFIX = "/assignments"
blp = Blueprint(
    "assignments",
    __name__,
    description="Assignments: visible to their issuer, executor and controller only",
)


@blp.route("")
class Assignments(MethodView):
    @secured(blp)
    @blp.arguments(AssignmentInSchema)
    @blp.response(201, AssignmentDetailSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Issue an assignment (runs bpmn/assignment.bpmn); with `parent_id` the executor of
        that assignment nests one in it; with `controller` and `control_due` it is under
        control from the start."""
        return assignments.create(
            current_actor(),
            body["executor"],
            body["title"],
            body["due_at"],
            body["text"],
            body.get("controller"),
            body.get("control_due"),
            body["attachments"],
            body.get("parent_id"),
        )

    @secured(blp)
    @blp.arguments(AssignmentQuerySchema, location="query")
    @blp.response(200, AssignmentPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Assignments the caller issues, executes or controls; latest change first."""
        page = assignments.list_for(
            current_actor(),
            args.get("role"),
            args.get("status"),
            args.get("q"),
            args["overdue"],
            args["under_control"],
            args["limit"],
            args.get("cursor"),
        )
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/<assignment_id>")
class Assignment(MethodView):
    @secured(blp)
    @blp.response(200, AssignmentDetailSchema)
    @errors(blp, 404)
    def get(self, assignment_id: str) -> Any:
        """An assignment with its history and the nested ones the caller may see."""
        return assignments.get(current_actor(), assignment_id)


@blp.route("/<assignment_id>/start")
class Start(MethodView):
    @secured(blp)
    @blp.response(200, AssignmentDetailSchema)
    @errors(blp, 403, 404, 409)
    def post(self, assignment_id: str) -> Any:
        """The executor takes it up: in progress."""
        return assignments.start_work(current_actor(), assignment_id)


@blp.route("/<assignment_id>/report")
class Report(MethodView):
    @secured(blp)
    @blp.arguments(MailReportSchema)
    @blp.response(200, AssignmentDetailSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any], assignment_id: str) -> Any:
        """The executor reports it done; the controller (or the issuer) reviews next."""
        return assignments.report(current_actor(), assignment_id, body["report"])


@blp.route("/<assignment_id>/review")
class Review(MethodView):
    @secured(blp)
    @blp.arguments(MailReviewSchema)
    @blp.response(200, AssignmentDetailSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any], assignment_id: str) -> Any:
        """The controller (under control) or the issuer accepts it or returns it."""
        return assignments.review(current_actor(), assignment_id, body["decision"], body["comment"])


@blp.route("/<assignment_id>/control")
class Control(MethodView):
    @secured(blp)
    @blp.arguments(MailControlSchema)
    @blp.response(200, AssignmentDetailSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any], assignment_id: str) -> Any:
        """The issuer puts it under control: status `control`, and the controller checks
        the work before it is accepted."""
        return assignments.put_under_control(
            current_actor(), assignment_id, body["controller"], body["control_due"]
        )


@blp.route("/<assignment_id>/cancel")
class Cancel(MethodView):
    @secured(blp)
    @blp.arguments(MailCancelSchema)
    @blp.response(200, AssignmentDetailSchema)
    @errors(blp, 403, 404, 409)
    def post(self, body: dict[str, Any], assignment_id: str) -> Any:
        """The issuer cancels it, with the assignments nested in it."""
        return assignments.cancel(current_actor(), assignment_id, body["reason"])


@blp.route("/<assignment_id>/attachments/<attachment_id>")
class AttachmentContent(MethodView):
    @secured(blp)
    @blp.response(200, description="The attached file version")
    @errors(blp, 404, 409)
    def get(self, assignment_id: str, attachment_id: str) -> Any:
        """Download a file attached to an assignment the caller may see."""
        return attachment_response(
            assignments.open_attachment(current_actor(), assignment_id, attachment_id)
        )
