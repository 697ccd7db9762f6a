"""Registration cards (РКК): control, status, linked documents, acquaintance, filing."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from documents import cards, office
from webapi.auth import current_actor
from webapi.etags import etag_doc, if_match, tagged
from webapi.records_schemas import (
    AcquaintanceListSchema,
    AcquaintanceSchema,
    AcquaintInput,
    CardListQuery,
    CardListSchema,
    CardSchema,
    CardUpdateInput,
    ControlInput,
    DocumentListSchema,
    LinkDocumentsInput,
    SendInput,
    StatusInput,
    TransferInput,
    TransferListSchema,
    TransferSchema,
)

from .records_common import secured

PREFIX = "/cards"
blp = Blueprint("cards", __name__, description="Registration cards (РКК)")


@blp.route("")
class Cards(MethodView):
    @secured(blp)
    @blp.arguments(CardListQuery, location="query")
    @blp.response(200, CardListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Cards the caller may read, newest first; `overdue` lists late ones."""
        return {"items": cards.list_cards(current_actor(), **args)}


@blp.route("/<card_id>")
class Card(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, CardSchema)
    def get(self, card_id: str) -> Any:
        """A card (404 if the caller may not see its document); its `ETag` moves with every
        change."""
        card = cards.get_card(current_actor(), card_id)
        return tagged(card, version=office.version_of(card.updated_at))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(CardUpdateInput)
    @blp.response(200, CardSchema)
    def patch(self, args: dict[str, Any], card_id: str) -> Any:
        """Change resolution, executors, deadline, summary or the correspondent's number;
        a stale `If-Match` answers 409."""
        version = if_match()
        expected = office.at_version(version) if version is not None else None
        card = cards.update_card(current_actor(), card_id, args, expected)
        return tagged(card, version=office.version_of(card.updated_at))


@blp.route("/<card_id>/control")
class Control(MethodView):
    @secured(blp)
    @blp.arguments(ControlInput)
    @blp.response(200, CardSchema)
    def post(self, args: dict[str, Any], card_id: str) -> Any:
        """Put the card under control (or take it off) with a controller and deadline."""
        return cards.put_under_control(
            current_actor(), card_id, args["controller"], args["deadline"], args["on"]
        )


@blp.route("/<card_id>/status")
class Status(MethodView):
    @secured(blp)
    @blp.arguments(StatusInput)
    @blp.response(200, CardSchema)
    def post(self, args: dict[str, Any], card_id: str) -> Any:
        """Move the card on: in_work, executed."""
        return cards.set_status(current_actor(), card_id, args["status"])


@blp.route("/<card_id>/documents")
class Documents(MethodView):
    @secured(blp)
    @blp.response(200, DocumentListSchema)
    def get(self, card_id: str) -> Any:
        """The card's document and linked documents the caller may read."""
        return {"items": cards.linked_documents(current_actor(), card_id)}

    @secured(blp)
    @blp.arguments(LinkDocumentsInput)
    @blp.response(200, CardSchema)
    def post(self, args: dict[str, Any], card_id: str) -> Any:
        """Link more documents to the card."""
        return cards.link_documents(current_actor(), card_id, args["document_ids"])


@blp.route("/<card_id>/acquaintances")
class Acquaintances(MethodView):
    @secured(blp)
    @blp.response(200, AcquaintanceListSchema)
    def get(self, card_id: str) -> Any:
        """Who read the document, when."""
        return {"items": cards.acquaintances(current_actor(), card_id)}

    @secured(blp)
    @blp.arguments(AcquaintInput)
    @blp.response(201, AcquaintanceSchema)
    def post(self, args: dict[str, Any], card_id: str) -> Any:
        """Log that someone read the (paper) document."""
        return cards.acquaint(current_actor(), card_id, args["person"], args["at"], args["note"])


@blp.route("/<card_id>/transfers")
class Transfers(MethodView):
    @secured(blp)
    @blp.response(200, TransferListSchema)
    def get(self, card_id: str) -> Any:
        """The card's transfer log."""
        return {"items": cards.transfers(current_actor(), card_id)}

    @secured(blp)
    @blp.arguments(TransferInput)
    @blp.response(201, TransferSchema)
    def post(self, args: dict[str, Any], card_id: str) -> Any:
        """File the executed document into a case (by index; the journal's by default)."""
        return cards.transfer_to_case(current_actor(), card_id, args["case_index"], args["note"])


@blp.route("/<card_id>/assignments")
class Assignments(MethodView):
    @secured(blp)
    @blp.arguments(SendInput)
    @blp.response(201, CardSchema)
    def post(self, args: dict[str, Any], card_id: str) -> Any:
        """Send the document to an executor as an assignment (document_execution)."""
        return cards.send_to_executor(
            current_actor(), card_id, args["executor"], args["text"], args["due"]
        )
