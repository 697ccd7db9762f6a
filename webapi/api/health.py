"""GET /api/v1/health: is the service and its database up."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.runtime import ENGINE_VERSION
from webapi import database

PREFIX = "/health"
VERSION = "0.1.0"
blp = Blueprint("health", __name__, description="Service health")


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "ok or degraded"})
    database = ma.fields.Boolean()
    version = ma.fields.String()
    engine = ma.fields.String()


@blp.route("")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema)
    def get(self) -> Any:
        """Whether the service and its database answer (no token needed)."""
        up = database.ping()
        body = {
            "status": "ok" if up else "degraded",
            "database": up,
            "version": VERSION,
            "engine": ENGINE_VERSION,
        }
        return body, 200 if up else 503
