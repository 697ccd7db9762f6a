"""Segments: saved filters over organizations or their contacts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from sales import segments
from webapi.auth import current_actor
from webapi.sales_schemas import (
    MembersSchema,
    SegmentInSchema,
    SegmentListSchema,
    SegmentPatchSchema,
    SegmentSchema,
)

from .common import errors, secured

PREFIX = "/segments"
blp = Blueprint("segments", __name__, description="Saved filters over organizations")


@blp.route("")
class Segments(MethodView):
    @secured(blp)
    @blp.response(200, SegmentListSchema)
    def get(self) -> Any:
        """Every segment, by name."""
        return {"items": segments.find(current_actor())}

    @secured(blp)
    @blp.arguments(SegmentInSchema)
    @blp.response(201, SegmentSchema)
    @errors(blp, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Save a segment (the caller owns it)."""
        return segments.create(current_actor(), body)


@blp.route("/<segment_id>")
class Segment(MethodView):
    @secured(blp)
    @blp.response(200, SegmentSchema)
    @errors(blp, 404)
    def get(self, segment_id: str) -> Any:
        """One by id."""
        return segments.get(current_actor(), segment_id)

    @secured(blp)
    @blp.arguments(SegmentPatchSchema)
    @blp.response(200, SegmentSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], segment_id: str) -> Any:
        """Rename it or replace its conditions (its owner or an admin)."""
        version = body.pop("version", None)
        return segments.update(current_actor(), segment_id, body, version)


@blp.route("/<segment_id>/members")
class Members(MethodView):
    @secured(blp)
    @blp.response(200, MembersSchema)
    @errors(blp, 404)
    def get(self, segment_id: str) -> Any:
        """How many organizations (or contacts) the caller may read match, and the first
        200 of them, evaluated now."""
        return segments.evaluate(current_actor(), segment_id)
