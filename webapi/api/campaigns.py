"""E-mail campaigns to segments of contacts; the public unsubscribe link."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from sales import campaigns
from webapi.auth import current_actor
from webapi.sales_schemas import (
    BounceResultSchema,
    BounceSchema,
    CampaignInSchema,
    CampaignSchema,
    CampaignStatsSchema,
    UnsubscribedSchema,
)

from .common import errors, secured

PREFIX = "/campaigns"
blp = Blueprint("campaigns", __name__, description="E-mail campaigns to segments")


@blp.route("")
class Campaigns(MethodView):
    @secured(blp, "sales")
    @blp.arguments(CampaignInSchema)
    @blp.response(201, CampaignSchema)
    @errors(blp, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Make a draft campaign (sales and admins)."""
        if body.get("send_at") is not None:
            body["send_at"] = body["send_at"].astimezone(UTC).replace(tzinfo=None)
        return campaigns.create(current_actor(), body)


@blp.route("/<campaign_id>/launch")
class Launch(MethodView):
    @secured(blp, "sales")
    @blp.response(200, CampaignSchema)
    @errors(blp, 404, 409)
    def post(self, campaign_id: str) -> Any:
        """Take the segment's contacts as recipients and queue the e-mails (once)."""
        return campaigns.launch(current_actor(), campaign_id)


@blp.route("/<campaign_id>")
class Campaign(MethodView):
    @secured(blp)
    @blp.response(200, CampaignStatsSchema)
    @errors(blp, 404)
    def get(self, campaign_id: str) -> Any:
        """The campaign and its recipients per status."""
        actor = current_actor()
        return {
            "campaign": campaigns.get(actor, campaign_id),
            "statuses": campaigns.statistics(actor, campaign_id),
        }


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


@blp.route("/unsubscribe/<token>")
class Unsubscribe(MethodView):
    @blp.response(200, UnsubscribedSchema)
    @errors(blp, 404)
    def get(self, token: str) -> Any:
        """The link in every campaign e-mail (no sign-in): the address gets no campaign
        again."""
        return {"email": campaigns.unsubscribe(token)}
