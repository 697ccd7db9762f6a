"""The linear procedure builder: steps in a form, a live preview of the generated diagram,
start (and keep as a prototype); prototypes started again.

The builder's form names each step's fields `steps-<n>-<field>`; the page's script
renumbers them when steps are added, moved or removed. One parser serves the preview and
the start, so the preview shows exactly what would be started.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from accounts import service as accounts
from accounts.errors import UserNotFound
from engine import linear, linear_procedures
from engine.errors import InvalidInput

from .blueprint import bp
from .i18n import form_message
from .queries import executor_choices
from .security import current_actor

PREVIEW_KEY = "linear_preview"
STEP_FIELD = re.compile(r"^steps-(\d+)-([a-z_]+)$")
STEP_ERROR = re.compile(r"^steps\[(\d+)\]\.([a-z_]+)$")
SUBJECT_TYPES = ("organization", "document", "contract")


def _rows(form: MultiDict[str, str]) -> list[dict[str, str]]:
    """The step rows of the form, in their numbered order."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.items():
        found = STEP_FIELD.match(name)
        if found and int(found.group(1)) < linear.MAX_STEPS + 1:
            rows.setdefault(int(found.group(1)), {})[found.group(2)] = value.strip()
    return [rows[i] for i in sorted(rows)]


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _steps(rows: list[dict[str, str]]) -> tuple[list[linear.Step], dict[str, list[str]]]:
    """Steps from the rows, and the errors the engine cannot see (numbers, unknown users)."""
    steps: list[linear.Step] = []
    errors: dict[str, list[str]] = {}
    for i, row in enumerate(rows):
        days, back_to = row.get("working_days", ""), row.get("back_to", "")
        if days and _int(days) is None:
            errors[f"steps[{i}].working_days"] = ["must be an integer"]
        on_reject = row.get("on_reject") or "stop"
        if on_reject == "back" and back_to and _int(back_to) is None:
            errors[f"steps[{i}].back_to"] = ["must be an integer"]
        executor = row.get("executor", "")
        if executor and not executor.startswith("group:"):
            try:
                accounts.get_user(executor)
            except UserNotFound:
                errors[f"steps[{i}].executor"] = ["no such user"]
        steps.append(
            linear.Step(
                title=row.get("title", ""),
                executor=executor,
                instructions=row.get("instructions", ""),
                working_days=_int(days) if days else None,
                on_reject=on_reject,
                back_to=_int(back_to) if on_reject == "back" else None,
            )
        )
    return steps, errors


def _subject(form: MultiDict[str, str]) -> dict[str, str] | None:
    kind, ident = form.get("subject_type", "").strip(), form.get("subject_id", "").strip()
    if not kind or not ident:
        return None
    title = form.get("subject_title", "").strip()
    return {"type": kind, "id": ident, **({"title": title} if title else {})}


def _checked(form: MultiDict[str, str]) -> tuple[str, list[linear.Step]]:
    """The title and steps, or InvalidInput naming every bad field."""
    title = form.get("title", "").strip()
    steps, errors = _steps(_rows(form))
    problems = {**linear.step_errors(steps), **errors}
    if linear.title_errors(title):
        problems["title"] = linear.title_errors(title)
    if problems:
        raise InvalidInput("the procedure has invalid fields", problems)
    return title, steps


# engine.linear's messages, translated; the numbers are kept.
_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^a user name or group:NAME$"), "executor"),
    (re.compile(r"^at least one step is required$"), "one_step"),
    (re.compile(r"^at most (\d+) steps$"), "max_steps"),
    (re.compile(r"^at most (\d+) characters$"), "max_chars"),
    (re.compile(r"^contains control characters$"), "control"),
    (re.compile(r"^between 0 and (\d+)$"), "days"),
    (re.compile(r"^required when on_reject is back$"), "back_required"),
    (re.compile(r"^must be the number of an earlier step \(1 to (\d+)\)$"), "back_range"),
    (re.compile(r"^only with on_reject: back$"), "back_only"),
    (re.compile(r"^no such user$"), "no_user"),
]


def linear_message(message: str) -> str:
    """A message of the builder's checks in the request's language."""
    for pattern, kind in _MESSAGES:
        found = pattern.match(message)
        if not found:
            continue
        n = found.group(1) if found.groups() else ""
        texts = {
            "executor": _("choose a user or a group"),
            "one_step": _("at least one step is required"),
            "max_steps": _("at most %(n)s steps", n=n),
            "max_chars": _("must be at most %(n)s characters", n=n),
            "control": _("contains control characters"),
            "days": _("from 0 to %(n)s", n=n),
            "back_required": _("choose the step to go back to"),
            "back_range": _("must be the number of an earlier step (1 to %(n)s)", n=n),
            "back_only": _("only when a rejection goes back"),
            "no_user": _("there is no such user"),
        }
        return str(texts[kind])
    return form_message(message)


def _messages(exc: InvalidInput) -> dict[str, list[str]]:
    return {
        str(k): [linear_message(str(m)) for m in (v if isinstance(v, list) else [v])]
        for k, v in (exc.errors or {}).items()
    }


def _labels(errors: dict[str, list[str]]) -> dict[str, str]:
    """Each erroneous field as the form names it ("Step 2 · Executor"), for the preview."""
    names = {
        "title": _("Title"),
        "executor": _("Executor"),
        "instructions": _("Instructions"),
        "working_days": _("Duration, working days"),
        "duration": _("Duration, working days"),
        "on_reject": _("On rejection"),
        "back_to": _("Step number"),
    }
    labels: dict[str, str] = {"title": _("Procedure title"), "steps": _("Steps")}
    for field in errors:
        found = STEP_ERROR.match(field)
        if found:
            step = _("Step %(n)s", n=int(found.group(1)) + 1)
            labels[field] = f"{step} · {names.get(found.group(2), found.group(2))}"
    return {k: v for k, v in labels.items() if k in errors}


def _page(
    form: MultiDict[str, str] | None = None, errors: dict[str, list[str]] | None = None
) -> str:
    rows = _rows(form) if form is not None else []
    values = {k: v for k, v in (form or {}).items() if not k.startswith("steps-")}
    return render_template(
        "linear/builder.html",
        rows=rows or [{}],
        values=values,
        errors=errors or {},
        executors=executor_choices(),
        subject_types=SUBJECT_TYPES,
        prototypes=linear_procedures.list_prototypes(current_actor()),
    )


@bp.route("/linear")
def linear_builder() -> str:
    """The builder with one empty step, and the prototypes the user may start."""
    return _page()


@bp.route("/linear/preview", methods=["POST"])
def linear_preview() -> Response | tuple[Response, int]:
    """The BPMN XML the steps would become (nothing is deployed), or the field errors."""
    try:
        title, steps = _checked(request.form)
        xml = linear.build_bpmn(PREVIEW_KEY, title, steps)
    except InvalidInput as exc:
        errors = _messages(exc)
        return jsonify({"errors": errors, "labels": _labels(errors)}), 422
    return Response(xml, mimetype="application/xml")


@bp.route("/linear", methods=["POST"])
def linear_start() -> str | Response | tuple[str, int]:
    """Generate, deploy privately and start; keep it as a prototype when asked."""
    try:
        title, steps = _checked(request.form)
        run = linear_procedures.create(
            current_actor(),
            title,
            _subject(request.form),
            steps,
            save_as_prototype=request.form.get("save_as_prototype") == "1",
        )
    except InvalidInput as exc:
        return _page(request.form, _messages(exc)), 422
    flash(_("The procedure “%(title)s” started.", title=title), "success")
    return redirect(url_for("ui.instance", instance_id=str(run.instance["_id"])))


@bp.route("/linear/prototypes/<procedure_id>/start", methods=["POST"])
def linear_prototype_start(procedure_id: str) -> Response:
    """Start a prototype again on the subject it was made for."""
    actor = current_actor()
    procedure = linear_procedures.get(procedure_id, actor)
    subject: Any = procedure.subject or None
    run = linear_procedures.start_prototype(procedure_id, actor, subject)
    flash(_("The procedure “%(title)s” started.", title=procedure.title), "success")
    return redirect(url_for("ui.instance", instance_id=str(run.instance["_id"])))


def _share_page(
    procedure: Any, chosen: set[str], errors: dict[str, list[str]], status: int = 200
) -> tuple[str, int]:
    choices = executor_choices()
    return render_template(
        "linear/share.html",
        procedure=procedure,
        users=[c for c in choices if not c.value.startswith("group:")],
        groups=[c for c in choices if c.value.startswith("group:")],
        chosen=chosen,
        errors=errors,
    ), status


@bp.route("/linear/prototypes/<procedure_id>/share", methods=["GET", "POST"])
def linear_prototype_share(procedure_id: str) -> Response | tuple[str, int]:
    """Choose the users and groups who may see and start a prototype (its creator, admins)."""
    actor = current_actor()
    procedure = linear_procedures.get(procedure_id, actor)
    if procedure.owner != actor.username and not actor.is_admin:
        abort(403)
    if request.method == "GET":
        return _share_page(procedure, set(procedure.shared_with), {})
    users = [u.strip() for u in request.form.getlist("users") if u.strip()]
    groups = [g.strip().removeprefix("group:") for g in request.form.getlist("groups") if g.strip()]
    chosen = {*users, *(f"group:{g}" for g in groups)}
    unknown = [name for name in users if not _known_user(name)]
    try:
        if unknown:
            missing = _("no such user: %(names)s", names=", ".join(unknown))
            raise InvalidInput("unknown users", {"users": [missing]})
        linear_procedures.share(procedure_id, actor, users, groups)
    except InvalidInput as exc:
        return _share_page(procedure, chosen, _messages(exc), 422)
    flash(
        _(
            "“%(title)s” is shared with %(n)s users and groups.",
            title=procedure.title,
            n=len(chosen),
        ),
        "success",
    )
    return redirect(url_for("ui.linear_builder"))


def _known_user(name: str) -> bool:
    try:
        accounts.get_user(name)
    except UserNotFound:
        return False
    return True
