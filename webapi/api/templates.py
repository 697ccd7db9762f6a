"""DOCX templates: bounded upload, list, render with a context."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from documents import templates
from webapi.auth import current_actor
from webapi.records_schemas import (
    RenderInput,
    TemplateForm,
    TemplateListQuery,
    TemplateListSchema,
    TemplateSchema,
    UploadInput,
)

from .records_common import OFFICE, allow_uploads, download, max_template_bytes, secured

PREFIX = "/templates"
blp = Blueprint("templates", __name__, description="DOCX templates of contracts and letters")
blp.before_request(allow_uploads)


def _limits() -> templates.DocxLimits:
    return templates.DocxLimits(max_bytes=max_template_bytes())


@blp.route("")
class Templates(MethodView):
    @secured(blp, OFFICE)
    @blp.arguments(UploadInput, location="files")
    @blp.arguments(TemplateForm, location="form")
    @blp.response(201, TemplateSchema)
    def post(self, upload: dict[str, Any], form: dict[str, Any]) -> Any:
        """Upload a DOCX template (size, entries and decompression are checked first)."""
        part = upload["file"]
        return templates.upload_template(
            current_actor(),
            form["name"],
            part.filename or "",
            part.stream,
            form["kind"],
            form["description"],
            _limits(),
        )

    @secured(blp)
    @blp.arguments(TemplateListQuery, location="query")
    @blp.response(200, TemplateListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Active templates, by name."""
        return {"items": templates.list_templates(args.get("kind", ""))}


@blp.route("/<template_id>")
class Template(MethodView):
    @secured(blp)
    @blp.response(200, TemplateSchema)
    def get(self, template_id: str) -> Any:
        """A template with the variables it uses."""
        return templates.get_template(template_id)


@blp.route("/<template_id>/render")
class Render(MethodView):
    @secured(blp)
    @blp.arguments(RenderInput)
    @blp.response(200, description="The rendered DOCX")
    def post(self, args: dict[str, Any], template_id: str) -> Any:
        """Render the template with a context and download the DOCX (nothing is stored)."""
        content = templates.render_template(template_id, args["context"], _limits())
        name = (
            args["filename"]
            if args["filename"].lower().endswith(".docx")
            else (args["filename"] + ".docx")
        )
        return download([content], name, templates.DOCX_TYPE, len(content))
