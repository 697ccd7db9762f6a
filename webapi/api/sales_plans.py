"""Sales plans per manager and month, and the plan set against the won deals."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from sales import plans
from webapi.auth import current_actor
from webapi.sales_schemas import (
    PlanFactSchema,
    PlanInSchema,
    PlanListSchema,
    PlanPatchSchema,
    PlanQuerySchema,
    PlanSchema,
)

from .common import errors, secured

PREFIX = "/sales-plans"
blp = Blueprint("sales_plans", __name__, description="Sales plans versus fact")


@blp.route("")
class Plans(MethodView):
    @secured(blp)
    @blp.arguments(PlanQuerySchema, location="query")
    @blp.response(200, PlanListSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """The plans the caller sees (own; a head's department; sales heads: all)."""
        return {"items": plans.find(current_actor(), **args)}

    @secured(blp)
    @blp.arguments(PlanInSchema)
    @blp.response(201, PlanSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Enter a plan: a manager their own, a head or sales head anyone's they see."""
        return plans.create(current_actor(), body)


@blp.route("/analytics")
class PlanVersusFact(MethodView):
    @secured(blp)
    @blp.arguments(PlanQuerySchema, location="query")
    @blp.response(200, PlanFactSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Plan versus fact per manager and month: the fact is the amount of deals won
        in the month (by close date), among the deals the caller may read."""
        return plans.plan_versus_fact(current_actor(), **args)


@blp.route("/<plan_id>")
class Plan(MethodView):
    @secured(blp)
    @blp.response(200, PlanSchema)
    @errors(blp, 404)
    def get(self, plan_id: str) -> Any:
        """One by id."""
        return plans.get(current_actor(), plan_id)

    @secured(blp)
    @blp.arguments(PlanPatchSchema)
    @blp.response(200, PlanSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], plan_id: str) -> Any:
        """Change the amount (send `version` to refuse overwriting another change)."""
        version = body.pop("version", None)
        return plans.update(current_actor(), plan_id, body, version)

    @secured(blp)
    @blp.response(204)
    @errors(blp, 403, 404)
    def delete(self, plan_id: str) -> None:
        """Remove a plan."""
        plans.delete(current_actor(), plan_id)
