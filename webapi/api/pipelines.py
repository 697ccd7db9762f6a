"""Sales pipelines: stages deals move through, and the funnel figures of each."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from sales import analytics, pipelines
from webapi.auth import current_actor
from webapi.sales_schemas import (
    AnalyticsQuerySchema,
    AnalyticsSchema,
    GroupAnalyticsSchema,
    GroupQuerySchema,
    PipelineInSchema,
    PipelineListSchema,
    PipelinePatchSchema,
    PipelineSchema,
)

from .common import errors, secured

PREFIX = "/pipelines"
blp = Blueprint("pipelines", __name__, description="Sales pipelines and their figures")


@blp.route("")
class Pipelines(MethodView):
    @secured(blp)
    @blp.response(200, PipelineListSchema)
    def get(self) -> Any:
        """Every pipeline, by name."""
        return {"items": pipelines.find(current_actor())}

    @secured(blp)
    @blp.arguments(PipelineInSchema)
    @blp.response(201, PipelineSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Make a pipeline (admins and sales_admins); it needs open, won and lost stages."""
        return pipelines.create(current_actor(), body)


@blp.route("/<pipeline_id>")
class Pipeline(MethodView):
    @secured(blp)
    @blp.response(200, PipelineSchema)
    @errors(blp, 404)
    def get(self, pipeline_id: str) -> Any:
        """One by key or id."""
        return pipelines.get(current_actor(), pipeline_id)

    @secured(blp)
    @blp.arguments(PipelinePatchSchema)
    @blp.response(200, PipelineSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], pipeline_id: str) -> Any:
        """Rename it or replace its stages (a stage deals stand in must stay: 409)."""
        version = body.pop("version", None)
        return pipelines.update(current_actor(), pipeline_id, body, version)


@blp.route("/<pipeline_id>/analytics")
class Analytics(MethodView):
    @secured(blp)
    @blp.arguments(AnalyticsQuerySchema, location="query")
    @blp.response(200, AnalyticsSchema)
    @errors(blp, 404, 422)
    def get(self, args: dict[str, Any], pipeline_id: str) -> Any:
        """Funnel per stage, win rate, average deal, cycle time and forecast of the deals
        the caller may see."""
        return analytics.summary(current_actor(), pipeline_id, **args)


@blp.route("/<pipeline_id>/analytics/groups")
class GroupAnalytics(MethodView):
    @secured(blp)
    @blp.arguments(GroupQuerySchema, location="query")
    @blp.response(200, GroupAnalyticsSchema)
    @errors(blp, 404, 422)
    def get(self, args: dict[str, Any], pipeline_id: str) -> Any:
        """The funnel per deal source or per campaign (`by`): deals, outcomes, win rate,
        won amount, and per stage the deals that reached it and the conversion."""
        return analytics.by_group(current_actor(), pipeline_id, args["by"])
