"""Organizations: search, the card with its tabs, create and edit, log a call."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from engine import instances, start_rights
from registry import card as card_service
from registry import organizations
from registry.errors import RegistryInvalid
from registry.models import Organization

from .blueprint import bp
from .i18n import form_message
from .security import current_actor

TABS = (
    "main",
    "contacts",
    "actions",
    "executor",
    "customer",
    "invoices",
    "deliveries",
    "supplier",
    "processes",
)
PAGE = 50
CALL_PROCESS = "incoming_call"
SUBJECT_TYPE = "organization"  # the crm:subjectTypes name of organizations
TEXT_FIELDS = ("name", "short_name", "legal_form", "inn", "kpp", "ogrn", "website", "notes")
ADDRESS_PARTS = ("index", "region", "city", "street", "house", "office")


@bp.route("/organizations")
def organization_list() -> str:
    """Organizations the user may read, searched by name, INN/OGRN, phone or e-mail."""
    q = request.args.get("q", "").strip()
    archived = request.args.get("archived") == "1"
    page = organizations.find(
        current_actor(),
        q=q or None,
        archived=archived,
        limit=PAGE,
        cursor=request.args.get("cursor") or None,
    )
    template = (
        "organizations/_results.html"
        if request.headers.get("HX-Target") == "results"
        else "organizations/list.html"
    )
    return render_template(template, page=page, q=q, archived=archived)


@bp.route("/organizations/<organization_id>")
def organization_card(organization_id: str) -> str:
    """The card of an organization; tabs swap in place with htmx."""
    tab = request.args.get("tab", "main")
    if tab not in TABS:
        abort(404)
    actor = current_actor()
    card = card_service.card(actor, organization_id)
    template = (
        "organizations/_tab.html"
        if request.headers.get("HX-Target") == "tab-panel"
        else "organizations/card.html"
    )
    # Start commands: the procedures for organizations this user may start (docs/access.md).
    startable = [d for d in start_rights.startable(actor, SUBJECT_TYPE) if d.key != CALL_PROCESS]
    return render_template(
        template, card=card, org=card.organization, tab=tab, tabs=TABS, startable=startable
    )


@bp.route("/organizations/<organization_id>/start/<key>", methods=["POST"])
def organization_start(organization_id: str, key: str) -> Response:
    """Start a procedure declared for organizations, with this organization as subject."""
    actor = current_actor()
    org = organizations.get(actor, organization_id)
    if key not in {d.key for d in start_rights.startable(actor, SUBJECT_TYPE)}:
        abort(403)
    doc = instances.start(
        key, actor, subject={"type": SUBJECT_TYPE, "id": str(org.id), "title": org.display_name}
    )
    mine = [t for t in doc.get("open_tasks", []) if t.get("assignee") == actor.username]
    if mine:
        return redirect(url_for("ui.task", guid=mine[0]["guid"]))
    flash(_("Process started."), "success")
    return redirect(url_for("ui.instance", instance_id=str(doc["_id"])))


def _values(form: MultiDict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {key: form.get(key, "").strip() for key in TEXT_FIELDS}
    for key in ("phones", "emails", "tags"):
        values[key] = [v.strip() for v in form.get(key, "").split(",") if v.strip()]
    address = {part: form.get(f"legal_address.{part}", "").strip() for part in ADDRESS_PARTS}
    values["legal_address"] = address if any(address.values()) else None
    return values


def _field_errors(exc: RegistryInvalid) -> dict[str, list[str]]:
    return {
        key: [form_message(str(m)) for m in (msgs if isinstance(msgs, list) else [msgs])]
        for key, msgs in exc.errors.items()
    }


def _form_values(org: Organization) -> dict[str, Any]:
    values = organizations.values_of(org)
    for key in ("phones", "emails", "tags"):
        values[key] = ", ".join(values.get(key) or [])
    return values


def _as_form(values: dict[str, Any]) -> dict[str, Any]:
    shown = dict(values)
    for key in ("phones", "emails", "tags"):
        if isinstance(shown.get(key), list):
            shown[key] = ", ".join(shown[key])
    return shown


@bp.route("/organizations/new", methods=["GET", "POST"])
def organization_new() -> str | Response | tuple[str, int]:
    """Create an organization."""
    if request.method == "GET":
        return render_template("organizations/form.html", values={}, errors={}, org=None)
    values = _values(request.form)
    try:
        org = organizations.create(current_actor(), values)
    except RegistryInvalid as exc:
        return render_template(
            "organizations/form.html",
            values=_as_form(values),
            errors=_field_errors(exc),
            org=None,
            message=exc.message,
        ), 422
    flash(_("Organization created."), "success")
    return redirect(url_for("ui.organization_card", organization_id=str(org.id)))


@bp.route("/organizations/<organization_id>/edit", methods=["GET", "POST"])
def organization_edit(organization_id: str) -> str | Response | tuple[str, int]:
    """Change the main fields of an organization."""
    actor = current_actor()
    org = organizations.get_writable(actor, organization_id)
    if request.method == "GET":
        return render_template(
            "organizations/form.html", values=_form_values(org), errors={}, org=org
        )
    values = _values(request.form)
    try:
        organizations.update(
            actor, organization_id, values, int(request.form.get("version") or org.version)
        )
    except RegistryInvalid as exc:
        return render_template(
            "organizations/form.html",
            values=_as_form(values),
            errors=_field_errors(exc),
            org=org,
            message=exc.message,
        ), 422
    flash(_("Changes saved."), "success")
    return redirect(url_for("ui.organization_card", organization_id=organization_id))


@bp.route("/organizations/<organization_id>/log-call", methods=["POST"])
def log_call(organization_id: str) -> Response:
    """Start the incoming-call procedure on the organization and open its first task."""
    actor = current_actor()
    org = organizations.get(actor, organization_id)
    start_rights.require(CALL_PROCESS, actor)
    doc = instances.start(
        CALL_PROCESS,
        actor,
        subject={"type": "organization", "id": str(org.id), "title": org.display_name},
    )
    mine = [t for t in doc.get("open_tasks", []) if t.get("assignee") == actor.username]
    if mine:
        return redirect(url_for("ui.task", guid=mine[0]["guid"]))
    flash(_("The call procedure was started."), "success")
    return redirect(url_for("ui.instance", instance_id=str(doc["_id"])))
