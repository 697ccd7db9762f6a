"""GET /api/v1/mailbox: the caller's messages, assignments, orders and tasks in one list."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from mail import mailbox
from webapi.auth import current_actor

from .common import errors, secured
from .mail_schemas import MailboxQuerySchema, MailboxSchema

PREFIX = "/mailbox"
blp = Blueprint("mailbox", __name__, description="The user's mailbox (почта)")


@blp.route("")
class Mailbox(MethodView):
    @secured(blp)
    @blp.arguments(MailboxQuerySchema, location="query")
    @blp.response(200, MailboxSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Messages received, assignments the caller issues, executes or controls, orders
        they issued, execute or follow, and tasks of other procedures in their inbox; newest
        first, with counters (all, unread, overdue, under control) of every kind."""
        return mailbox.view(
            current_actor(),
            args.get("kind"),
            args["unread"],
            args["overdue"],
            args["under_control"],
            args["closed"],
            args["limit"],
            args.get("cursor"),
        )
