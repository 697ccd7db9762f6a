"""Office documents: requisites, restriction, files, links, registration, generation."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from documents import cards, journals, office, signatures, templates
from webapi.auth import current_actor
from webapi.etags import etag_doc, if_match, tagged
from webapi.records_schemas import (
    AttachInput,
    CardSchema,
    DocumentCreateInput,
    DocumentListQuery,
    DocumentListSchema,
    DocumentSchema,
    DocumentSignatureListSchema,
    DocumentUpdateInput,
    FileSchema,
    GenerateInput,
    LinkSchema,
    RegisterInput,
    RestrictionInput,
)

from .records_common import secured

PREFIX = "/documents"
blp = Blueprint("documents", __name__, description="Office documents (records office)")


@blp.route("")
class Documents(MethodView):
    @secured(blp)
    @blp.arguments(DocumentCreateInput)
    @blp.response(201, DocumentSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Create a document; with `journal_id` it follows that journal's access list."""
        actor = current_actor()
        journal_id = args.pop("journal_id")
        journal = journals.get_journal(actor, journal_id) if journal_id else None
        return office.create_document(actor, journal=journal, **args)

    @secured(blp)
    @blp.arguments(DocumentListQuery, location="query")
    @blp.response(200, DocumentListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Documents the caller may read, newest first; `q` is a title prefix."""
        return {"items": office.list_documents(current_actor(), **args)}


@blp.route("/<document_id>")
class Document(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, DocumentSchema)
    def get(self, document_id: str) -> Any:
        """A document (404 if the caller may not see it); its `ETag` moves with every
        change."""
        doc = office.get_document(current_actor(), document_id)
        return tagged(doc, version=office.version_of(doc.updated_at))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(DocumentUpdateInput)
    @blp.response(200, DocumentSchema)
    def patch(self, args: dict[str, Any], document_id: str) -> Any:
        """Change a document's requisites; a stale `If-Match` answers 409."""
        doc = office.update_document(current_actor(), document_id, args, if_match())
        return tagged(doc, version=office.version_of(doc.updated_at))


@blp.route("/<document_id>/restriction")
class Restriction(MethodView):
    @secured(blp)
    @blp.arguments(RestrictionInput)
    @blp.response(200, DocumentSchema)
    def put(self, args: dict[str, Any], document_id: str) -> Any:
        """Restrict the document to its own access list, or let it follow its journal."""
        return office.set_restriction(current_actor(), document_id, **args)


@blp.route("/<document_id>/files")
class DocumentFiles(MethodView):
    @secured(blp)
    @blp.arguments(AttachInput)
    @blp.response(200, DocumentSchema)
    def post(self, args: dict[str, Any], document_id: str) -> Any:
        """Attach a file version (the current one unless `version` is given)."""
        return office.attach_file(current_actor(), document_id, **args)


@blp.route("/<document_id>/files/<file_id>")
class DocumentFile(MethodView):
    @secured(blp)
    @blp.response(200, DocumentSchema)
    def delete(self, document_id: str, file_id: str) -> Any:
        """Detach a file (the file and its versions stay)."""
        return office.detach_file(current_actor(), document_id, file_id)


@blp.route("/<document_id>/links")
class Links(MethodView):
    @secured(blp)
    @blp.arguments(LinkSchema)
    @blp.response(200, DocumentSchema)
    def post(self, args: dict[str, Any], document_id: str) -> Any:
        """Link any directory object (organization, contract …)."""
        return office.link_object(
            current_actor(), document_id, args["type"], args["id"], args["title"]
        )


@blp.route("/<document_id>/signatures")
class DocumentSignatures(MethodView):
    @secured(blp)
    @blp.response(200, DocumentSignatureListSchema)
    def get(self, document_id: str) -> Any:
        """Signatures over the document's files, and whether they cover the current and the
        attached versions."""
        found = signatures.signatures_of_document(current_actor(), document_id)
        return {
            "items": [
                {**row, "file_id": str(row["file"].id), "file_name": row["file"].name}
                for row in found
            ]
        }


@blp.route("/<document_id>/registration")
class Registration(MethodView):
    @secured(blp)
    @blp.arguments(RegisterInput)
    @blp.response(201, CardSchema)
    def post(self, args: dict[str, Any], document_id: str) -> Any:
        """Register the document in a journal: the next number (or a reserved one) and a
        card; starts `document_registration` when it is deployed."""
        journal_id = args.pop("journal_id")
        return cards.register_document(current_actor(), document_id, journal_id, **args)

    @secured(blp)
    @blp.response(200, CardSchema)
    def get(self, document_id: str) -> Any:
        """The document's registration card."""
        return cards.card_of_document(current_actor(), document_id)


@blp.route("/<document_id>/generate")
class Generate(MethodView):
    @secured(blp)
    @blp.arguments(GenerateInput)
    @blp.response(201, FileSchema)
    def post(self, args: dict[str, Any], document_id: str) -> Any:
        """Render a DOCX template into a new file attached to the document; the context's
        `document` part comes from the document and its card."""
        actor = current_actor()
        doc = office.get_document(actor, document_id)
        card = cards.card_of_document(actor, document_id) if doc.card_id else None
        context = {**args["context"], "document": templates.document_context(doc, card)}
        return templates.generate(
            actor, args["template_id"], context, args["filename"], document_id=document_id
        )
