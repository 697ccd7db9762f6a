"""POST /api/v1/messages: correlate a message to a waiting instance, or start one."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import messages
from webapi.auth import current_actor
from webapi.schemas import MessageResultSchema, MessageSchema

from .common import errors, secured

PREFIX = "/messages"
SENDERS = ("designers", "integrations")
blp = Blueprint("messages", __name__, description="BPMN messages from other systems")


@blp.route("")
class Messages(MethodView):
    @secured(blp, *SENDERS)
    @blp.arguments(MessageSchema)
    @blp.response(200, MessageResultSchema)
    @blp.alt_response(
        202, schema=MessageResultSchema, description="Nobody waits yet: kept for `ttl` seconds"
    )
    @errors(blp, 404, 409)
    def post(self, body: dict[str, Any]) -> Any:
        """Deliver a message to the instance waiting for it (by name and correlation key),
        or start a process whose message start event has that name (members of
        integrations or designers, and admins)."""
        result = messages.post(
            current_actor(),
            body["name"],
            body["payload"],
            body.get("correlation_key"),
            body.get("message_id"),
            body.get("ttl"),
        )
        return result, 202 if result["status"] == "buffered" else 200
