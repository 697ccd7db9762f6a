"""Setting up the records office: registration journals with their number templates (and a
preview of the next number), the case nomenclature's versions and case files.

Creating journals and nomenclatures is for the records clerks' group `office` and admins
(the API's rule); changing a journal is for its writers (the service checks).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from documents import journals, nomenclature
from documents.errors import (
    DocumentsInvalid,
    JournalExists,
    NomenclatureConflict,
    NomenclatureNotFound,
)
from documents.models import JOURNAL_KINDS, CaseFile, RegistrationJournal
from engine.errors import EngineError, InvalidInput
from engine.models import utcnow

from .blueprint import bp
from .pages import flash_error
from .records import OFFICE, field_errors, is_clerk
from .security import current_actor


def _clerk_only() -> None:
    if not is_clerk():
        abort(403)


# ------------------------------------------------------------------------------ journals


def _journal_values(journal: RegistrationJournal | None) -> dict[str, str]:
    if journal is None:
        return {"kind": "incoming", "number_template": "{journal}-{seq}/{yy}", "active": "1"}
    return {
        "code": journal.code,
        "name": journal.name,
        "kind": journal.kind,
        "number_template": journal.number_template,
        "department": journal.department,
        "case_index": journal.case_index,
        "active": "1" if journal.active else "",
    }


def _preview(values: dict[str, str], journal_id: Any = None) -> tuple[str, list[str]]:
    """The next number these requisites give, or the template's errors."""
    try:
        number = journals.preview_number(
            current_actor(),
            values.get("number_template", ""),
            code=values.get("code", ""),
            department=values.get("department", ""),
            case_index=values.get("case_index", ""),
            journal_id=journal_id,
        )
    except InvalidInput as exc:
        return "", field_errors(exc).get("number_template", [exc.message])
    return number, []


def _journal_form(
    journal: RegistrationJournal | None,
    values: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 200,
) -> tuple[str, int]:
    number, problems = _preview(values, journal.id if journal else None)
    return render_template(
        "records/journal_form.html",
        journal=journal,
        values=values,
        errors=errors,
        form="journal",
        kinds=JOURNAL_KINDS,
        preview=number,
        preview_errors=problems,
        cases=_cases_in_force(),
    ), status


def _cases_in_force() -> list[CaseFile]:
    try:
        found = nomenclature.current(utcnow().year)
    except NomenclatureNotFound:  # no nomenclature for this year yet
        return []
    return nomenclature.list_cases(found.id)


def _posted() -> dict[str, str]:
    return {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}


@bp.route("/records/journals/new", methods=["GET", "POST"])
def records_journal_new() -> str | Response | tuple[str, int]:
    """Create a registration journal with its number template."""
    _clerk_only()
    if request.method == "GET":
        return _journal_form(None, _journal_values(None), {})
    values = _posted()
    try:
        journal = journals.create_journal(
            current_actor(),
            values.get("code", ""),
            values.get("name", ""),
            values.get("kind", ""),
            values.get("number_template", ""),
            department=values.get("department", ""),
            case_index=values.get("case_index", ""),
            write=[f"group:{OFFICE}"],
        )
    except InvalidInput as exc:
        return _journal_form(None, values, field_errors(exc), 422)
    except JournalExists as exc:  # the index is taken: said at the field
        return _journal_form(None, values, field_errors(exc), 409)
    flash(_("The journal %(code)s is created.", code=journal.code), "success")
    return redirect(url_for("ui.records", journal=str(journal.id)))


@bp.route("/records/journals/<journal_id>/edit", methods=["GET", "POST"])
def records_journal_edit(journal_id: str) -> str | Response | tuple[str, int]:
    """Change a journal's name, template, department and case index, or close it."""
    actor = current_actor()
    journal = journals.get_journal(actor, journal_id)
    if request.method == "GET":
        return _journal_form(journal, _journal_values(journal), {})
    values = {**_posted(), "code": journal.code, "kind": journal.kind}
    try:
        journals.update_journal(
            actor,
            journal_id,
            name=values.get("name", ""),
            number_template=values.get("number_template", ""),
            department=values.get("department", ""),
            case_index=values.get("case_index", ""),
            active=values.get("active") == "1",
        )
    except InvalidInput as exc:
        return _journal_form(journal, values, field_errors(exc), 422)
    flash(_("The journal %(code)s is saved.", code=journal.code), "success")
    return redirect(url_for("ui.records", journal=journal_id))


@bp.route("/records/journals/preview", methods=["POST"])
def records_journal_preview() -> tuple[str, int]:
    """The next number of a template being typed (nothing is reserved), or its errors."""
    values = _posted()
    number, problems = _preview(values, values.get("journal_id") or None)
    html = render_template("records/_number_preview.html", preview=number, problems=problems)
    return html, 422 if problems else 200


# ------------------------------------------------------------------------------ nomenclature


def _nomenclature_page(
    chosen_id: str = "",
    form: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    versions = nomenclature.list_nomenclatures()
    chosen_id = chosen_id or (str(versions[0].id) if versions else "")
    chosen = next((v for v in versions if str(v.id) == chosen_id), None)
    return render_template(
        "records/nomenclature.html",
        versions=versions,
        chosen=chosen,
        cases=nomenclature.list_cases(chosen.id) if chosen else [],
        is_clerk=is_clerk(),
        form=form,
        values=values or {},
        errors=errors or {},
        this_year=utcnow().year,
    ), status


@bp.route("/records/nomenclature")
def nomenclature_page() -> tuple[str, int]:
    """The case nomenclature: its versions by year, and the cases of the chosen one."""
    return _nomenclature_page(request.args.get("id", ""))


@bp.route("/records/nomenclature", methods=["POST"])
def records_nomenclature_new() -> Response | tuple[str, int]:
    """A new draft version for a year (the previous version's cases are copied)."""
    _clerk_only()
    values = _posted()
    try:
        year = _whole(values.get("year"), "year") or 0
        created = nomenclature.create_nomenclature(
            current_actor(), year, values.get("version_title", "")
        )
    except InvalidInput as exc:
        return _nomenclature_page("", "version", values, field_errors(exc), 422)
    flash(
        _("Version %(v)s of %(year)s is created.", v=created.version, year=created.year), "success"
    )
    return redirect(url_for("ui.nomenclature_page", id=str(created.id)))


@bp.route("/records/nomenclature/<nomenclature_id>/approve", methods=["POST"])
def records_nomenclature_approve(nomenclature_id: str) -> Response:
    """Approve a draft: it is the version in force for its year."""
    _clerk_only()
    try:
        nomenclature.approve(current_actor(), nomenclature_id)
    except EngineError as exc:
        flash_error(exc)
    else:
        flash(_("The version is approved."), "success")
    return redirect(url_for("ui.nomenclature_page", id=nomenclature_id))


def _whole(value: str | None, field: str, required: bool = True) -> int | None:
    """A whole number field; empty is None unless required."""
    value = (value or "").strip()
    if not value:
        if required:
            raise DocumentsInvalid("a number is missing", {field: ["is required"]})
        return None
    if not value.isdigit():
        raise DocumentsInvalid("a number is invalid", {field: ["must be an integer"]})
    return int(value)


def _case_args(values: dict[str, str]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    retention: int | None = None
    volumes = 1
    if values.get("permanent") != "1":
        try:
            retention = _whole(values.get("retention_years"), "retention_years")
        except InvalidInput as exc:
            errors.update(exc.errors or {})
    try:
        volumes = _whole(values.get("volumes") or "1", "volumes") or 0
    except InvalidInput as exc:
        errors.update(exc.errors or {})
    if errors:
        raise DocumentsInvalid("the case file is invalid", errors)
    return {
        "index": values.get("index", ""),
        "title": values.get("title", ""),
        "retention_years": retention,
        "retention_article": values.get("retention_article", ""),
        "volumes": volumes,
    }


@bp.route("/records/nomenclature/<nomenclature_id>/cases", methods=["POST"])
def records_case_new(nomenclature_id: str) -> Response | tuple[str, int]:
    """Add a case file to a version (index, title, retention period)."""
    _clerk_only()
    values = _posted()
    try:
        case = nomenclature.add_case(current_actor(), nomenclature_id, **_case_args(values))
    except (InvalidInput, NomenclatureConflict) as exc:
        status = 422 if isinstance(exc, InvalidInput) else 409
        return _nomenclature_page(nomenclature_id, "case", values, field_errors(exc), status)
    flash(_("Case %(index)s is added.", index=case.index), "success")
    return redirect(url_for("ui.nomenclature_page", id=nomenclature_id))


@bp.route("/records/nomenclature/cases/<case_id>/edit", methods=["GET", "POST"])
def records_case_edit(case_id: str) -> str | Response | tuple[str, int]:
    """Change a case file's index (while empty), title and retention period."""
    _clerk_only()
    case = nomenclature.get_case(case_id)
    if request.method == "GET":
        values = {
            "index": case.index,
            "title": case.title,
            "retention_years": str(case.retention_years or ""),
            "permanent": "" if case.retention_years else "1",
            "retention_article": case.retention_article,
        }
        return render_template(
            "records/case_form.html", case=case, values=values, errors={}, form="case"
        )
    values = _posted()
    try:
        args = _case_args(values)
        args.pop("volumes")
        nomenclature.update_case(current_actor(), case_id, **args)
    except (InvalidInput, NomenclatureConflict) as exc:
        status = 422 if isinstance(exc, InvalidInput) else 409
        return render_template(
            "records/case_form.html",
            case=case,
            values=values,
            errors=field_errors(exc),
            form="case",
        ), status
    flash(_("Case %(index)s is saved.", index=values.get("index", "")), "success")
    return redirect(url_for("ui.nomenclature_page", id=str(case.nomenclature_id)))
