"""Suppliers: the product types and products an organization supplies."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from registry import suppliers
from webapi.auth import current_actor
from webapi.etags import etag_doc, expected_version, tagged
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
    @etag_doc(blp, 201)
    @blp.arguments(SupplierInSchema)
    @blp.response(201, SupplierSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Make an organization the caller may change a supplier."""
        return tagged(suppliers.create(current_actor(), body), 201)


@blp.route("/<supplier_id>")
class Supplier(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, SupplierSchema)
    @errors(blp, 404)
    def get(self, supplier_id: str) -> Any:
        """One by id."""
        return tagged(suppliers.get(current_actor(), supplier_id))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(SupplierPatchSchema)
    @blp.response(200, SupplierSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], supplier_id: str) -> Any:
        """Change some fields; `If-Match` (or `version`) refuses overwriting a newer change."""
        version = expected_version(body)
        return tagged(suppliers.update(current_actor(), supplier_id, body, version))

    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, SupplierSchema)
    @errors(blp, 403, 404, 409)
    def delete(self, supplier_id: str) -> Any:
        """Archive a supplier section."""
        return tagged(suppliers.archive(current_actor(), supplier_id))
