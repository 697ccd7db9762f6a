"""Campaigns to segments of contacts: e-mails, call tasks, replies; the unsubscribe link."""

from __future__ import annotations

from typing import Any

from flask import jsonify, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.wrappers import Response

from sales import campaigns
from webapi.auth import current_actor
from webapi.sales_schemas import (
    BounceResultSchema,
    BounceSchema,
    CallListSchema,
    CallOutcomeSchema,
    CallQuerySchema,
    CallSchema,
    CampaignInSchema,
    CampaignListSchema,
    CampaignSchema,
    CampaignStatsSchema,
    RecipientListSchema,
    RecipientQuerySchema,
    ResponseInSchema,
    ResponseListSchema,
    ResponseSchema,
)

from .common import errors, secured

PREFIX = "/campaigns"
blp = Blueprint("campaigns", __name__, description="Campaigns (e-mail, calls) to segments")


@blp.route("")
class Campaigns(MethodView):
    @secured(blp)
    @blp.response(200, CampaignListSchema)
    def get(self) -> Any:
        """Campaigns, newest first."""
        return {"items": campaigns.find(current_actor())}

    @secured(blp, "sales")
    @blp.arguments(CampaignInSchema)
    @blp.response(201, CampaignSchema)
    @errors(blp, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Make a draft campaign (sales and admins)."""
        return campaigns.create(current_actor(), body)


@blp.route("/<campaign_id>/launch")
class Launch(MethodView):
    @secured(blp, "sales")
    @blp.response(200, CampaignSchema)
    @errors(blp, 404, 409)
    def post(self, campaign_id: str) -> Any:
        """Take the segment's contacts: queue the e-mails, or make the call tasks (once)."""
        return campaigns.launch(current_actor(), campaign_id)


@blp.route("/<campaign_id>")
class Campaign(MethodView):
    @secured(blp)
    @blp.response(200, CampaignStatsSchema)
    @errors(blp, 404)
    def get(self, campaign_id: str) -> Any:
        """The campaign and what became of it: recipients per status, sent, bounced,
        unsubscribed, replied, call outcomes, deals and the won amount."""
        actor = current_actor()
        return {
            "campaign": campaigns.get(actor, campaign_id),
            **campaigns.statistics(actor, campaign_id),
        }


@blp.route("/<campaign_id>/recipients")
class Recipients(MethodView):
    @secured(blp, "sales")
    @blp.arguments(RecipientQuerySchema, location="query")
    @blp.response(200, RecipientListSchema)
    @errors(blp, 404)
    def get(self, args: dict[str, Any], campaign_id: str) -> Any:
        """The recipients and their e-mails' status (sales and admins)."""
        return {"items": campaigns.recipients(current_actor(), campaign_id, args.get("status"))}


@blp.route("/<campaign_id>/bounces")
class Bounces(MethodView):
    @secured(blp, "sales", "integrations")
    @blp.arguments(BounceSchema)
    @blp.response(200, BounceResultSchema)
    @errors(blp, 404, 422)
    def post(self, body: dict[str, Any], campaign_id: str) -> Any:
        """Record a bounce reported for an address of the campaign."""
        changed = campaigns.record_bounce(campaign_id, body["email"], body.get("reason", ""))
        return {"changed": changed}


@blp.route("/<campaign_id>/responses")
class Responses(MethodView):
    @secured(blp, "sales")
    @blp.response(200, ResponseListSchema)
    @errors(blp, 404)
    def get(self, campaign_id: str) -> Any:
        """The replies recorded, newest first."""
        return {"items": campaigns.responses(current_actor(), campaign_id)}

    @secured(blp, "sales", "integrations")
    @blp.arguments(ResponseInSchema)
    @blp.response(201, ResponseSchema)
    @errors(blp, 404, 422)
    def post(self, body: dict[str, Any], campaign_id: str) -> Any:
        """Attribute a reply (an inbound mail hook or a person): logged as an e-mail action
        on the contact's organization; reported again (same message_id) it counts once."""
        return campaigns.record_response(current_actor(), campaign_id, body)


@blp.route("/calls")
class Calls(MethodView):
    @secured(blp)
    @blp.arguments(CallQuerySchema, location="query")
    @blp.response(200, CallListSchema)
    @errors(blp, 404)
    def get(self, args: dict[str, Any]) -> Any:
        """The caller's call tasks (sales heads and admins: anyone's), open by default."""
        return {"items": campaigns.calls(current_actor(), **args)}


@blp.route("/calls/<call_id>/outcome")
class CallOutcome(MethodView):
    @secured(blp)
    @blp.arguments(CallOutcomeSchema)
    @blp.response(200, CallSchema)
    @errors(blp, 404, 409, 422)
    def post(self, body: dict[str, Any], call_id: str) -> Any:
        """Record how the call went: an outgoing call action on the organization; once."""
        return campaigns.record_call(current_actor(), call_id, body)


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


@blp.route("/unsubscribe/<token>")
class Unsubscribe(MethodView):
    @errors(blp, 404)
    def get(self, token: str) -> Response:
        """The link in every campaign e-mail (no sign-in): a page asking to confirm. It
        changes nothing, since mail scanners open links; JSON clients get the state."""
        state = campaigns.unsubscribe_state(token)
        if not _wants_html():
            return jsonify(state)
        return Response(
            render_template("sales/unsubscribe.html", state=state, token=token),
            mimetype="text/html",
        )

    @errors(blp, 404)
    def post(self, token: str) -> Response:
        """Unsubscribe (the page's button, or a mail client's one-click POST, RFC 8058):
        the address gets no campaign again."""
        email = campaigns.unsubscribe(token)
        if not _wants_html():
            return jsonify({"email": email, "unsubscribed": True})
        state = {"email": email, "unsubscribed": True}
        return Response(
            render_template("sales/unsubscribe.html", state=state, token=token),
            mimetype="text/html",
        )
