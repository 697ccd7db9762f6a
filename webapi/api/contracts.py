"""Contracts: we are the executor (we sell) or the customer (we buy)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from registry import contracts
from webapi.auth import current_actor
from webapi.etags import etag_doc, expected_version, tagged
from webapi.registry_schemas import (
    ContractInSchema,
    ContractPageSchema,
    ContractPatchSchema,
    ContractQuerySchema,
    ContractSchema,
    StageSchema,
)

from .common import errors, secured

PREFIX = "/contracts"
blp = Blueprint("contracts", __name__, description="Contracts: we sell or we buy")


@blp.route("")
class Contracts(MethodView):
    @secured(blp)
    @blp.arguments(ContractQuerySchema, location="query")
    @blp.response(200, ContractPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Contracts the caller may see, newest first."""
        return contracts.find(current_actor(), **args)

    @secured(blp)
    @etag_doc(blp, 201)
    @blp.arguments(ContractInSchema)
    @blp.response(201, ContractSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Make a contract with an organization the caller may change (a draft by default)."""
        return tagged(contracts.create(current_actor(), body), 201)


@blp.route("/<contract_id>")
class Contract(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, ContractSchema)
    @errors(blp, 404)
    def get(self, contract_id: str) -> Any:
        """One by id."""
        return tagged(contracts.get(current_actor(), contract_id))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(ContractPatchSchema)
    @blp.response(200, ContractSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], contract_id: str) -> Any:
        """Change some fields; `If-Match` (or `version`) refuses overwriting a newer change."""
        version = expected_version(body)
        return tagged(contracts.update(current_actor(), contract_id, body, version))

    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, ContractSchema)
    @errors(blp, 403, 404, 409)
    def delete(self, contract_id: str) -> Any:
        """Archive a contract that is a draft, closed or terminated."""
        return tagged(contracts.archive(current_actor(), contract_id))


@blp.route("/<contract_id>/stage")
class Stage(MethodView):
    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(StageSchema)
    @blp.response(200, ContractSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any], contract_id: str) -> Any:
        """Move the contract along draft → approval → signed → in force → closed or
        terminated; a move the lifecycle does not allow answers 409."""
        version = expected_version(body)
        return tagged(contracts.change_stage(current_actor(), contract_id, body["stage"], version))
