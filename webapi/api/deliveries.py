"""Deliveries of products under contracts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from registry import deliveries
from webapi.auth import current_actor
from webapi.etags import etag_doc, expected_version, tagged
from webapi.registry_schemas import (
    DeliveryInSchema,
    DeliveryPageSchema,
    DeliveryPatchSchema,
    DeliveryQuerySchema,
    DeliverySchema,
)

from .common import errors, secured

PREFIX = "/deliveries"
blp = Blueprint("deliveries", __name__, description="Deliveries of products under contracts")


@blp.route("")
class Deliveries(MethodView):
    @secured(blp)
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Deliveries the caller may see, newest first."""
        return deliveries.find(current_actor(), **args)

    @secured(blp)
    @etag_doc(blp, 201)
    @blp.arguments(DeliveryInSchema)
    @blp.response(201, DeliverySchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Record a delivery under a contract the caller may change."""
        return tagged(deliveries.create(current_actor(), body), 201)


@blp.route("/<delivery_id>")
class Delivery(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, DeliverySchema)
    @errors(blp, 404)
    def get(self, delivery_id: str) -> Any:
        """One by id."""
        return tagged(deliveries.get(current_actor(), delivery_id))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(DeliveryPatchSchema)
    @blp.response(200, DeliverySchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], delivery_id: str) -> Any:
        """Change some fields; `If-Match` (or `version`) refuses overwriting a newer change."""
        version = expected_version(body)
        return tagged(deliveries.update(current_actor(), delivery_id, body, version))
