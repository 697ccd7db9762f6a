"""Delegating a task from its page: delegate, submit for acceptance, accept, reject."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from accounts import delegation
from accounts.models import TaskDelegation
from engine import instances
from engine.errors import EngineError, FormInvalid, InvalidInput
from engine.models import HumanTask

from .blueprint import bp
from .mailbox import _task_page
from .pages import flash_error
from .security import current_actor
from .taskforms import parse_submission


@bp.app_template_global()
def delegation_of(task: HumanTask) -> TaskDelegation | None:
    """The task's delegation as the current user may see it (or None)."""
    try:
        return delegation.get(current_actor(), task.task_guid)
    except EngineError:
        return None


@bp.app_template_global()
def delegation_data(record: TaskDelegation) -> dict[str, Any]:
    return delegation.data_of(record)


def _back(guid: str) -> Response:
    return redirect(url_for("ui.task", guid=guid))


@bp.route("/tasks/<guid>/delegate", methods=["POST"])
def delegate_task(guid: str) -> Response:
    """Hand the task to someone else (optionally returned for acceptance)."""
    try:
        record = delegation.delegate(
            current_actor(),
            guid,
            request.form.get("user", "").strip(),
            bool(request.form.get("return_for_acceptance")),
            request.form.get("comment", ""),
        )
    except InvalidInput as exc:
        flash_error(exc)
        return _back(guid)
    flash(_("The task was delegated to %(user)s.", user=record.delegate), "success")
    return redirect(url_for("ui.mailbox"))


@bp.route("/tasks/<guid>/delegation/submit", methods=["POST"])
def delegation_submit(guid: str) -> Response | tuple[str, int]:
    """The delegate's form goes back to the delegator for acceptance."""
    task = instances.get_task(guid, current_actor())
    data, problems = parse_submission(task.form, request.form)
    if problems:
        return _task_page(guid, data, problems, 422)
    try:
        record = delegation.submit(current_actor(), guid, data)
    except FormInvalid as exc:
        return _task_page(guid, data, exc.errors, 422)
    flash(_("Sent to %(user)s for acceptance.", user=record.delegator), "success")
    return redirect(url_for("ui.mailbox"))


@bp.route("/tasks/<guid>/delegation/accept", methods=["POST"])
def delegation_accept(guid: str) -> Response:
    """Accept the delegate's work: the task completes with their data."""
    delegation.accept(current_actor(), guid)
    flash(_("Accepted: the task is completed."), "success")
    return redirect(url_for("ui.mailbox"))


@bp.route("/tasks/<guid>/delegation/reject", methods=["POST"])
def delegation_reject(guid: str) -> Response:
    """Send the task back to the delegate with a comment."""
    try:
        record = delegation.reject(current_actor(), guid, request.form.get("comment", ""))
    except InvalidInput as exc:
        flash_error(exc)
        return _back(guid)
    flash(_("Returned to %(user)s.", user=record.delegate), "success")
    return redirect(url_for("ui.mailbox"))


@bp.route("/tasks/<guid>/reassign", methods=["POST"])
def reassign_task(guid: str) -> Response:
    """The head gives a member's task to another member (from the workpage)."""
    try:
        task = delegation.reassign_by_head(
            current_actor(),
            guid,
            request.form.get("user", "").strip(),
            request.form.get("reason", ""),
        )
    except InvalidInput as exc:
        flash_error(exc)
    else:
        flash(_("“%(name)s” now goes to %(user)s.", name=task.name, user=task.assignee), "success")
    return redirect(url_for("ui.workpage_page"))
