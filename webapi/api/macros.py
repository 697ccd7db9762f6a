"""Stored macros: scripts that diagrams run by name with `run_macro` (parameter `macro`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from engine import macros
from webapi.auth import current_actor
from webapi.schemas import StrictSchema, UtcDateTime

from .common import errors, secured

PREFIX = "/macros"
blp = Blueprint("macros", __name__, description="Stored macros for the run_macro operator")


class MacroInputSchema(StrictSchema):
    script = fields.String(
        required=True, validate=validate.Length(min=1, max=macros.MAX_SCRIPT_CHARS)
    )
    description = fields.String(load_default="", validate=validate.Length(max=2000))


class MacroSchema(ma.Schema):
    name = fields.String(required=True)
    script = fields.String(required=True)
    description = fields.String()
    version = fields.Integer(required=True)
    updated_by = fields.String(required=True)
    updated_at = UtcDateTime()


class MacroListSchema(ma.Schema):
    items = fields.List(fields.Nested(MacroSchema), required=True)


@blp.route("")
class Macros(MethodView):
    @secured(blp, macros.DESIGNERS)
    @blp.response(200, MacroListSchema)
    def get(self) -> Any:
        """Every stored macro, by name (designers and admins)."""
        return {"items": macros.list_macros()}


@blp.route("/<name>")
class Macro(MethodView):
    @secured(blp, macros.DESIGNERS)
    @blp.response(200, MacroSchema)
    @errors(blp, 404)
    def get(self, name: str) -> Any:
        """One stored macro."""
        return macros.get_macro(name)

    @secured(blp, macros.DESIGNERS)
    @blp.arguments(MacroInputSchema)
    @blp.response(200, MacroSchema)
    @errors(blp, 422)
    def put(self, body: dict[str, Any], name: str) -> Any:
        """Create or replace a macro; its script must compile in the sandbox."""
        return macros.save_macro(current_actor(), name, body["script"], body["description"])

    @secured(blp, macros.DESIGNERS)
    @blp.response(204)
    @errors(blp, 404)
    def delete(self, name: str) -> None:
        """Remove a macro; diagrams that name it then end in an incident."""
        macros.delete_macro(current_actor(), name)
