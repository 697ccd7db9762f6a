"""Reports and dashboards: charts (Chart.js) with CSV/XLSX export, built-in reports to run."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from reports import dashboards, render, service, sources

from .blueprint import bp
from .security import current_actor

CHART_TITLES = {
    "sales_funnel": _l("Sales funnel by contract stage"),
    "calls_per_day": _l("Calls per day"),
    "overdue_assignments": _l("Overdue assignments"),
    "documents_per_week": _l("Documents registered per week"),
    "appeals_compliance": _l("Appeals deadline compliance"),
}
DATASET_LABELS = {
    "count": _l("Contracts"),
    "amount": _l("Amount"),
    "call_in": _l("Incoming"),
    "call_out": _l("Outgoing"),
    "overdue": _l("Overdue"),
    "registered": _l("Registered"),
    "on_time": _l("Answered on time"),
    "late": _l("Answered late"),
}
REPORT_TITLES = {
    "organization_dossier": _l("Organization dossier"),
    "contracts_by_stage": _l("Contracts by stage"),
    "invoices": _l("Invoices: issued, paid, overdue"),
    "deliveries": _l("Deliveries by product and counterparty"),
    "actions": _l("Calls and other actions per manager and result"),
    "document_flow": _l("Document flow per journal"),
    "appeals": _l("Citizens' appeals (59-FZ)"),
    "assignments": _l("Assignments per executor"),
    "processes": _l("Process statistics"),
    "deal_funnel": _l("Sales funnel of a pipeline"),
    "deal_funnel_groups": _l("Deals per source or campaign"),
    "sales_plan_fact": _l("Sales plan versus fact"),
}
STAGE_LABELS = {
    "draft": _l("draft"),
    "approval": _l("approval"),
    "signed": _l("signed"),
    "in_force": _l("in force"),
    "closed": _l("closed"),
    "terminated": _l("terminated"),
}
PERIOD_ONLY = ("date_from", "date_to", "manager")


def _period() -> dict[str, Any]:
    return {k: request.args[k] for k in PERIOD_ONLY if request.args.get(k)}


@bp.route("/reports")
def reports_page() -> str:
    """The dashboard's charts and the built-in reports."""
    runnable = [
        {"key": s.key, "title": REPORT_TITLES.get(s.key, s.title), "params": s.params}
        for s in sources.SOURCES.values()
        if not any(p.required for p in s.params)
    ]
    return render_template(
        "reports/index.html",
        charts=[
            {"key": k, "title": CHART_TITLES.get(k, c.title)} for k, c in dashboards.CHARTS.items()
        ],
        reports=runnable,
        period=_period(),
        today=date.today().isoformat(),
    )


@bp.route("/reports/charts/<key>.json")
def report_chart(key: str) -> Response:
    """A chart's series (translated labels) for the page's script."""
    data = dashboards.series(current_actor(), key, _period())
    data["title"] = str(CHART_TITLES.get(key, data["title"]))
    for dataset in data["datasets"]:
        dataset["label"] = str(DATASET_LABELS.get(dataset["key"], dataset["label"]))
    if key == "sales_funnel":
        data["labels"] = [str(STAGE_LABELS.get(label, label)) for label in data["labels"]]
    return jsonify(data)


@bp.route("/reports/charts/<key>.<fmt>")
def report_chart_export(key: str, fmt: str) -> Response:
    """A chart's data as CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        return Response(status=404)
    content = dashboards.export(dashboards.series(current_actor(), key, _period()), fmt)
    response = Response(content, mimetype=render.FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{key}.{fmt}"'
    return response


@bp.route("/reports/run", methods=["POST"])
def report_run() -> Response:
    """Render a built-in report now and download it."""
    key = request.form.get("source", "")
    params: dict[str, Any] = {
        k: request.form[k]
        for k in ("date_from", "date_to")
        if request.form.get(k) and k in {p.name for p in sources.get_source(key).params}
    }
    run = service.start(current_actor(), key, params=params, fmt=request.form.get("format", "xlsx"))
    return redirect(url_for("ui.report_file", run_id=str(run.id)))  # type: ignore[return-value]


@bp.route("/reports/runs/<run_id>/file")
def report_file(run_id: str) -> Response:
    """Download a rendered report of the user's."""
    chunks, filename, mimetype, size = service.open_file(current_actor(), run_id)
    response = Response(b"".join(chunks), mimetype=mimetype)
    response.headers["Content-Length"] = str(size)
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    response.headers["Content-Disposition"] = f'attachment; filename="{ascii_name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
