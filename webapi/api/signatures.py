"""Signatures and signing keys: verify, export the CMS, issue and revoke keys."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from documents import signatures
from webapi.auth import current_actor, current_user
from webapi.records_schemas import (
    KeyIssueInput,
    KeyListSchema,
    KeySchema,
    SignatureSchema,
    VerificationSchema,
    VersionQuery,
)

from .records_common import download, secret_key, secured

PREFIX = "/signatures"
blp = Blueprint("signatures", __name__, description="Electronic signatures and signing keys")


@blp.route("/<signature_id>")
class Signature(MethodView):
    @secured(blp)
    @blp.response(200, SignatureSchema)
    def get(self, signature_id: str) -> Any:
        """A signature's record."""
        return signatures.get_signature(current_actor(), signature_id)[0]


@blp.route("/<signature_id>/verify")
class Verify(MethodView):
    @secured(blp)
    @blp.arguments(VersionQuery, location="query")
    @blp.response(200, VerificationSchema)
    def get(self, args: dict[str, Any], signature_id: str) -> Any:
        """Verify against a version of the file (the current one by default): valid,
        invalid or content_changed."""
        return signatures.verify(current_actor(), signature_id, args.get("version"))


@blp.route("/<signature_id>/cms")
class Cms(MethodView):
    @secured(blp)
    @blp.response(200, description="The detached CMS (PKCS#7) signature, DER")
    def get(self, signature_id: str) -> Any:
        """Download the signature as a .p7s file."""
        found, stored = signatures.get_signature(current_actor(), signature_id)
        data = bytes(found.cms)
        return download(
            [data], f"{stored.name}.v{found.version}.p7s", "application/pkcs7-signature", len(data)
        )


@blp.route("/keys")
class Keys(MethodView):
    @secured(blp)
    @blp.response(200, KeyListSchema)
    def get(self) -> Any:
        """The caller's signing keys, newest first."""
        return {"items": signatures.list_keys(current_actor().username)}

    @secured(blp)
    @blp.arguments(KeyIssueInput)
    @blp.response(201, KeySchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Issue the caller a key pair and a self-issued certificate (the old key is
        revoked; its signatures stay verifiable)."""
        user = current_user()
        return signatures.issue_key(
            user.username, secret_key(), args["algorithm"], user.full_name, args["valid_days"]
        )

    @secured(blp)
    @blp.response(200, KeyListSchema)
    def delete(self) -> Any:
        """Revoke the caller's active key."""
        signatures.revoke_keys(current_actor().username)
        return {"items": signatures.list_keys(current_actor().username)}


@blp.route("/keys/certificate")
class Certificate(MethodView):
    @secured(blp)
    @blp.response(200, description="The caller's active certificate, PEM")
    def get(self) -> Any:
        """The certificate of the caller's active key."""
        key = signatures.active_key(current_actor().username)
        return Response(signatures.certificate_pem(key), mimetype="application/x-pem-file")
