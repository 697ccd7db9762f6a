"""Incidents: background jobs that failed every attempt, and their retry."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from engine import jobs
from webapi.auth import current_user
from webapi.schemas import StrictSchema, UtcDateTime

from .common import errors, secured

PREFIX = "/incidents"
DESIGNERS = "designers"
blp = Blueprint("incidents", __name__, description="Failed background work and its repair")


class IncidentQuerySchema(StrictSchema):
    status = fields.String(
        load_default="open", validate=validate.OneOf(("open", "retrying", "resolved", "all"))
    )
    instance_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{24}$"))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class IncidentSchema(ma.Schema):
    id = fields.String(required=True)
    instance_id = fields.String(allow_none=True)
    job_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "timer, async_service, ..."})
    error = fields.String(required=True)
    stack = fields.String()
    task = fields.String(allow_none=True)
    status = fields.String(required=True)
    created_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)


class IncidentListSchema(ma.Schema):
    items = fields.List(fields.Nested(IncidentSchema), required=True)


@blp.route("")
class Incidents(MethodView):
    @secured(blp, DESIGNERS)
    @blp.arguments(IncidentQuerySchema, location="query", unknown=None)
    @blp.response(200, IncidentListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Incidents, newest first (designers and admins)."""
        status = None if args["status"] == "all" else args["status"]
        return {"items": jobs.list_incidents(status, args.get("instance_id"), args["limit"])}


@blp.route("/<incident_id>/retry")
class RetryIncident(MethodView):
    @secured(blp, DESIGNERS)
    @blp.response(202, IncidentSchema)
    @errors(blp, 404, 409)
    def post(self, incident_id: str) -> Any:
        """Run the failed job again now with fresh attempts; resolved when it succeeds."""
        return jobs.retry_incident(incident_id, current_user().username)
