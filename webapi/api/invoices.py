"""Invoices under contracts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from registry import invoices
from webapi.auth import current_actor
from webapi.etags import etag_doc, expected_version, tagged
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
    @etag_doc(blp, 201)
    @blp.arguments(InvoiceInSchema)
    @blp.response(201, InvoiceSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Issue or register an invoice under a contract the caller may change."""
        return tagged(invoices.create(current_actor(), body), 201)


@blp.route("/<invoice_id>")
class Invoice(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, InvoiceSchema)
    @errors(blp, 404)
    def get(self, invoice_id: str) -> Any:
        """One by id."""
        return tagged(invoices.get(current_actor(), invoice_id))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(InvoicePatchSchema)
    @blp.response(200, InvoiceSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], invoice_id: str) -> Any:
        """Change some fields; `If-Match` (or `version`) refuses overwriting a newer change."""
        version = expected_version(body)
        return tagged(invoices.update(current_actor(), invoice_id, body, version))
