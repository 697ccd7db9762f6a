"""Organizations (counterparties): CRUD, search, the card, history, import and export."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from registry import card, imports, organizations, repository
from webapi.auth import current_actor
from webapi.etags import etag_doc, expected_version, tagged
from webapi.registry_schemas import (
    ImportFileSchema,
    ImportFormSchema,
    ImportReportSchema,
    OrganizationCardSchema,
    OrganizationExportQuerySchema,
    OrganizationInSchema,
    OrganizationPageSchema,
    OrganizationPatchSchema,
    OrganizationQuerySchema,
    OrganizationSchema,
    RegistryAuditEventSchema,
)

from .common import errors, secured

PREFIX = "/organizations"
blp = Blueprint("organizations", __name__, description="Counterparties and their cards")
_PAGE = ("sort", "limit", "cursor")


@blp.route("")
class Organizations(MethodView):
    @secured(blp)
    @blp.arguments(OrganizationQuerySchema, location="query")
    @blp.response(200, OrganizationPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Search organizations the caller may see: name words, INN, phone, e-mail, tag."""
        return organizations.find(current_actor(), **args)

    @secured(blp)
    @etag_doc(blp, 201)
    @blp.arguments(OrganizationInSchema)
    @blp.response(201, OrganizationSchema)
    @errors(blp, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Create an organization; the same INN and KPP twice answers 409 naming the first."""
        return tagged(organizations.create(current_actor(), body), 201)


@blp.route("/<organization_id>")
class Organization(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, OrganizationSchema)
    @errors(blp, 404)
    def get(self, organization_id: str) -> Any:
        """An organization; its `ETag` is its version."""
        return tagged(organizations.get(current_actor(), organization_id))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(OrganizationPatchSchema(partial=True))
    @blp.response(200, OrganizationSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], organization_id: str) -> Any:
        """Change some fields; send `If-Match` (or `version`) to refuse overwriting someone
        else's change."""
        version = expected_version(body)
        return tagged(organizations.update(current_actor(), organization_id, body, version))

    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, OrganizationSchema)
    @errors(blp, 403, 404, 409)
    def delete(self, organization_id: str) -> Any:
        """Archive an organization (refused with 409 while it has active contracts)."""
        return tagged(organizations.archive(current_actor(), organization_id))


@blp.route("/<organization_id>/restore")
class Restore(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, OrganizationSchema)
    @errors(blp, 403, 404)
    def post(self, organization_id: str) -> Any:
        """Bring an archived organization back."""
        return tagged(organizations.restore(current_actor(), organization_id))


@blp.route("/<organization_id>/card")
class Card(MethodView):
    @secured(blp)
    @blp.response(200, OrganizationCardSchema)
    @errors(blp, 404)
    def get(self, organization_id: str) -> Any:
        """The organization with its contacts, actions, contracts, invoices, deliveries,
        supplier section, open tasks and running processes."""
        return card.card(current_actor(), organization_id)


@blp.route("/<organization_id>/history")
class History(MethodView):
    @secured(blp)
    @blp.response(200, RegistryAuditEventSchema(many=True))
    @errors(blp, 404)
    def get(self, organization_id: str) -> Any:
        """Who changed the organization and its linked objects, when, and what; newest
        first."""
        return repository.organization_trail(
            str(organizations.get(current_actor(), organization_id).id)
        )


@blp.route("/import")
class Import(MethodView):
    @secured(blp)
    @blp.arguments(ImportFileSchema, location="files")
    @blp.arguments(ImportFormSchema, location="form")
    @blp.response(200, ImportReportSchema)
    @errors(blp, 422)
    def post(self, files: dict[str, Any], form: dict[str, Any]) -> Any:
        """Import organizations from CSV or XLSX. Every row is checked first; if any is bad,
        nothing is written (422 lists the rows) unless `allow_partial`."""
        upload = files["file"]
        return imports.import_organizations(
            current_actor(),
            upload.read(),
            upload.filename,
            form.get("format"),
            form.get("mapping"),
            form["dry_run"],
            form["allow_partial"],
        )


@blp.route("/export")
class Export(MethodView):
    @secured(blp)
    @blp.arguments(OrganizationExportQuerySchema, location="query")
    @blp.response(
        200,
        description="a CSV or XLSX file; its columns import back unchanged",
        content_type="application/octet-stream",
    )
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Export the organizations a search finds."""
        filters = {k: v for k, v in args.items() if k not in (*_PAGE, "format")}
        content, media_type, name = imports.export_organizations(
            current_actor(), args["format"], **filters
        )
        return Response(
            content,
            mimetype=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
