"""The process monitor: instances on a timeline with a context menu of commands on their
bars, an instance with its diagram (tokens and incidents marked), variables and history,
and the commands: suspend, resume, terminate, reassign, retry an incident, and the
repairs (move a token, skip a task, set variables, cancel an activity) with a reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine import access, definitions, instances, jobs, lifecycle, queries, repair
from engine.actor import Actor
from engine.errors import Conflict, EngineError, InvalidInput, NotAllowed
from engine.models import utcnow

from . import queries as ui_queries
from .blueprint import bp
from .security import current_actor, safe_next

ZOOMS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
STATUSES = ("active", "suspended", "completed", "terminated")
ROWS = 50
ACTIONS = ("suspend", "resume", "terminate")
LIVE = ("active", "suspended")


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
    actor = current_actor()
    page = queries.list_instances(actor, where, ROWS)
    now = utcnow()
    rows = ui_queries.timeline_rows(page.items, now)
    deployers: dict[Any, bool] = {}  # definition id -> may repair: one lookup per definition
    menus = {
        str(row.instance["_id"]): _row_commands(row.instance, actor, deployers) for row in rows
    }
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
        menus=menus,
        open_guids={
            str(row.instance["_id"]): {t["guid"] for t in row.instance.get("open_tasks") or []}
            for row in rows
        },
    )


def _may_repair(doc: dict[str, Any], actor: Actor, known: dict[Any, bool] | None = None) -> bool:
    # Designers and admins need no lookup; anyone else only for an instance with something
    # to repair (the rule asks who deployed the definition: one query per definition).
    if actor.is_admin or access.DESIGNERS in actor.groups:
        return True
    if not (doc.get("open_tasks") or doc.get("incident")) or doc.get("status") not in LIVE:
        return False
    known = {} if known is None else known
    if doc["definition_id"] not in known:
        known[doc["definition_id"]] = repair.may_repair(doc, actor)
    return known[doc["definition_id"]]


def _url(endpoint: str, **values: str) -> str:
    """url_for, with each endpoint's URL built once per request and the values put in
    (a page of fifty rows needs a few hundred of these URLs)."""
    cache: dict[tuple[str, tuple[str, ...]], str] = g.setdefault("monitor_urls", {})
    names = tuple(sorted(values))
    pattern = cache.get((endpoint, names))
    if pattern is None:
        placeholders: dict[str, Any] = {n: f"__{n}__" for n in names}
        pattern = url_for(endpoint, **placeholders)
        cache[(endpoint, names)] = pattern
    for name, value in values.items():
        pattern = pattern.replace(f"__{name}__", quote(str(value), safe=""))
    return pattern


def _labels() -> dict[str, str]:
    """The menu's labels in the request's language, translated once per request (fifty rows
    would otherwise translate the same five words fifty times)."""
    found: dict[str, str] | None = g.get("monitor_labels")
    if found is None:
        found = {
            "open": _("Open the instance"),
            "suspend": _("Suspend"),
            "resume": _("Resume"),
            "retry": _("Retry the incident"),
            "terminate": _("Cancel the instance…"),
            "reassign": _("Reassign…"),
        }
        g.monitor_labels = found
    return found


def _row_commands(doc: dict[str, Any], actor: Actor, known: dict[Any, bool]) -> dict[str, Any]:
    """The commands of one timeline row valid for its state and the user's rights."""
    label = _labels()
    iid = str(doc["_id"])
    status = doc.get("status")
    control = access.may_control(doc, actor)
    commands: list[dict[str, str]] = [
        {
            "kind": "link",
            "label": label["open"],
            "url": _url("ui.instance", instance_id=iid),
        }
    ]
    if control and status == "active":
        commands.append(_post(label["suspend"], "ui.instance_command", iid, action="suspend"))
    if control and status == "suspended":
        commands.append(_post(label["resume"], "ui.instance_command", iid, action="resume"))
    may_repair = _may_repair(doc, actor, known)
    incident = doc.get("incident") or {}
    if may_repair and incident.get("id") and status in LIVE:
        commands.append(
            _post(
                label["retry"],
                "ui.instance_retry",
                iid,
                incident_id=str(incident["id"]),
            )
        )
    if control and status in LIVE:
        terminate = _post(label["terminate"], "ui.instance_command", iid, action="terminate")
        terminate["kind"] = "confirm"
        commands.append(terminate)
    return {
        "commands": commands,
        "reassign": may_repair and status in LIVE,
    }


def _post(label: str, endpoint: str, instance_id: str, **values: Any) -> dict[str, str]:
    return {
        "kind": "post",
        "label": label,
        "url": _url(endpoint, instance_id=instance_id, **values),
    }


@bp.app_template_global()
def bar_commands(menu: dict[str, Any], instance_id: str, guid: str, open_guids: set[str]) -> str:
    """The context menu of one bar as JSON: the row's commands, and reassign on an open task."""
    commands = list(menu["commands"])
    if menu["reassign"] and guid in open_guids:
        commands.insert(
            1,
            {
                "kind": "reassign",
                "label": _labels()["reassign"],
                "url": _url("ui.instance_reassign", instance_id=instance_id, guid=guid),
            },
        )
    return json.dumps(commands, ensure_ascii=False)


@bp.app_template_global()
def row_commands(
    menu: dict[str, Any], instance_id: str, bars: list[Any], open_guids: set[str]
) -> str:
    """The menu of a row's button as JSON: the row's commands, and reassign per open task."""
    commands = list(menu["commands"])
    if menu["reassign"]:
        for bar in bars:
            if bar.guid in open_guids:
                commands.insert(
                    1,
                    {
                        "kind": "reassign",
                        "label": _("Reassign “%(task)s”…", task=bar.name),
                        "url": _url("ui.instance_reassign", instance_id=instance_id, guid=bar.guid),
                    },
                )
    return json.dumps(commands, ensure_ascii=False)


@bp.route("/monitor/principals")
def monitor_principals() -> Response:
    """People and groups to reassign a task to (the timeline's dialog loads them when it
    opens, so the timeline itself does not pay for them)."""
    return jsonify([{"value": p.value, "label": p.label} for p in ui_queries.executor_choices()])


@bp.route("/monitor/instances/<instance_id>")
def instance(instance_id: str) -> str:
    """An instance: its diagram with tokens and incidents marked, variables, history, and
    the commands and repairs the user may give."""
    actor = current_actor()
    doc = queries.instance_detail(instance_id, actor)
    # A linear procedure's definition is removed after its run; its history still draws.
    definition = definitions.find(
        doc["process_key"], doc["definition_version"], include_removed=True
    )
    tokens = _tokens(doc, actor)
    live = doc["status"] in LIVE
    may_repair = live and _may_repair(doc, actor)
    return render_template(
        "monitor/instance.html",
        instance=doc,
        definition=definition,
        tokens=tokens,
        active=sorted(k for k, v in tokens["elements"].items() if v.get("active")),
        done=sorted(
            k for k, v in tokens["elements"].items() if v.get("completed") and not v.get("active")
        ),
        may_control=access.may_control(doc, actor),
        may_repair=may_repair,
        principals=ui_queries.executor_choices() if may_repair else [],
    )


def _tokens(doc: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Tokens per element and the elements with incidents; from the history when the
    stored state is gone (an instance past its retention keeps only its events)."""
    try:
        state = repair.diagram_state(str(doc["_id"]), actor)
        incidents = set(state["incidents"]) | {
            k for k, v in state["elements"].items() if v.get("error")
        }
        return {"elements": state["elements"], "incidents": sorted(incidents)}
    except EngineError:
        created = {
            str(e["data"].get("bpmn_id"))
            for e in doc["events"]
            if e["type"] == "task_created" and e.get("data", {}).get("bpmn_id")
        }
        open_ids = {t["bpmn_id"] for t in doc.get("open_tasks", [])}
        elements = {k: {"completed": 1} for k in created - open_ids}
        elements.update({k: {"active": 1} for k in open_ids})
        return {"elements": elements, "incidents": []}


@bp.route("/monitor/instances/<instance_id>/<action>", methods=["POST"])
def instance_command(instance_id: str, action: str) -> Response:
    """Suspend, resume or terminate an instance."""
    if action not in ACTIONS:
        abort(404)
    try:
        lifecycle.change(instance_id, current_actor(), action, request.form.get("reason", ""))
    except Conflict as exc:  # e.g. suspended meanwhile by someone else
        flash(exc.message, "error")
        return _back(instance_id)
    flash(
        {
            "suspend": _("Instance suspended."),
            "resume": _("Instance resumed."),
            "terminate": _("Instance terminated."),
        }[action],
        "success",
    )
    return _back(instance_id)


def _back(instance_id: str) -> Response:
    """Back to where the command was given: the timeline (`next`) or the instance page."""
    default = url_for("ui.instance", instance_id=instance_id)
    return redirect(safe_next(request.form.get("next"), default), 303)


@bp.route("/monitor/instances/<instance_id>/tasks/<guid>/reassign", methods=["POST"])
def instance_reassign(instance_id: str, guid: str) -> Response:
    """Give an open task to another user, or offer it to a group, with a reason."""
    to = request.form.get("to", "").strip()
    group = to.startswith("group:")
    return _repair(
        instance_id,
        lambda actor, reason: repair.reassign_task(
            instance_id,
            actor,
            guid,
            None if group else to or None,
            [to] if group else None,
            reason,
        ),
        _("Task reassigned."),
    )


@bp.route("/monitor/instances/<instance_id>/incidents/<incident_id>/retry", methods=["POST"])
def instance_retry(instance_id: str, incident_id: str) -> Response:
    """Run the failed work of an instance's incident again."""
    actor = current_actor()
    doc = instances.get(queries.visible_instance(instance_id, actor)["_id"])
    if not repair.may_repair(doc, actor):
        raise NotAllowed("only admins, designers and the process's owner may retry it")
    incident = jobs.get_incident(incident_id)
    if incident.instance_id != doc["_id"]:
        abort(404)
    try:
        jobs.retry_incident(incident_id, actor.username)
    except Conflict as exc:
        flash(exc.message, "error")
        return _back(instance_id)
    flash(_("The failed work runs again."), "success")
    return _back(instance_id)


REPAIRS = ("move-token", "skip-task", "set-variables", "cancel-activity")


@bp.route("/monitor/instances/<instance_id>/repair/<command>", methods=["POST"])
def instance_repair(instance_id: str, command: str) -> Response:
    """A repair from the instance page: each needs a reason, recorded in the history."""
    if command not in REPAIRS:
        abort(404)
    form = request.form
    if command == "move-token":
        return _repair(
            instance_id,
            lambda actor, reason: repair.move_token(
                instance_id, actor, form.get("from", ""), form.get("to", ""), reason
            ),
            _("Token moved."),
        )
    if command == "cancel-activity":
        return _repair(
            instance_id,
            lambda actor, reason: repair.cancel_activity(
                instance_id, actor, form.get("element", ""), reason
            ),
            _("Activity cancelled."),
        )
    if command == "skip-task":
        return _repair(
            instance_id,
            lambda actor, reason: repair.skip_task(
                instance_id,
                actor,
                form.get("element", ""),
                _json_object(form.get("data", ""), "data"),
                reason,
            ),
            _("Task skipped."),
        )
    return _repair(
        instance_id,
        lambda actor, reason: repair.set_variables(
            instance_id, actor, _json_object(form.get("variables", ""), "variables"), reason
        ),
        _("Variables set: the steps holding a token carry them from now on."),
    )


def _json_object(text: str, name: str) -> dict[str, Any]:
    """A JSON object typed into a form field (empty: {}); anything else is refused."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{name}: not JSON", {name: [f"not JSON: {exc}"]}) from exc
    if not isinstance(value, dict):
        raise InvalidInput(f"{name}: not an object", {name: ["must be a JSON object"]})
    return value


def _repair(instance_id: str, run: Any, done: str) -> Response:
    """Run a repair with the form's reason; a refusal for bad input or state is flashed."""
    try:
        run(current_actor(), request.form.get("reason", ""))
    except (InvalidInput, Conflict) as exc:
        details = "; ".join(
            f"{field}: {', '.join(map(str, v if isinstance(v, list) else [v]))}"
            for field, v in exc.errors.items()
        )
        flash(f"{exc.message}" + (f" ({details})" if details else ""), "error")
        return _back(instance_id)
    flash(done, "success")
    return _back(instance_id)
