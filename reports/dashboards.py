"""Dashboard chart series, each one aggregation in the database, exportable as CSV/XLSX.

A series is `{key, title, labels, datasets: [{key, label, data}]}`, the shape Chart.js
draws; `table()` turns it into columns and rows for the CSV and XLSX exports.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook

from documents.models import RegistrationCard
from engine.actor import Actor
from engine.models import utcnow
from mail import repository as mail_repository
from mail.models import EXECUTING, Assignment
from registry.models import CONTRACT_STAGES, Action

from . import render, sources
from .errors import ReportInvalid, ReportNotFound
from .sources import Column, Param, ReportData, clean_params


@dataclass(frozen=True)
class Chart:
    """A dashboard chart: its series function and the kind Chart.js draws it as."""

    key: str
    title: str
    kind: str  # bar | line
    series: Callable[[Actor, dict[str, Any]], dict[str, Any]]


def _no_query(actor: Actor, params: dict[str, Any]) -> ReportData:
    raise ReportNotFound("the dashboard is not a report")


# The parameters every chart takes, checked like a report's.
PARAMS = sources.Source(
    "dashboard",
    "Dashboard",
    (*sources.PERIOD, Param("manager", "text", "Manager")),
    (),
    _no_query,
)


def _default_period(params: dict[str, Any], days: int, longest: int) -> dict[str, Any]:
    """The period asked for, `days` back from its end by default, at most `longest` days."""
    out = dict(params)
    if not out.get("date_to"):
        out["date_to"] = utcnow().date()
    if not out.get("date_from"):
        out["date_from"] = out["date_to"] - timedelta(days=days - 1)
    if (out["date_to"] - out["date_from"]).days >= longest:
        raise ReportInvalid(
            f"the chart shows at most {longest} days", {"date_from": [f"at most {longest} days"]}
        )
    return out


def sales_funnel(actor: Actor, params: dict[str, Any]) -> dict[str, Any]:
    """Sales contracts (we are the executor) by stage: count and amount."""
    groups = sources.contract_stage_counts(actor, params)
    stages = [s for s in CONTRACT_STAGES if s != "terminated"]
    return {
        "labels": stages,
        "datasets": [
            {
                "key": "count",
                "label": "Contracts",
                "data": [groups.get((s, "executor"), {}).get("n", 0) for s in stages],
            },
            {
                "key": "amount",
                "label": "Amount",
                "data": [
                    float(sources.money(groups.get((s, "executor"), {}).get("amount", 0)))
                    for s in stages
                ],
            },
        ],
    }


def _days(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def calls_per_day(actor: Actor, params: dict[str, Any]) -> dict[str, Any]:
    """Incoming and outgoing calls per day of the period (30 days by default)."""
    params = _default_period(params, 30, 732)
    match = sources.base_match(actor, params, "at", archived=False, by=params.get("manager"))
    found = Action._get_collection().aggregate(
        [
            {"$match": {**match, "kind": {"$in": list(sources.CALLS)}}},
            {
                "$group": {
                    "_id": {
                        "day": {"$dateToString": {"format": "%Y-%m-%d", "date": "$at"}},
                        "kind": "$kind",
                    },
                    "n": {"$sum": 1},
                }
            },
        ]
    )
    counts = {(g["_id"]["day"], g["_id"]["kind"]): g["n"] for g in found}
    labels = _days(params["date_from"], params["date_to"])
    return {
        "labels": labels,
        "datasets": [
            {"key": kind, "label": label, "data": [counts.get((d, kind), 0) for d in labels]}
            for kind, label in (("call_in", "Incoming"), ("call_out", "Outgoing"))
        ],
    }


def overdue_assignments(actor: Actor, params: dict[str, Any]) -> dict[str, Any]:
    """Assignments past their deadline now, per executor."""
    match: dict[str, Any] = {
        **mail_repository.assignment_filter(actor),
        "status": {"$in": list(EXECUTING)},
        "due_at": {"$lt": utcnow()},
    }
    if params.get("manager"):
        match["executor"] = params["manager"]
    found = sorted(
        Assignment._get_collection().aggregate(
            [{"$match": match}, {"$group": {"_id": "$executor", "n": {"$sum": 1}}}]
        ),
        key=lambda g: (-g["n"], g["_id"]),
    )
    return {
        "labels": [g["_id"] for g in found],
        "datasets": [{"key": "overdue", "label": "Overdue", "data": [g["n"] for g in found]}],
    }


def documents_per_week(actor: Actor, params: dict[str, Any]) -> dict[str, Any]:
    """Registered cards per ISO week (12 weeks by default)."""
    params = _default_period(params, 84, 3660)
    found = RegistrationCard._get_collection().aggregate(
        [
            {"$match": sources.base_match(actor, params, "registered_on")},
            {
                "$group": {
                    "_id": {
                        "y": {"$isoWeekYear": "$registered_on"},
                        "w": {"$isoWeek": "$registered_on"},
                    },
                    "n": {"$sum": 1},
                }
            },
        ]
    )
    counts = {(g["_id"]["y"], g["_id"]["w"]): g["n"] for g in found}
    weeks: list[tuple[int, int]] = []
    day = params["date_from"]
    while day <= params["date_to"]:
        year, week, _ = day.isocalendar()
        if (year, week) not in weeks:
            weeks.append((year, week))
        day += timedelta(days=1)
    return {
        "labels": [f"{y}-W{w:02}" for y, w in weeks],
        "datasets": [
            {"key": "registered", "label": "Registered", "data": [counts.get(k, 0) for k in weeks]}
        ],
    }


def appeals_compliance(actor: Actor, params: dict[str, Any]) -> dict[str, Any]:
    """Appeals of the period by topic: answered on time, late, overdue (59-FZ)."""
    groups: dict[str, dict[str, int]] = {}
    for g in sources.appeal_groups(actor, params):
        row = groups.setdefault(g["_id"]["topic"], {"on_time": 0, "late": 0, "overdue": 0})
        for key in row:
            row[key] += g[key]
    topics = sorted(groups)
    return {
        "labels": topics,
        "datasets": [
            {"key": key, "label": label, "data": [groups[t][key] for t in topics]}
            for key, label in (
                ("on_time", "Answered on time"),
                ("late", "Answered late"),
                ("overdue", "Overdue"),
            )
        ],
    }


CHARTS: dict[str, Chart] = {
    c.key: c
    for c in (
        Chart("sales_funnel", "Sales funnel by contract stage", "bar", sales_funnel),
        Chart("calls_per_day", "Calls per day", "line", calls_per_day),
        Chart("overdue_assignments", "Overdue assignments", "bar", overdue_assignments),
        Chart("documents_per_week", "Documents registered per week", "bar", documents_per_week),
        Chart("appeals_compliance", "Appeals deadline compliance", "bar", appeals_compliance),
    )
}


def series(actor: Actor, key: str, values: dict[str, Any]) -> dict[str, Any]:
    """One chart's data for the actor and the parameters (period, manager)."""
    chart = CHARTS.get(key)
    if chart is None:
        raise ReportNotFound(f"no chart {key}")
    params = clean_params(PARAMS, values)
    found = chart.series(actor, params)
    return {"key": chart.key, "title": chart.title, "kind": chart.kind, **found}


def table(data: dict[str, Any]) -> tuple[list[Column], list[dict[str, Any]]]:
    """A series as a table: the label column, then one column per dataset."""
    columns = [Column("label", "Label")] + [
        Column(d["key"], d["label"], "number") for d in data["datasets"]
    ]
    rows = [
        {"label": label, **{d["key"]: d["data"][i] for d in data["datasets"]}}
        for i, label in enumerate(data["labels"])
    ]
    return columns, rows


def export(data: dict[str, Any], fmt: str) -> bytes:
    """A series as CSV or XLSX bytes."""
    columns, rows = table(data)
    if fmt == "csv":
        return render.csv_text(columns, rows)
    book = Workbook()
    sheet = book.active
    sheet.title = data["key"][:31]
    sheet.append([c.title for c in columns])
    for row in rows:
        sheet.append([render.cell_value(row.get(c.key)) for c in columns])
        render.as_text_cells(sheet[sheet.max_row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
