"""The process monitor: instances on a timeline, an instance with its diagram and history,
and the commands suspend, resume, terminate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine import access, definitions, lifecycle, queries
from engine.models import utcnow

from . import queries as ui_queries
from .blueprint import bp
from .security import current_actor

ZOOMS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
STATUSES = ("active", "suspended", "completed", "terminated")
ROWS = 50
ACTIONS = ("suspend", "resume", "terminate")


@dataclass
class Window:
    """The time span the timeline shows, and where a moment falls in it (percent)."""

    start: datetime
    end: datetime
    now: datetime

    def pos(self, at: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        value = (at - self.start).total_seconds() / span * 100
        return round(min(max(value, 0.0), 100.0), 3)

    def finish(self, end: datetime | None, due: datetime | None) -> datetime:
        """Where a bar ends: its end, or for an open task the later of now and its due time."""
        if end is not None:
            return end
        return max(self.now, due) if due is not None else self.now

    def width(self, start: datetime, end: datetime | None, due: datetime | None = None) -> float:
        return round(max(self.pos(self.finish(end, due)) - self.pos(start), 0.4), 3)

    def ticks(self, count: int = 4) -> list[datetime]:
        step = (self.end - self.start) / count
        return [self.start + step * i for i in range(count + 1)]


def _window(zoom: str, now: datetime) -> Window:
    span = ZOOMS[zoom]
    # Most of the window lies in the past: the monitor watches what ran and what is late.
    start = now - span * 0.75
    return Window(start=start, end=start + span, now=now)


TICK_FORMATS = {"day": "d MMM, HH:mm", "week": "d MMM", "month": "d MMM"}


@bp.app_template_filter()
def tick(value: datetime, zoom: str) -> str:
    """A label of the timeline's scale: shorter than a full date and time."""
    return str(format_datetime(value, TICK_FORMATS.get(zoom, "d MMM")))


@bp.route("/monitor")
def monitor() -> str:
    """Instances as rows, their tasks as bars; today line; overdue in red."""
    zoom = request.args.get("zoom", "week")
    if zoom not in ZOOMS:
        zoom = "week"
    status = request.args.get("status", "")
    process_key = request.args.get("process", "").strip()
    where = queries.InstanceFilter(
        status=status if status in STATUSES else None, process_key=process_key or None
    )
    page = queries.list_instances(current_actor(), where, ROWS)
    now = utcnow()
    rows = ui_queries.timeline_rows(page.items, now)
    template = (
        "monitor/_timeline.html"
        if request.headers.get("HX-Target") == "timeline"
        else "monitor/index.html"
    )
    return render_template(
        template,
        rows=rows,
        window=_window(zoom, now),
        zoom=zoom,
        zooms=list(ZOOMS),
        status=status,
        statuses=STATUSES,
        process_key=process_key,
    )


@bp.route("/monitor/instances/<instance_id>")
def instance(instance_id: str) -> str:
    """An instance: its diagram with the open tasks marked, variables, history, commands."""
    actor = current_actor()
    doc = queries.instance_detail(instance_id, actor)
    # A linear procedure's definition is removed after its run; its history still draws.
    definition = definitions.find(
        doc["process_key"], doc["definition_version"], include_removed=True
    )
    done = sorted(
        {
            str(e["data"].get("bpmn_id"))
            for e in doc["events"]
            if e["type"] == "task_created" and e.get("data", {}).get("bpmn_id")
        }
        - {t["bpmn_id"] for t in doc.get("open_tasks", [])}
    )
    return render_template(
        "monitor/instance.html",
        instance=doc,
        definition=definition,
        active=[t["bpmn_id"] for t in doc.get("open_tasks", [])],
        done=done,
        may_control=access.may_control(doc, actor),
    )


@bp.route("/monitor/instances/<instance_id>/<action>", methods=["POST"])
def instance_command(instance_id: str, action: str) -> Response:
    """Suspend, resume or terminate an instance."""
    if action not in ACTIONS:
        abort(404)
    lifecycle.change(instance_id, current_actor(), action)
    flash(
        {
            "suspend": _("Instance suspended."),
            "resume": _("Instance resumed."),
            "terminate": _("Instance terminated."),
        }[action],
        "success",
    )
    return redirect(url_for("ui.instance", instance_id=instance_id))
