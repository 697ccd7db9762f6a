"""Invoices under contracts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from registry import invoices
from webapi.auth import current_actor
from webapi.registry_schemas import (
    InvoiceInSchema,
    InvoicePageSchema,
    InvoicePatchSchema,
    InvoiceQuerySchema,
    InvoiceSchema,
)

from .common import errors, secured

PREFIX = "/invoices"
blp = Blueprint("invoices", __name__, description="Invoices under contracts")


@blp.route("")
class Invoices(MethodView):
    @secured(blp)
    @blp.arguments(InvoiceQuerySchema, location="query")
    @blp.response(200, InvoicePageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Invoices the caller may see, newest first."""
        return invoices.find(current_actor(), **args)

    @secured(blp)
    @blp.arguments(InvoiceInSchema)
    @blp.response(201, InvoiceSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Issue or register an invoice under a contract the caller may change."""
        return invoices.create(current_actor(), body)


@blp.route("/<invoice_id>")
class Invoice(MethodView):
    @secured(blp)
    @blp.response(200, InvoiceSchema)
    @errors(blp, 404)
    def get(self, invoice_id: str) -> Any:
        """One by id."""
        return invoices.get(current_actor(), invoice_id)

    @secured(blp)
    @blp.arguments(InvoicePatchSchema)
    @blp.response(200, InvoiceSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], invoice_id: str) -> Any:
        """Change some fields; send `version` to refuse overwriting someone else's change."""
        version = body.pop("version", None)
        return invoices.update(current_actor(), invoice_id, body, version)
