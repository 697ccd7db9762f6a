"""The mailbox: the user's tasks with counters and filters, and a task with its form."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine import definitions, instances, queries
from engine.errors import EngineError, FormInvalid
from engine.models import HumanTask

from . import queries as ui_queries
from .blueprint import bp
from .security import current_actor
from .taskforms import field_views, parse_submission


@bp.app_template_global()
def releasable(task: HumanTask) -> bool:
    """Whether a claimed task may be given back: it was offered to a group or to several."""
    return any(c.startswith("group:") for c in task.candidates) or len(task.candidates) > 1


def _filter() -> ui_queries.MailboxFilter:
    view = request.args.get("view", "all")
    sort = request.args.get("sort", "due")
    return ui_queries.MailboxFilter(
        view=view if view in ui_queries.VIEWS else "all",
        q=request.args.get("q", ""),
        process_key=request.args.get("process", ""),
        sort=sort if sort in ui_queries.SORTS else "due",
    )


@bp.route("/mailbox")
def mailbox() -> str:
    """The list of the user's tasks (the list alone for htmx requests)."""
    actor = current_actor()
    where = _filter()
    tasks = ui_queries.mailbox(actor, where)
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "task-list":
        return render_template("mailbox/_list.html", tasks=tasks, where=where, actor=actor)
    counts = ui_queries.mailbox_counts(actor)
    return render_template(
        "mailbox/index.html",
        tasks=tasks,
        where=where,
        counts=counts,
        actor=actor,
        views=ui_queries.VIEWS,
    )


def _task_page(
    guid: str, values: dict[str, Any], errors: dict[str, list[str]], status: int = 200
) -> tuple[str, int]:
    actor = current_actor()
    task = instances.get_task(guid, actor)
    try:
        instance: dict[str, Any] | None = queries.instance_detail(task.instance_id, actor)
    except EngineError:
        instance = None
    definition = definitions.find(task.process_key, task.definition_version)
    return render_template(
        "mailbox/task.html",
        task=task,
        instance=instance,
        definition=definition,
        actor=actor,
        fields=field_views(task.form, values, errors),
        form_errors=errors,
    ), status


@bp.route("/tasks/<guid>")
def task(guid: str) -> tuple[str, int]:
    """A task: its form, its subject, the process around it."""
    return _task_page(guid, {}, {})


@bp.route("/tasks/<guid>/complete", methods=["POST"])
def complete(guid: str) -> Response | tuple[str, int]:
    """Complete the task with the submitted form; show the form again with its errors."""
    actor = current_actor()
    task = instances.get_task(guid, actor)
    data, problems = parse_submission(task.form, request.form)
    if problems:
        return _task_page(guid, data, problems, 422)
    try:
        instances.complete_task(guid, actor, data)
    except FormInvalid as exc:
        return _task_page(guid, data, exc.errors, 422)
    flash(_("Task “%(name)s” completed.", name=task.name), "success")
    return redirect(url_for("ui.mailbox"))


@bp.route("/tasks/<guid>/claim", methods=["POST"])
def claim(guid: str) -> str:
    """Take a group task (answers with the task's header)."""
    task = instances.claim_task(guid, current_actor())
    return render_template("mailbox/_claim.html", task=task, actor=current_actor())


@bp.route("/tasks/<guid>/unclaim", methods=["POST"])
def unclaim(guid: str) -> str:
    """Give a claimed task back to its group (answers with the task's header)."""
    task = instances.unclaim_task(guid, current_actor())
    return render_template("mailbox/_claim.html", task=task, actor=current_actor())
