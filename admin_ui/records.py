"""The records office: journals, registering a document, the registration card with its
logs and signatures, sending to an executor, citizens' appeals, the case nomenclature.

Every route calls one `documents` service; access is the services' own.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from documents import appeals, cards, files, journals, nomenclature, office, signatures
from documents.errors import DocumentsInvalid, NoSigningKey
from documents.models import DOCUMENT_KINDS
from engine.errors import EngineError

from .blueprint import bp
from .i18n import form_message
from .pages import flash_error
from .queries import executor_choices
from .security import current_actor

CARD_TABS = ("documents", "acquaintance", "transfers", "signatures")
CARDS_SHOWN = 50
# The UI's upload cap: the API's file setting when there is one.
DEFAULT_MAX_FILE = 20 * 1024 * 1024


def _max_file_bytes() -> int:
    settings = current_app.config.get("SETTINGS")
    extra = getattr(settings, "extra", {}) or {}
    return int(extra.get("max_file_bytes", DEFAULT_MAX_FILE))


def _date(value: str | None) -> date | None:
    """A YYYY-MM-DD field, or None when empty; a bad value is an input error."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DocumentsInvalid("a date is invalid", {"date": ["must be a date"]}) from None


def _field_errors(exc: EngineError) -> dict[str, list[str]]:
    return {
        str(key): [form_message(str(m)) for m in (msgs if isinstance(msgs, list) else [msgs])]
        for key, msgs in (exc.errors or {}).items()
    }


@bp.route("/records")
def records() -> str:
    """Journals the user may read and the latest registration cards (by journal)."""
    actor = current_actor()
    journal_id = request.args.get("journal", "")
    return render_template(
        "records/index.html",
        journals=journals.list_journals(actor),
        cards=cards.list_cards(actor, journal_id=journal_id or None, limit=CARDS_SHOWN),
        journal_id=journal_id,
        kinds=DOCUMENT_KINDS,
    )


def _register_values(form: MultiDict[str, str]) -> dict[str, Any]:
    return {key: form.get(key, "").strip() for key in form if key != "csrf_token"}


def _register(kind: str, values: dict[str, Any]) -> Any:
    """Create the document in the chosen journal and register it (the number comes now)."""
    actor = current_actor()
    errors: dict[str, list[str]] = {}
    dates: dict[str, date | None] = {}
    for key in ("document_date", "correspondent_date", "deadline"):
        try:
            dates[key] = _date(values.get(key))
        except DocumentsInvalid:
            errors[key] = ["must be a date"]
    pages = values.get("pages") or "0"
    if not pages.isdigit():
        errors["pages"] = ["must be an integer"]
    if not values.get("journal_id"):
        errors["journal_id"] = ["is required"]
    if errors:
        raise DocumentsInvalid("the card is invalid", errors)
    # The journal first: a refused journal must not leave an unregistered document behind.
    journal = journals.writable_journal(actor, values["journal_id"])
    party = {"name": values["party"]} if values.get("party") else None
    doc = office.create_document(
        actor,
        kind,
        values.get("title", ""),
        summary=values.get("summary", ""),
        correspondent=party if kind == "incoming" else None,
        addressee=party if kind == "outgoing" else None,
        document_date=dates["document_date"],
        pages=int(pages),
        journal=journal,
    )
    executors = [v.strip() for v in values.get("executors", "").split(",") if v.strip()]
    return cards.register_document(
        actor,
        doc.id,
        journal.id,
        correspondent_number=values.get("correspondent_number", ""),
        correspondent_date=dates["correspondent_date"],
        resolution=values.get("resolution", ""),
        executors=executors,
        deadline=dates["deadline"],
        under_control=values.get("under_control") == "1",
    )


@bp.route("/records/register/<kind>", methods=["GET", "POST"])
def register(kind: str) -> str | Response | tuple[str, int]:
    """The registration form of one document kind; the number is assigned on save."""
    if kind not in DOCUMENT_KINDS:
        abort(404)
    actor = current_actor()
    usable = [
        j
        for j in journals.list_journals(actor)
        if j.kind == kind or (j.kind == "appeal" and kind == "incoming")
    ]
    if request.method == "GET":
        chosen = request.args.get("journal", "")
        return render_template(
            "records/register.html",
            kind=kind,
            journals=usable,
            values={"journal_id": chosen},
            errors={},
        )
    values = _register_values(request.form)
    try:
        card = _register(kind, values)
    except EngineError as exc:
        if not exc.errors:
            raise  # not about a field: the error page says why
        return render_template(
            "records/register.html",
            kind=kind,
            journals=usable,
            values=values,
            errors=_field_errors(exc),
            message=exc.message,
        ), 422
    flash(_("Registered as № %(number)s.", number=card.number), "success")
    return redirect(url_for("ui.record_card", card_id=str(card.id)))


@bp.route("/records/cards/<card_id>")
def record_card(card_id: str) -> str:
    """The registration card: requisites, execution, and the tabs (htmx swaps them)."""
    tab = request.args.get("tab", "documents")
    if tab not in CARD_TABS:
        abort(404)
    actor = current_actor()
    card = cards.get_card(actor, card_id)
    data: dict[str, Any] = {"card": card, "tab": tab, "tabs": CARD_TABS}
    if tab == "documents":
        data["documents"] = cards.linked_documents(actor, card_id)
    elif tab == "acquaintance":
        data["entries"] = cards.acquaintances(actor, card_id)
    elif tab == "transfers":
        data["entries"] = cards.transfers(actor, card_id)
    else:
        data["documents"] = cards.linked_documents(actor, card_id)
        data["signatures"] = signatures.signatures_of_document(actor, card.document_id)
    if request.headers.get("HX-Target") == "tab-panel":
        return render_template("records/_tab.html", **data)
    data["journal"] = journals.get_journal(actor, card.journal_id)
    data["people"] = [p for p in executor_choices() if not p.value.startswith("group:")]
    return render_template("records/card.html", **data)


def _back(card_id: str, tab: str) -> Response:
    return redirect(url_for("ui.record_card", card_id=card_id, tab=tab))


@bp.route("/records/cards/<card_id>/send", methods=["POST"])
def record_send(card_id: str) -> Response:
    """Send the document to an executor (starts document_execution)."""
    try:
        due = _date(request.form.get("due"))
        cards.send_to_executor(
            current_actor(),
            card_id,
            request.form.get("executor", "").strip(),
            request.form.get("text", "").strip(),
            due,
        )
    except EngineError as exc:
        flash_error(exc)
    else:
        flash(_("Sent to %(name)s.", name=request.form.get("executor", "").strip()), "success")
    return _back(card_id, "documents")


@bp.route("/records/cards/<card_id>/acquaint", methods=["POST"])
def record_acquaint(card_id: str) -> Response:
    """Log that someone read the paper document."""
    try:
        cards.acquaint(
            current_actor(),
            card_id,
            request.form.get("person", ""),
            note=request.form.get("note", "").strip(),
        )
    except EngineError as exc:
        flash_error(exc)
    return _back(card_id, "acquaintance")


@bp.route("/records/cards/<card_id>/files", methods=["POST"])
def record_attach(card_id: str) -> Response:
    """Upload a file and attach it to the card's document."""
    request.max_content_length = _max_file_bytes() + 64 * 1024
    actor = current_actor()
    card = cards.get_card(actor, card_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file."), "error")
        return _back(card_id, "signatures")
    try:
        stored = files.upload(actor, upload.filename, upload.stream, _max_file_bytes())
        office.attach_file(actor, card.document_id, stored.id)
    except EngineError as exc:
        flash_error(exc)
    return _back(card_id, "signatures")


@bp.route("/records/cards/<card_id>/sign", methods=["POST"])
def record_sign(card_id: str) -> Response:
    """Sign the attached version of a file with the user's key (issued on first use)."""
    actor = current_actor()
    card = cards.get_card(actor, card_id)
    secret = str(current_app.config["SECRET_KEY"])
    try:
        try:
            signatures.active_key(actor.username)
        except NoSigningKey:
            # A clerk signs without a separate key-issuing step; the key is self-issued.
            signatures.issue_key(actor.username, secret)
        signatures.sign_file(
            actor, request.form.get("file_id", ""), secret, document_id=card.document_id
        )
    except EngineError as exc:
        flash_error(exc)
    else:
        flash(_("Signed."), "success")
    return _back(card_id, "signatures")


@bp.route("/records/cards/<card_id>/signatures/<signature_id>/verify", methods=["POST"])
def record_verify(card_id: str, signature_id: str) -> Response:
    """Check a signature against the file's current version and say what came out."""
    try:
        result = signatures.verify(current_actor(), signature_id)
    except EngineError as exc:
        flash_error(exc)
    else:
        verdict = {
            "valid": _("The signature is valid."),
        }.get(result.status, _("The signature is not valid: %(detail)s", detail=result.detail))
        flash(verdict, "success" if result.status == "valid" else "error")
    return _back(card_id, "signatures")


@bp.route("/records/appeals")
def appeal_list() -> str:
    """Citizens' appeals with their deadlines; overdue ones first when asked."""
    overdue = request.args.get("overdue") == "1"
    status = request.args.get("status", "")
    found = appeals.list_appeals(current_actor(), status=status, overdue=overdue, limit=200)
    return render_template(
        "records/appeals.html",
        appeals=found,
        overdue=overdue,
        status=status,
        today=date.today(),
        is_overdue=appeals.is_overdue,
    )


@bp.route("/records/nomenclature")
def nomenclature_page() -> str:
    """The case nomenclature: its versions by year, and the cases of the chosen one."""
    versions = nomenclature.list_nomenclatures()
    chosen_id = request.args.get("id") or (str(versions[0].id) if versions else "")
    chosen = next((v for v in versions if str(v.id) == chosen_id), None)
    cases = nomenclature.list_cases(chosen.id) if chosen else []
    return render_template(
        "records/nomenclature.html", versions=versions, chosen=chosen, cases=cases
    )
