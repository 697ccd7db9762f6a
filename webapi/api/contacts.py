"""Contacts of organizations: CRUD, search, import and export."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from registry import contacts, imports
from webapi.auth import current_actor
from webapi.etags import etag_doc, expected_version, tagged
from webapi.registry_schemas import (
    ContactExportQuerySchema,
    ContactInSchema,
    ContactPageSchema,
    ContactPatchSchema,
    ContactQuerySchema,
    ContactSchema,
    ImportFileSchema,
    ImportFormSchema,
    ImportReportSchema,
)

from .common import errors, secured

PREFIX = "/contacts"
blp = Blueprint("contacts", __name__, description="People at organizations")


@blp.route("")
class Contacts(MethodView):
    @secured(blp)
    @blp.arguments(ContactQuerySchema, location="query")
    @blp.response(200, ContactPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Contacts the caller may see: by organization, name words, phone, e-mail."""
        return contacts.find(current_actor(), **args)

    @secured(blp)
    @etag_doc(blp, 201)
    @blp.arguments(ContactInSchema)
    @blp.response(201, ContactSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Add a contact to an organization the caller may change."""
        return tagged(contacts.create(current_actor(), body), 201)


@blp.route("/<contact_id>")
class Contact(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, ContactSchema)
    @errors(blp, 404)
    def get(self, contact_id: str) -> Any:
        """A contact."""
        return tagged(contacts.get(current_actor(), contact_id))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(ContactPatchSchema)
    @blp.response(200, ContactSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], contact_id: str) -> Any:
        """Change some fields of a contact."""
        version = expected_version(body)
        return tagged(contacts.update(current_actor(), contact_id, body, version))

    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, ContactSchema)
    @errors(blp, 403, 404)
    def delete(self, contact_id: str) -> Any:
        """Archive a contact."""
        return tagged(contacts.archive(current_actor(), contact_id))


@blp.route("/import")
class Import(MethodView):
    @secured(blp)
    @blp.arguments(ImportFileSchema, location="files")
    @blp.arguments(ImportFormSchema, location="form")
    @blp.response(200, ImportReportSchema)
    @errors(blp, 422)
    def post(self, files: dict[str, Any], form: dict[str, Any]) -> Any:
        """Import contacts of existing organizations (found by `organization_inn` and
        `organization_kpp`, or `organization_id`); all or nothing unless `allow_partial`."""
        upload = files["file"]
        return imports.import_contacts(
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
    @blp.arguments(ContactExportQuerySchema, location="query")
    @blp.response(200, description="a CSV or XLSX file", content_type="application/octet-stream")
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Export the contacts the caller may see (of one organization, if given)."""
        content, media_type, name = imports.export_contacts(
            current_actor(), args["format"], args.get("organization")
        )
        return Response(
            content,
            mimetype=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
