"""Procedures: definitions and their versions, upload, the diagram, the modeler, start."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine import definitions, instances, operators, start_rights
from engine.errors import InvalidInput
from engine.forms import FIELD_TYPES
from engine.xml import DEFAULT_MAX_BYTES

from .blueprint import bp
from .security import current_actor, current_user, designer_required, is_designer

KINDS = ("bpmn", "dmn")
# Deploy problems name their element first ("task X: …", "sequence flow F: …", "task X,
# field f: …", "element id 'X' …"): the modeler marks that element.
_PROBLEM_ELEMENT = re.compile(
    r"^(?:task|sequence flow|process(?! id )|element id) '?([A-Za-z_][A-Za-z0-9_.\-]*)'?[:,\s]"
)


def _max_bytes() -> int:
    settings = current_app.config.get("SETTINGS")
    return int(getattr(settings, "max_bpmn_bytes", DEFAULT_MAX_BYTES))


@bp.route("/procedures")
def procedure_list() -> str:
    """The latest version of every definition (Start only where the user may start)."""
    actor = current_actor()
    return render_template(
        "procedures/list.html",
        items=definitions.list_latest(actor=actor),
        can_design=is_designer(),
        startable={d.key for d in start_rights.startable(actor)},
    )


@bp.route("/procedures/upload", methods=["POST"])
@designer_required
def procedure_upload() -> Response | tuple[str, int]:
    """Deploy an uploaded .bpmn or .dmn file."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload."), "error")
        return redirect(url_for("ui.procedure_list"))
    limit = _max_bytes()
    try:
        deployed = definitions.deploy(
            upload.read(limit + 1), upload.filename, current_user().username, max_bytes=limit
        )
        start_rights.uploaded(deployed, current_user().username)
    except InvalidInput as exc:
        return render_template(
            "procedures/list.html",
            items=definitions.list_latest(actor=current_actor()),
            can_design=True,
            upload_error=exc.message,
            upload_problems=_problems(exc),
        ), 422
    first = deployed[0]
    flash(
        _("Deployed %(key)s version %(version)s.", key=first.key, version=first.version), "success"
    )
    return redirect(url_for("ui.procedure", kind=first.kind, key=first.key, version=first.version))


def _problems(exc: InvalidInput) -> list[str]:
    found: list[str] = []
    for value in exc.errors.values():
        found.extend(str(v) for v in (value if isinstance(value, list) else [value]))
    return found


def _element_of(problem: str) -> str | None:
    """The BPMN element a deploy problem is about, when it names one."""
    found = _PROBLEM_ELEMENT.match(problem)
    return found.group(1) if found else None


@bp.route("/procedures/operators")
@designer_required
def procedure_operators() -> Response:
    """The registered service-task operators and their declared parameters (the modeler's
    properties panel lists them)."""
    return jsonify({"operators": [_operator(name) for name in operators.names()]})


def _operator(name: str) -> dict[str, Any]:
    params = operators.params_of(name)
    fn = operators.get(name)
    doc = (fn.__doc__ or "").strip().splitlines()[0] if fn is not None and fn.__doc__ else ""
    return {
        "name": name,
        "asynchronous": operators.is_async(name),
        "doc": doc,
        # None: the operator declares no parameters and accepts any that compile.
        "params": None
        if params is None
        else [
            {"name": p, "required": spec.required, "kind": spec.kind, "doc": spec.doc}
            for p, spec in sorted(params.items(), key=lambda kv: (not kv[1].required, kv[0]))
        ],
    }


@bp.route("/procedures/<kind>/<key>")
@bp.route("/procedures/<kind>/<key>/<int:version>")
def procedure(kind: str, key: str, version: int | None = None) -> str:
    """One version of a definition (the latest by default): its diagram and versions."""
    actor = current_actor()
    found = definitions.find(key, version, kind if kind in KINDS else "bpmn", actor=actor)
    return render_template(
        "procedures/show.html",
        definition=found,
        versions=definitions.versions(found.key, found.kind, actor),
        can_design=is_designer(),
        may_start=found.kind == "bpmn" and start_rights.allowed(found.key, actor),
    )


@bp.route("/procedures/<kind>/<key>/<int:version>/xml")
def procedure_xml(kind: str, key: str, version: int) -> Response:
    """The XML of one version, as deployed (the viewer and modeler load it)."""
    # A removed linear procedure still draws in its instance's history (for its readers).
    found = definitions.find(
        key,
        version,
        kind if kind in KINDS else "bpmn",
        actor=current_actor(),
        include_removed=True,
    )
    return Response(found.source, mimetype="application/xml")


@bp.route("/procedures/<kind>/<key>/<int:version>/edit")
@designer_required
def procedure_edit(kind: str, key: str, version: int) -> str:
    """The modeler on one version of a BPMN diagram."""
    found = definitions.find(key, version, "bpmn")
    return render_template("procedures/modeler.html", definition=found, field_types=FIELD_TYPES)


@bp.route("/procedures/new")
@designer_required
def procedure_new() -> str:
    """The modeler on a new, empty diagram."""
    return render_template("procedures/modeler.html", definition=None, field_types=FIELD_TYPES)


@bp.route("/procedures/deploy", methods=["POST"])
@designer_required
def procedure_deploy() -> tuple[Response, int]:
    """Deploy the XML the modeler posts; answers JSON for the modeler's script."""
    content = request.get_data(cache=False)
    filename = (request.args.get("filename") or "modeler.bpmn")[:200]
    try:
        deployed = definitions.deploy(
            content, filename, current_user().username, max_bytes=_max_bytes()
        )
        start_rights.uploaded(deployed, current_user().username)
    except InvalidInput as exc:
        problems = _problems(exc)
        return jsonify(
            {
                "message": exc.message,
                "problems": problems,
                "marks": [{"element": _element_of(p), "problem": p} for p in problems],
            }
        ), 422
    first = deployed[0]
    return jsonify(
        {
            "key": first.key,
            "version": first.version,
            "url": url_for("ui.procedure", kind=first.kind, key=first.key, version=first.version),
        }
    ), 200


@bp.route("/procedures/bpmn/<key>/start", methods=["POST"])
def procedure_start(key: str) -> Response:
    """Start the latest version of a process; open its first task of the user, if any."""
    actor = current_actor()
    start_rights.require(key, actor)
    doc = instances.start(key, actor)
    mine = [t for t in doc.get("open_tasks", []) if t.get("assignee") == actor.username]
    if mine:
        return redirect(url_for("ui.task", guid=mine[0]["guid"]))
    flash(_("Process started."), "success")
    return redirect(url_for("ui.instance", instance_id=str(doc["_id"])))
