"""Citizens' appeals (59-FZ): registration, redirect, extension, answer, notices."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from documents import appeals
from webapi.auth import current_actor
from webapi.etags import etag_doc, if_match, tagged
from webapi.records_schemas import (
    AnswerInput,
    AppealCreateInput,
    AppealListQuery,
    AppealListSchema,
    AppealSchema,
    ExtendInput,
    NoticeInput,
    RedirectInput,
)

from .records_common import secured

PREFIX = "/appeals"
blp = Blueprint("appeals", __name__, description="Citizens' appeals (59-FZ)")


@blp.route("")
class Appeals(MethodView):
    @secured(blp)
    @etag_doc(blp, 201)
    @blp.arguments(AppealCreateInput)
    @blp.response(201, AppealSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Register an appeal: number, card, 30-day deadline, repeated-appeal check."""
        journal_id = args.pop("journal_id")
        return tagged(appeals.register_appeal(current_actor(), journal_id, **args), 201)

    @secured(blp)
    @blp.arguments(AppealListQuery, location="query")
    @blp.response(200, AppealListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Appeals the caller may read, newest first; `overdue` lists late ones."""
        return {"items": appeals.list_appeals(current_actor(), **args)}


@blp.route("/<appeal_id>")
class Appeal(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, AppealSchema)
    def get(self, appeal_id: str) -> Any:
        """An appeal with its notices; its `ETag` is its version."""
        return tagged(appeals.get_appeal(current_actor(), appeal_id))


@blp.route("/<appeal_id>/redirect")
class Redirect(MethodView):
    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(RedirectInput)
    @blp.response(200, AppealSchema)
    def post(self, args: dict[str, Any], appeal_id: str) -> Any:
        """Send the appeal to the competent body (due within 7 days), notifying authors."""
        appeal = appeals.redirect(current_actor(), appeal_id, **args, expected_version=if_match())
        return tagged(appeal)


@blp.route("/<appeal_id>/extension")
class Extension(MethodView):
    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(ExtendInput)
    @blp.response(200, AppealSchema)
    def post(self, args: dict[str, Any], appeal_id: str) -> Any:
        """Extend the term once by at most 30 days, notifying the authors."""
        appeal = appeals.extend(current_actor(), appeal_id, **args, expected_version=if_match())
        return tagged(appeal)


@blp.route("/<appeal_id>/answer")
class Answer(MethodView):
    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(AnswerInput)
    @blp.response(200, AppealSchema)
    def post(self, args: dict[str, Any], appeal_id: str) -> Any:
        """Record the answer sent to the authors."""
        appeal = appeals.answer(current_actor(), appeal_id, **args, expected_version=if_match())
        return tagged(appeal)


@blp.route("/<appeal_id>/notices")
class Notices(MethodView):
    @secured(blp)
    @etag_doc(blp, 201, write=True)
    @blp.arguments(NoticeInput)
    @blp.response(201, AppealSchema)
    def post(self, args: dict[str, Any], appeal_id: str) -> Any:
        """Log another notice sent to the authors."""
        appeal = appeals.send_notice(
            current_actor(), appeal_id, args["kind"], args["text"], if_match()
        )
        return tagged(appeal, 201)
