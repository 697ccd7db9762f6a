"""Messages between users: send, read, reply, forward, folders, search, attachments."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from mail import messages
from webapi.auth import current_actor

from .common import errors, secured
from .mail_common import attachment_response
from .mail_schemas import (
    MailForwardSchema,
    MailMessageInSchema,
    MailMessageListSchema,
    MailMessagePageSchema,
    MailMessageQuerySchema,
    MailMessageSchema,
    MailReplySchema,
)

PREFIX = "/mail/messages"
blp = Blueprint("mail_messages", __name__, description="Messages between users (сообщения)")


@blp.route("")
class Messages(MethodView):
    @secured(blp)
    @blp.arguments(MailMessageInSchema)
    @blp.response(201, MailMessageSchema)
    @errors(blp, 404, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Send a message to users and to the members of groups."""
        return messages.send(
            current_actor(),
            body["to_users"],
            body["to_groups"],
            body["subject"],
            body["body"],
            body["attachments"],
        )

    @secured(blp)
    @blp.arguments(MailMessageQuerySchema, location="query")
    @blp.response(200, MailMessagePageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """One folder (inbox, sent, archive), newest first; `q` searches words."""
        page = messages.list_folder(
            current_actor(),
            args["folder"],
            args["unread"],
            args.get("q"),
            args["limit"],
            args.get("cursor"),
        )
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/<message_id>")
class Message(MethodView):
    @secured(blp)
    @blp.response(200, MailMessageSchema)
    @errors(blp, 404)
    def get(self, message_id: str) -> Any:
        """A message the caller sent or received; reading marks it read."""
        return messages.get(current_actor(), message_id)


@blp.route("/<message_id>/thread")
class Thread(MethodView):
    @secured(blp)
    @blp.response(200, MailMessageListSchema)
    @errors(blp, 404)
    def get(self, message_id: str) -> Any:
        """The messages of the thread that the caller may read, oldest first."""
        return {"items": messages.thread(current_actor(), message_id)}


@blp.route("/<message_id>/reply")
class Reply(MethodView):
    @secured(blp)
    @blp.arguments(MailReplySchema)
    @blp.response(201, MailMessageSchema)
    @errors(blp, 404, 409, 422)
    def post(self, body: dict[str, Any], message_id: str) -> Any:
        """Answer the sender (or everyone, with `to_all`) in the same thread."""
        return messages.reply(
            current_actor(), message_id, body["body"], body["attachments"], body["to_all"]
        )


@blp.route("/<message_id>/forward")
class Forward(MethodView):
    @secured(blp)
    @blp.arguments(MailForwardSchema)
    @blp.response(201, MailMessageSchema)
    @errors(blp, 404, 422)
    def post(self, body: dict[str, Any], message_id: str) -> Any:
        """Send the message on, with its attachments and its text quoted."""
        return messages.forward(
            current_actor(), message_id, body["to_users"], body["to_groups"], body["body"]
        )


@blp.route("/<message_id>/read")
class Read(MethodView):
    @secured(blp)
    @blp.response(200, MailMessageSchema)
    @errors(blp, 404)
    def post(self, message_id: str) -> Any:
        """Mark the message read."""
        return messages.set_read(current_actor(), message_id, True)


@blp.route("/<message_id>/unread")
class Unread(MethodView):
    @secured(blp)
    @blp.response(200, MailMessageSchema)
    @errors(blp, 404)
    def post(self, message_id: str) -> Any:
        """Mark the message unread."""
        return messages.set_read(current_actor(), message_id, False)


@blp.route("/<message_id>/archive")
class Archive(MethodView):
    @secured(blp)
    @blp.response(200, MailMessageSchema)
    @errors(blp, 404)
    def post(self, message_id: str) -> Any:
        """Move the message to the caller's archive."""
        return messages.set_archived(current_actor(), message_id, True)


@blp.route("/<message_id>/unarchive")
class Unarchive(MethodView):
    @secured(blp)
    @blp.response(200, MailMessageSchema)
    @errors(blp, 404)
    def post(self, message_id: str) -> Any:
        """Move the message back from the archive."""
        return messages.set_archived(current_actor(), message_id, False)


@blp.route("/<message_id>/attachments/<attachment_id>")
class AttachmentContent(MethodView):
    @secured(blp)
    @blp.response(200, description="The attached file version")
    @errors(blp, 404, 409)
    def get(self, message_id: str, attachment_id: str) -> Any:
        """Download a file attached to a message the caller may read."""
        return attachment_response(
            messages.open_attachment(current_actor(), message_id, attachment_id)
        )
