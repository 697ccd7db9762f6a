"""Registration journals: requisites, access, reserved numbers and the numbering log."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from documents import journals
from webapi.auth import current_actor
from webapi.records_schemas import (
    AccessInput,
    CancelInput,
    JournalCreateInput,
    JournalListQuery,
    JournalListSchema,
    JournalSchema,
    JournalUpdateInput,
    ReservationListSchema,
    ReservationSchema,
    ReserveInput,
    YearQuery,
)

from .records_common import OFFICE, secured

PREFIX = "/journals"
blp = Blueprint("journals", __name__, description="Registration journals and numbering")


@blp.route("")
class Journals(MethodView):
    @secured(blp, OFFICE)
    @blp.arguments(JournalCreateInput)
    @blp.response(201, JournalSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Create a journal with its number template (records clerks and admins)."""
        return journals.create_journal(current_actor(), **args)

    @secured(blp)
    @blp.arguments(JournalListQuery, location="query")
    @blp.response(200, JournalListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Journals the caller may read."""
        return {"items": journals.list_journals(current_actor(), args.get("kind", ""))}


@blp.route("/<journal_id>")
class Journal(MethodView):
    @secured(blp)
    @blp.response(200, JournalSchema)
    def get(self, journal_id: str) -> Any:
        """A journal."""
        return journals.get_journal(current_actor(), journal_id)

    @secured(blp)
    @blp.arguments(JournalUpdateInput)
    @blp.response(200, JournalSchema)
    def patch(self, args: dict[str, Any], journal_id: str) -> Any:
        """Change a journal (numbers given already keep their text)."""
        return journals.update_journal(current_actor(), journal_id, **args)


@blp.route("/<journal_id>/access")
class Access(MethodView):
    @secured(blp)
    @blp.arguments(AccessInput)
    @blp.response(200, JournalSchema)
    def put(self, args: dict[str, Any], journal_id: str) -> Any:
        """Replace the journal's access list; its unrestricted documents follow."""
        return journals.set_access(current_actor(), journal_id, args["read"], args["write"])


@blp.route("/<journal_id>/reservations")
class Reservations(MethodView):
    @secured(blp)
    @blp.arguments(ReserveInput)
    @blp.response(201, ReservationSchema)
    def post(self, args: dict[str, Any], journal_id: str) -> Any:
        """Reserve the next number (registration may name it later)."""
        return journals.reserve_number(
            current_actor(), journal_id, args["on"], args["correspondent_number"]
        )


@blp.route("/reservations/<reservation_id>/cancel")
class Cancel(MethodView):
    @secured(blp)
    @blp.arguments(CancelInput)
    @blp.response(200, ReservationSchema)
    def post(self, args: dict[str, Any], reservation_id: str) -> Any:
        """Cancel an unused reserved number; it stays in the log and is never reused."""
        return journals.cancel_reservation(current_actor(), reservation_id, args["reason"])


@blp.route("/<journal_id>/numbers")
class Numbers(MethodView):
    @secured(blp)
    @blp.arguments(YearQuery, location="query")
    @blp.response(200, ReservationListSchema)
    def get(self, args: dict[str, Any], journal_id: str) -> Any:
        """Every number taken in a year: used, reserved or cancelled, in order."""
        return {"items": journals.number_log(current_actor(), journal_id, args["year"])}
