"""Process instances: start (idempotently), list, read, suspend, resume, terminate."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from engine import idempotency, lifecycle, queries, start_rights
from webapi.auth import current_actor
from webapi.schemas import (
    IdempotencyHeaderSchema,
    InstanceControlSchema,
    InstanceCreatedSchema,
    InstanceDetailSchema,
    InstanceListQuerySchema,
    InstancePageSchema,
    InstanceSummarySchema,
    StartInstanceSchema,
)

from .common import errors, secured

PREFIX = "/instances"
blp = Blueprint("instances", __name__, description="Process instances")


@blp.route("")
class Instances(MethodView):
    @secured(blp)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(StartInstanceSchema)
    @blp.response(201, InstanceCreatedSchema)
    @blp.alt_response(
        200,
        schema=InstanceCreatedSchema,
        description="The same Idempotency-Key was used within 24 h: the first "
        "result, and nothing new started",
    )
    @errors(blp, 403, 404, 409)
    def post(self, headers: dict[str, Any], body: dict[str, Any]) -> Any:
        """Start an instance and run it to its first wait state (403 for a procedure the
        caller may not start, see GET /definitions/<key>/start-rights)."""
        start_rights.require(body["process_key"], current_actor())
        result, created = idempotency.start(
            headers.get("idempotency_key"),
            current_actor(),
            body["process_key"],
            body["variables"],
            body.get("subject"),
            body.get("version"),
            ttl_seconds=current_app.config["SETTINGS"].idempotency_ttl_seconds,
        )
        return result, 201 if created else 200

    @secured(blp)
    @blp.arguments(InstanceListQuerySchema, location="query", unknown=None)
    @blp.response(200, InstancePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Instances the caller may see, newest first, a page at a time."""
        limit, cursor = args.pop("limit"), args.pop("cursor", None)
        page = queries.list_instances(
            current_actor(), queries.InstanceFilter(**args), limit, cursor
        )
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/<instance_id>")
class Instance(MethodView):
    @secured(blp)
    @blp.response(200, InstanceDetailSchema)
    @errors(blp, 404)
    def get(self, instance_id: str) -> Any:
        """Status, variables, open tasks and history of an instance."""
        return queries.instance_detail(instance_id, current_actor())


def _control(action: str, summary: str) -> type[MethodView]:
    class Control(MethodView):
        @secured(blp)
        @blp.arguments(InstanceControlSchema, required=False)
        @blp.response(200, InstanceSummarySchema)
        @errors(blp, 403, 404, 409)
        def post(self, body: dict[str, Any], instance_id: str) -> Any:
            return lifecycle.change(instance_id, current_actor(), action, body.get("reason", ""))

    Control.post.__doc__ = summary
    Control.__name__ = f"Instance{action.title()}"
    return Control


blp.route("/<instance_id>/suspend")(
    _control("suspend", "Stop the instance from advancing (the starter, designers, admins).")
)
blp.route("/<instance_id>/resume")(
    _control("resume", "Let a suspended instance advance again (the starter, designers, admins).")
)
blp.route("/<instance_id>/terminate")(
    _control("terminate", "End the instance for good (the starter, designers, admins).")
)
