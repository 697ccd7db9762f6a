"""Suppliers: the product types and products an organization supplies."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from registry import suppliers
from webapi.auth import current_actor
from webapi.registry_schemas import (
    SupplierInSchema,
    SupplierPageSchema,
    SupplierPatchSchema,
    SupplierQuerySchema,
    SupplierSchema,
)

from .common import errors, secured

PREFIX = "/suppliers"
blp = Blueprint("suppliers", __name__, description="What organizations supply")


@blp.route("")
class Suppliers(MethodView):
    @secured(blp)
    @blp.arguments(SupplierQuerySchema, location="query")
    @blp.response(200, SupplierPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Suppliers the caller may see, by organization name."""
        return suppliers.find(current_actor(), **args)

    @secured(blp)
    @blp.arguments(SupplierInSchema)
    @blp.response(201, SupplierSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Make an organization the caller may change a supplier."""
        return suppliers.create(current_actor(), body)


@blp.route("/<supplier_id>")
class Supplier(MethodView):
    @secured(blp)
    @blp.response(200, SupplierSchema)
    @errors(blp, 404)
    def get(self, supplier_id: str) -> Any:
        """One by id."""
        return suppliers.get(current_actor(), supplier_id)

    @secured(blp)
    @blp.arguments(SupplierPatchSchema)
    @blp.response(200, SupplierSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], supplier_id: str) -> Any:
        """Change some fields; send `version` to refuse overwriting someone else's change."""
        version = body.pop("version", None)
        return suppliers.update(current_actor(), supplier_id, body, version)

    @secured(blp)
    @blp.response(200, SupplierSchema)
    @errors(blp, 403, 404, 409)
    def delete(self, supplier_id: str) -> Any:
        """Archive a supplier section."""
        return suppliers.archive(current_actor(), supplier_id)
