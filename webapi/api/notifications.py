"""In-app notifications (list, unread counter, mark read) and e-mail preferences."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from mail import notifications
from webapi.auth import current_actor

from .common import errors, secured
from .mail_schemas import (
    MailMarkedSchema,
    MailPreferencesSchema,
    MailUnreadSchema,
    NotificationPageSchema,
    NotificationQuerySchema,
    NotificationSchema,
)

PREFIX = "/notifications"
blp = Blueprint("notifications", __name__, description="The caller's notifications")


@blp.route("")
class Notifications(MethodView):
    @secured(blp)
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """The caller's notifications, newest first, and how many are unread."""
        return notifications.inbox(
            current_actor(), args["unread"], args["limit"], args.get("cursor")
        )


@blp.route("/unread-count")
class UnreadCount(MethodView):
    @secured(blp)
    @blp.response(200, MailUnreadSchema)
    def get(self) -> Any:
        """How many of the caller's notifications are unread."""
        return {"unread": notifications.unread_count(current_actor())}


@blp.route("/read-all")
class ReadAll(MethodView):
    @secured(blp)
    @blp.response(200, MailMarkedSchema)
    def post(self) -> Any:
        """Mark every notification of the caller read."""
        return {"marked": notifications.mark_all_read(current_actor())}


@blp.route("/preferences")
class Preferences(MethodView):
    @secured(blp)
    @blp.response(200, MailPreferencesSchema)
    def get(self) -> Any:
        """How notifications reach the caller's e-mail."""
        return notifications.preferences(current_actor())

    @secured(blp)
    @blp.arguments(MailPreferencesSchema)
    @blp.response(200, MailPreferencesSchema)
    @errors(blp, 422)
    def put(self, body: dict[str, Any]) -> Any:
        """Choose immediately, digest (one e-mail a day) or off."""
        return notifications.set_preferences(current_actor(), body["email"])


@blp.route("/<notification_id>/read")
class Read(MethodView):
    @secured(blp)
    @blp.response(200, NotificationSchema)
    @errors(blp, 404)
    def post(self, notification_id: str) -> Any:
        """Mark one notification read."""
        return notifications.mark_read(current_actor(), notification_id)
