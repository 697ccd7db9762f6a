"""Case nomenclature: yearly versions, case files, year-end closing, destruction acts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from documents import nomenclature
from webapi.auth import current_actor
from webapi.records_schemas import (
    ActSchema,
    CaseCreateInput,
    CaseListSchema,
    CaseSchema,
    ClosedSchema,
    CloseYearInput,
    DestroyInput,
    NomenclatureCreateInput,
    NomenclatureDetailSchema,
    NomenclatureListQuery,
    NomenclatureListSchema,
    NomenclatureSchema,
)

from .records_common import OFFICE, secured

PREFIX = "/nomenclature"
blp = Blueprint("nomenclature", __name__, description="Case nomenclature and case files")


@blp.route("")
class Nomenclatures(MethodView):
    @secured(blp, OFFICE)
    @blp.arguments(NomenclatureCreateInput)
    @blp.response(201, NomenclatureSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """A new draft version for a year (the previous version's cases are copied)."""
        return nomenclature.create_nomenclature(current_actor(), **args)

    @secured(blp)
    @blp.arguments(NomenclatureListQuery, location="query")
    @blp.response(200, NomenclatureListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Nomenclature versions, newest first."""
        return {"items": nomenclature.list_nomenclatures(args.get("year"))}


@blp.route("/<nomenclature_id>")
class Nomenclature(MethodView):
    @secured(blp)
    @blp.response(200, NomenclatureDetailSchema)
    def get(self, nomenclature_id: str) -> Any:
        """A version with its case files."""
        found = nomenclature.get_nomenclature(nomenclature_id)
        return {
            **found.to_mongo().to_dict(),
            "id": found.id,
            "cases": nomenclature.list_cases(found.id),
        }


@blp.route("/<nomenclature_id>/approval")
class Approval(MethodView):
    @secured(blp, OFFICE)
    @blp.response(200, NomenclatureSchema)
    def post(self, nomenclature_id: str) -> Any:
        """Approve a draft version: it is in force for its year."""
        return nomenclature.approve(current_actor(), nomenclature_id)


@blp.route("/<nomenclature_id>/cases")
class Cases(MethodView):
    @secured(blp, OFFICE)
    @blp.arguments(CaseCreateInput)
    @blp.response(201, CaseSchema)
    def post(self, args: dict[str, Any], nomenclature_id: str) -> Any:
        """Add a case file (`retention_years: null` keeps it permanently)."""
        return nomenclature.add_case(current_actor(), nomenclature_id, **args)


@blp.route("/year-end")
class YearEnd(MethodView):
    @secured(blp, OFFICE)
    @blp.arguments(CloseYearInput)
    @blp.response(200, ClosedSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Close every open case of an ended year."""
        return {"closed": nomenclature.close_year(args["year"])}


@blp.route("/destruction-candidates")
class Candidates(MethodView):
    @secured(blp)
    @blp.response(200, CaseListSchema)
    def get(self) -> Any:
        """Closed cases whose retention period has ended."""
        return {"items": nomenclature.destruction_candidates()}


@blp.route("/destruction-acts")
class Acts(MethodView):
    @secured(blp, OFFICE)
    @blp.arguments(DestroyInput)
    @blp.response(201, ActSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Approve a destruction act for candidate cases (nothing is destroyed otherwise)."""
        return nomenclature.destroy(
            current_actor(), args["number"], args["case_ids"], args["reason"]
        )
