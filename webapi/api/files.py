"""Stored files: upload, versions, download, checkout locks, access, signatures."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from documents import files, signatures
from webapi.auth import current_actor
from webapi.records_schemas import (
    AccessInput,
    CheckinInput,
    FileListSchema,
    FileSchema,
    FileSignatureListSchema,
    PageQuery,
    SignatureSchema,
    SignInput,
    UploadForm,
    UploadInput,
    VersionQuery,
)

from .records_common import allow_uploads, download, max_file_bytes, secret_key, secured

PREFIX = "/files"
blp = Blueprint("files", __name__, description="Stored files (GridFS) with versions")
blp.before_request(allow_uploads)


@blp.route("")
class Files(MethodView):
    @secured(blp)
    @blp.arguments(UploadInput, location="files")
    @blp.arguments(UploadForm, location="form")
    @blp.response(201, FileSchema)
    def post(self, upload: dict[str, Any], form: dict[str, Any]) -> Any:
        """Upload a file (multipart `file`); the type is sniffed from the content."""
        part = upload["file"]
        return files.upload(
            current_actor(),
            part.filename or "",
            part.stream,
            max_bytes=max_file_bytes(),
            comment=form["comment"],
        )

    @secured(blp)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, FileListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Files the caller may read by their own access list, latest change first."""
        return {"items": files.list_files(current_actor(), args["limit"], args["offset"])}


@blp.route("/<file_id>")
class File(MethodView):
    @secured(blp)
    @blp.response(200, FileSchema)
    def get(self, file_id: str) -> Any:
        """A file with its versions."""
        return files.get_file(current_actor(), file_id)


@blp.route("/<file_id>/versions")
class Versions(MethodView):
    @secured(blp)
    @blp.arguments(UploadInput, location="files")
    @blp.arguments(UploadForm, location="form")
    @blp.response(201, FileSchema)
    def post(self, upload: dict[str, Any], form: dict[str, Any], file_id: str) -> Any:
        """Store new content as the next version (refused while someone else holds the
        checkout); storing checks the file in."""
        part = upload["file"]
        return files.add_version(
            current_actor(),
            file_id,
            part.filename or "",
            part.stream,
            max_bytes=max_file_bytes(),
            comment=form["comment"],
        )


@blp.route("/<file_id>/content")
class Content(MethodView):
    @secured(blp)
    @blp.arguments(VersionQuery, location="query")
    @blp.response(200, description="The bytes of the version (the current one by default)")
    def get(self, args: dict[str, Any], file_id: str) -> Any:
        """Download a version."""
        _, version, stream = files.open_version(current_actor(), file_id, args.get("version"))
        return download(
            files.iter_content(stream),
            version.filename,
            version.content_type,
            version.size,
            version.sha256,
        )


@blp.route("/<file_id>/checkout")
class Checkout(MethodView):
    @secured(blp)
    @blp.response(200, FileSchema)
    def post(self, file_id: str) -> Any:
        """Check the file out: only the caller may store versions until check-in."""
        return files.checkout(current_actor(), file_id)


@blp.route("/<file_id>/checkin")
class Checkin(MethodView):
    @secured(blp)
    @blp.arguments(CheckinInput)
    @blp.response(200, FileSchema)
    def post(self, args: dict[str, Any], file_id: str) -> Any:
        """Release the caller's checkout (an admin may `force` anyone's)."""
        return files.checkin(current_actor(), file_id, args["force"])


@blp.route("/<file_id>/access")
class Access(MethodView):
    @secured(blp)
    @blp.arguments(AccessInput)
    @blp.response(200, FileSchema)
    def put(self, args: dict[str, Any], file_id: str) -> Any:
        """Replace the file's own access list (its owner keeps both rights)."""
        return files.set_access(current_actor(), file_id, args["read"], args["write"])


@blp.route("/<file_id>/signatures")
class FileSignatures(MethodView):
    @secured(blp)
    @blp.response(200, FileSignatureListSchema)
    def get(self, file_id: str) -> Any:
        """Signatures over the file's versions; `covers_current` tells whether each was
        made over the current version."""
        stored, found = signatures.signatures_of_file(current_actor(), file_id)
        items = [
            {
                **s.to_mongo().to_dict(),
                "id": s.id,
                "covers_current": s.version == stored.current_version,
            }
            for s in found
        ]
        return {"current_version": stored.current_version, "items": items}

    @secured(blp)
    @blp.arguments(SignInput)
    @blp.response(201, SignatureSchema)
    def post(self, args: dict[str, Any], file_id: str) -> Any:
        """Sign a version (the current one by default) with the caller's key."""
        return signatures.sign_file(
            current_actor(), file_id, secret_key(), args.get("version"), args.get("document_id")
        )
