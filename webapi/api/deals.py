"""Deals: opportunities moving through a pipeline's stages."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from sales import deals
from webapi.auth import current_actor
from webapi.etags import etag_doc, expected_version, tagged
from webapi.sales_schemas import (
    DealInSchema,
    DealPageSchema,
    DealPatchSchema,
    DealQuerySchema,
    DealSchema,
    MoveSchema,
)

from .common import errors, secured

PREFIX = "/deals"
blp = Blueprint("deals", __name__, description="Deals moving through sales pipelines")


@blp.route("")
class Deals(MethodView):
    @secured(blp)
    @blp.arguments(DealQuerySchema, location="query")
    @blp.response(200, DealPageSchema)
    @errors(blp, 404, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Deals the caller may see, newest first."""
        return deals.find(current_actor(), **args)

    @secured(blp)
    @etag_doc(blp, 201)
    @blp.arguments(DealInSchema)
    @blp.response(201, DealSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Open a deal with an organization the caller may change."""
        return tagged(deals.create(current_actor(), body), 201)


@blp.route("/<deal_id>")
class Deal(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, DealSchema)
    @errors(blp, 404)
    def get(self, deal_id: str) -> Any:
        """One by id."""
        return tagged(deals.get(current_actor(), deal_id))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(DealPatchSchema)
    @blp.response(200, DealSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], deal_id: str) -> Any:
        """Change some fields; `If-Match` (or `version`) refuses overwriting a newer change."""
        version = expected_version(body)
        return tagged(deals.update(current_actor(), deal_id, body, version))


@blp.route("/<deal_id>/stage")
class Stage(MethodView):
    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(MoveSchema)
    @blp.response(200, DealSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any], deal_id: str) -> Any:
        """Move the deal to another stage; losing needs `lost_reason`; a stage naming a
        procedure starts it (won → contract_approval on a contract made from the deal)."""
        moved = deals.move(
            current_actor(),
            deal_id,
            body["stage"],
            expected_version(body),
            lost_reason=body.get("lost_reason"),
            probability=body.get("probability"),
        )
        return tagged(moved)
