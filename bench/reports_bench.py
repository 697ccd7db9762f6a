"""Reports over a large action log: the `actions` report over 100,000 actions, rendered.

The figure that matters is the whole run as a user gets it: the aggregation in the
database (with the reader's access rule), the XLSX or PDF layout and storing the file in
GridFS. Target (issue 11): under 10 s on the embedded database.

Whole months are counted from the monthly action counts (registry/action_counts.py). The
actions are loaded in bulk, so their counts are built once after the load (the figure
`counts_build_seconds`, what the background job does); before every report the current
month is marked stale, as a day of logged calls leaves it, so each run rebuilds a month.
The log-only query (`actions_log_query_seconds`) is the cost without the counts.
"""

from __future__ import annotations

import os
import statistics
from datetime import date, datetime, time, timedelta

from bson import ObjectId

from accounts.access import read_filter
from engine.actor import Actor
from engine.models import utcnow
from registry import action_counts
from registry.models import ACTION_KINDS, Action, ActionCount
from reports import dashboards, service, sources

from .harness import ROUND_TRIPS, Result, fresh_database, timed

RESULTS = ("Договорились о встрече", "Перезвонить", "Отказ", "Выставить счёт", "")


def _actions(n: int, managers: int, organizations: int) -> None:
    now = utcnow()
    orgs = [ObjectId() for _ in range(organizations)]
    docs = []
    for i in range(n):
        docs.append(
            {
                "organization": orgs[i % organizations],
                "kind": ACTION_KINDS[i % len(ACTION_KINDS)],
                "by": f"manager{i % managers}",
                "at": now - timedelta(minutes=5 * i),  # 100,000 actions: about a year
                "subject": "Звонок",
                "result": RESULTS[i % len(RESULTS)],
                "access": {"read": ["*"] if i % 10 else ["group:other"], "write": []},
                "created_at": now,
                "version": 1,
                "archived": False,
            }
        )
        if len(docs) == 10_000:
            Action._get_collection().insert_many(docs)
            docs = []
    if docs:
        Action._get_collection().insert_many(docs)


def reports(n: int = 100_000, managers: int = 20, repeats: int = 3) -> Result:
    """The actions report (XLSX and PDF) and the calls-per-day chart over n actions."""
    reader = Actor("reader", frozenset({"sales"}))
    period = {"date_from": (date.today() - timedelta(days=400)).isoformat()}
    result = Result(
        "reports", targets={"actions_xlsx_seconds": "< 10", "actions_pdf_seconds": "< 10"}
    )
    with fresh_database("reports"):
        load_seconds, _ = timed(lambda: _actions(n, managers, 500))
        figures: dict[str, object] = {"actions": n, "load_seconds": round(load_seconds, 1)}
        build_seconds, months = timed(action_counts.rebuild_all)
        figures["counts_build_seconds"] = round(build_seconds, 2)
        figures["counts_months"] = months
        figures["counts_documents"] = ActionCount.objects.count()
        start = date.fromisoformat(period["date_from"])
        log_seconds, _ = timed(
            lambda: action_counts.log_counts(
                {"at": {"$gte": datetime.combine(start, time.min)}, **read_filter(reader)}
            )
        )
        figures["actions_log_query_seconds"] = round(log_seconds, 2)
        samples = []
        for _ in range(repeats):
            action_counts.mark([utcnow()])
            seconds, _ = timed(lambda: sources.run(reader, "actions", period))
            samples.append(seconds)
        figures["actions_query_only_seconds"] = round(statistics.median(samples), 2)
        for fmt in ("xlsx", "pdf"):
            samples = []
            for _ in range(repeats):
                action_counts.mark([utcnow()])
                ROUND_TRIPS.reset()
                seconds, run = timed(
                    lambda fmt=fmt: service.start(reader, "actions", params=period, fmt=fmt)
                )
                samples.append(seconds)
                assert run.status == "done", run.error
            figures[f"actions_{fmt}_seconds"] = round(statistics.median(samples), 2)
            figures[f"actions_{fmt}_round_trips"] = ROUND_TRIPS.count
            figures["counted_actions"] = sum(r["count"] for r in run_rows(reader, period))
        samples = []
        for _ in range(repeats):
            seconds, _ = timed(lambda: dashboards.series(reader, "calls_per_day", {}))
            samples.append(seconds)
        figures["calls_per_day_chart_seconds"] = round(statistics.median(samples), 2)
        # Other work on the machine shows in every figure: record how busy it was.
        figures["load_average_1min"] = round(os.getloadavg()[0], 2)
        result.figures = figures
    return result


def run_rows(reader: Actor, period: dict[str, str]) -> list[dict[str, object]]:
    """The report's rows (to show how many actions the reader's access rule let in)."""
    return sources.run(reader, "actions", period).rows


def smoke() -> Result:
    """Tiny sizes: checks that the scenario runs."""
    return reports(2_000, repeats=1)
