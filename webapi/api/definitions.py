"""Deployed BPMN/DMN definitions: upload, list, versions, source."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine import autostart, definitions, start_rights
from webapi.auth import current_actor, current_user
from webapi.schemas import (
    DefinitionListQuerySchema,
    DefinitionListSchema,
    DefinitionVersionsSchema,
    DeployedSchema,
    KindQuerySchema,
    UploadSchema,
)

from .common import errors, secured

PREFIX = "/definitions"
DESIGNERS = "designers"
blp = Blueprint("definitions", __name__, description="Process and decision definitions")


@blp.route("")
class Definitions(MethodView):
    @secured(blp, DESIGNERS)
    @blp.arguments(UploadSchema, location="files")
    @blp.response(201, DeployedSchema)
    @errors(blp, 413)
    def post(self, files: dict[str, Any]) -> Any:
        """Deploy a .bpmn or .dmn file (designers and admins); identical content keeps
        its version."""
        upload = files["file"]
        limit = current_app.config["SETTINGS"].max_bpmn_bytes
        # Read one byte past the limit: enough to tell that a file is too large.
        deployed = definitions.deploy(
            upload.read(limit + 1), upload.filename, current_user().username, max_bytes=limit
        )
        start_rights.uploaded(deployed, current_user().username)
        return deployed

    @secured(blp)
    @blp.arguments(DefinitionListQuerySchema, location="query", unknown=None)
    @blp.response(200, DefinitionListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The latest version of every definition the caller may see (private ones: their
        owner, whom they are shared with, admins). With `startable_for=me`: only the
        processes the caller may start, and with `subject_type` only those declaring it."""
        if args.get("startable_for") or args.get("subject_type"):
            return {"items": start_rights.startable(current_actor(), args.get("subject_type"))}
        return {"items": definitions.list_latest(args.get("kind"), current_actor())}


@blp.route("/<key>")
class DefinitionVersions(MethodView):
    @secured(blp)
    @blp.arguments(KindQuerySchema, location="query", unknown=None)
    @blp.response(200, DefinitionVersionsSchema)
    @errors(blp, 404)
    def get(self, args: dict[str, Any], key: str) -> Any:
        """Every version of a definition, newest first."""
        return {
            "key": key,
            "kind": args["kind"],
            "versions": definitions.versions(key, args["kind"], current_actor()),
        }


@blp.route("/<key>/<int:version>/xml")
class DefinitionSource(MethodView):
    @secured(blp)
    @blp.arguments(KindQuerySchema, location="query", unknown=None)
    @blp.doc(
        responses={
            "200": {
                "description": "The BPMN or DMN source as deployed",
                "content": {"application/xml": {"schema": {"type": "string"}}},
            }
        }
    )
    @errors(blp, 404)
    def get(self, args: dict[str, Any], key: str, version: int) -> Any:
        """The XML of one version, as uploaded."""
        found = definitions.find(key, version, args["kind"], actor=current_actor())
        return Response(found.source, mimetype="application/xml")


class AutoStartRuleSchema(Schema):
    object_type = fields.String()
    event = fields.String()
    stage = fields.String()
    condition = fields.String()


class AutoStartSchema(Schema):
    key = fields.String(dump_only=True)
    enabled = fields.Boolean(required=True)
    rules = fields.List(fields.Nested(AutoStartRuleSchema), dump_only=True)


@blp.route("/<key>/auto-start")
class DefinitionAutoStart(MethodView):
    @secured(blp)
    @blp.response(200, AutoStartSchema)
    @errors(blp, 404)
    def get(self, key: str) -> Any:
        """The auto-start rules of the latest version and whether they are on."""
        definitions.find(key, actor=current_actor())
        return autostart.state(key)

    @secured(blp, DESIGNERS)
    @blp.arguments(AutoStartSchema)
    @blp.response(200, AutoStartSchema)
    @errors(blp, 404, 422)
    def put(self, args: dict[str, Any], key: str) -> Any:
        """Switch the process's auto-start rules on or off (designers and admins)."""
        definitions.find(key, actor=current_actor())
        return autostart.set_enabled(key, args["enabled"], current_actor())


class StartRightsSchema(Schema):
    key = fields.String(dump_only=True)
    principals = fields.List(
        fields.String(validate=validate.Length(min=1, max=80)),
        required=True,
        validate=validate.Length(max=200),
        metadata={"description": "`*` (everyone), user names, `group:NAME`"},
    )
    source = fields.String(dump_only=True, metadata={"description": "setting, diagram or default"})
    subject_types = fields.List(fields.String(), dump_only=True)


@blp.route("/<key>/start-rights")
class DefinitionStartRights(MethodView):
    @secured(blp)
    @blp.response(200, StartRightsSchema)
    @errors(blp, 404)
    def get(self, key: str) -> Any:
        """Who may start the process (admins and designers always may)."""
        return start_rights.state(key, current_actor())

    @secured(blp, DESIGNERS)
    @blp.arguments(StartRightsSchema)
    @blp.response(200, StartRightsSchema)
    @errors(blp, 404, 422)
    def put(self, args: dict[str, Any], key: str) -> Any:
        """Set who may start the process (designers and admins); wins over the diagram."""
        return start_rights.set_rights(key, args["principals"], current_actor())
