"""The records office: journals, registering a document, the registration card with its
logs and signatures, sending to an executor, citizens' appeals, the case nomenclature.

Every route calls one `documents` service; access is the services' own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from accounts import service as accounts
from accounts.access import can_write
from accounts.errors import UserNotFound
from documents import appeals, cards, files, journals, nomenclature, office, signatures
from documents.errors import CardChanged, DocumentsInvalid, NomenclatureNotFound, NoSigningKey
from documents.models import DOCUMENT_KINDS, RegistrationCard
from engine.actor import Actor
from engine.errors import EngineError, InvalidInput
from engine.models import utcnow

from .blueprint import bp
from .i18n import form_message
from .pages import flash_error
from .queries import executor_choices
from .security import current_actor, current_user

OFFICE = "office"  # the records clerks' group (webapi/api/records_common.py has the same)
CARD_TABS = ("documents", "acquaintance", "transfers", "signatures")
CARDS_SHOWN = 50
LINKABLE_SHOWN = 50
# An appeal card's deadline and control are set by the appeal (registration, extension).
APPEAL_FIXED = (
    "deadline",
    "under_control",
    "correspondent_number",
    "correspondent_date",
)  # recent cards offered for linking to a card
# The UI's upload cap: the API's file setting when there is one.
DEFAULT_MAX_FILE = 20 * 1024 * 1024


def _max_file_bytes() -> int:
    settings = current_app.config.get("SETTINGS")
    extra = getattr(settings, "extra", {}) or {}
    return int(extra.get("max_file_bytes", DEFAULT_MAX_FILE))


def _date(value: str | None, field: str = "date") -> date | None:
    """A YYYY-MM-DD field, or None when empty; a bad value is an input error naming `field`."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DocumentsInvalid("a date is invalid", {field: ["must be a date"]}) from None


def status_label(status: str) -> str:
    """A card or appeal status in the request's language."""
    return {
        "registered": _("registered"),
        "in_work": _("in work"),
        "executed": _("executed"),
        "filed": _("filed"),
        "redirected": _("redirected"),
        "answered": _("answered"),
    }.get(status, status)


# The records office services' field messages (documents/*), translated; numbers kept.
_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^position (\d+): unknown token (\{[^}]*\}); known: (.*)$"), "token"),
    (re.compile(r"^position (\d+): padding of (\{\w+\}) is at most (\d+)$"), "padding"),
    (re.compile(r"^position (\d+): a lone brace"), "brace"),
    (re.compile(r"^the template needs exactly one \{seq\}: there is none$"), "no_seq"),
    (
        re.compile(r"^the template needs exactly one \{seq\}: a second one at position (\d+)$"),
        "seq2",
    ),
    (re.compile(r"^1 to (\d+) characters(, no braces)?$"), "length"),
    (re.compile(r"^taken$"), "taken"),
    (re.compile(r"^is required for a card under control$"), "controlled"),
    (re.compile(r"^changed meanwhile$"), "changed"),
    (re.compile(r"^does not take (\w+) documents$"), "kind"),
    (re.compile(r"^1 to (\d+)$"), "range"),
    (re.compile(r"^at least 1, or null for permanent$"), "retention"),
    (re.compile(r"^at least (\d+)$"), "at_least"),
    (re.compile(r"^cannot change: documents are filed in this case$"), "filed_case"),
    (re.compile(r"^the case is destroyed$"), "destroyed"),
    (re.compile(r"^(\d+) to (\d+)$"), "between"),
]


def records_message(message: str) -> str:
    """A field message of the records office (or of a form) in the request's language."""
    for pattern, kind in _MESSAGES:
        found = pattern.match(message)
        if found:
            return _records_text(kind, [*found.groups(), "", "", ""])
    return form_message(message)


def _records_text(kind: str, args: list[str]) -> str:
    a, b, c = args[0] or "", args[1] or "", args[2] or ""
    texts = {
        "token": _(
            "position %(n)s: unknown token %(token)s; known: %(known)s", n=a, token=b, known=c
        ),
        "padding": _(
            "position %(n)s: the padding of %(token)s is at most %(max)s", n=a, token=b, max=c
        ),
        "brace": _("position %(n)s: a lone brace; write {{ or }} for a literal brace", n=a),
        "no_seq": _("the template needs exactly one {seq}: there is none"),
        "seq2": _("the template needs exactly one {seq}: a second one at position %(n)s", n=a),
        "length": _("1 to %(n)s characters", n=a) + (_(", no braces") if b else ""),
        "taken": _("is taken already"),
        "controlled": _("is required for a card under control"),
        "changed": _("was changed by someone else meanwhile"),
        "kind": _("does not take documents of this kind"),
        "range": _("from 1 to %(n)s", n=a),
        "retention": _("at least 1 year, or empty for permanent keeping"),
        "at_least": _("must be at least %(n)s", n=a),
        "filed_case": _("cannot change: documents are filed in this case"),
        "destroyed": _("the case is destroyed"),
        "between": _("from %(a)s to %(b)s", a=a, b=b),
    }
    return str(texts[kind])


def field_errors(exc: EngineError) -> dict[str, list[str]]:
    """The error's messages by field, in the request's language."""
    return {
        str(key): [records_message(str(m)) for m in (msgs if isinstance(msgs, list) else [msgs])]
        for key, msgs in (exc.errors or {}).items()
    }


def is_clerk() -> bool:
    """Admins and records clerks (the group `office`, as in the API) set up journals and the
    nomenclature."""
    user = current_user()
    return bool(user.is_admin or OFFICE in user.groups)


@bp.route("/records")
def records() -> str:
    """Journals the user may read and the latest registration cards (by journal)."""
    actor = current_actor()
    journal_id = request.args.get("journal", "")
    found = journals.list_journals(actor)
    return render_template(
        "records/index.html",
        journals=found,
        writable={j.id for j in found if can_write(actor, j.access)},
        is_clerk=is_clerk(),
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
            errors=field_errors(exc),
            message=exc.message,
        ), 422
    flash(_("Registered as № %(number)s.", number=card.number), "success")
    return redirect(url_for("ui.record_card", card_id=str(card.id)))


def _card_data(
    actor: Actor, card: RegistrationCard, tab: str, picking: bool = False
) -> dict[str, Any]:
    """What the card page and each of its tabs show (`picking`: documents to link too)."""
    card_id = card.id
    data: dict[str, Any] = {
        "card": card,
        "tab": tab,
        "tabs": CARD_TABS,
        "may_write": can_write(actor, card.access),
    }
    if tab == "documents":
        data["documents"] = cards.linked_documents(actor, card_id)
        data["files"] = signatures.files_of_document(actor, card.document_id)
        data["linkable"] = None
        if picking:  # only on request: the recent cards are the card page's dearest query
            linked = {card.document_id, *card.linked_document_ids}
            recent = cards.list_cards(actor, limit=LINKABLE_SHOWN)
            data["linkable"] = [c for c in recent if c.document_id not in linked]
    elif tab == "acquaintance":
        data["entries"] = cards.acquaintances(actor, card_id)
    elif tab == "transfers":
        data["entries"] = cards.transfers(actor, card_id)
        data["cases"] = _open_cases()
    else:
        data["files"] = signatures.files_of_document(actor, card.document_id)
    return data


def _open_cases() -> list[Any]:
    """The open cases of this year's nomenclature in force (none when there is none)."""
    try:
        found = nomenclature.current(utcnow().year)
    except NomenclatureNotFound:
        return []
    return [c for c in nomenclature.list_cases(found.id) if c.status == "open"]


def _card_page(
    card_id: str,
    tab: str = "documents",
    *,
    form: str = "",
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The whole card page; `form` names the form whose `errors` show next to its fields."""
    if tab not in CARD_TABS:
        abort(404)
    actor = current_actor()
    card = cards.get_card(actor, card_id)
    picking = request.args.get("link") == "1" or form == "link"
    data = _card_data(actor, card, tab, picking)
    data.update(form=form, errors=errors or {}, values=values or {})
    if request.headers.get("HX-Target") == "tab-panel" and request.method == "GET":
        return render_template("records/_tab.html", **data), status
    data["journal"] = journals.get_journal(actor, card.journal_id)
    data["people"] = [p for p in executor_choices() if not p.value.startswith("group:")]
    data["next_statuses"] = cards.NEXT_STATUS.get(card.status, ())
    if card.kind == "appeal":
        data["appeal"] = appeals.appeal_of_document(actor, card.document_id)
        data["today"] = utcnow().date()
    return render_template("records/card.html", **data), status


@bp.route("/records/cards/<card_id>")
def record_card(card_id: str) -> tuple[str, int]:
    """The registration card: requisites, execution, and the tabs (htmx swaps them)."""
    return _card_page(card_id, request.args.get("tab", "documents"))


def _back(card_id: str, tab: str) -> Response:
    return redirect(url_for("ui.record_card", card_id=card_id, tab=tab))


def _refused(
    card_id: str,
    tab: str,
    form: str,
    exc: EngineError,
    names: dict[str, str] | None = None,
) -> Response | tuple[str, int]:
    """A refused card action: field errors next to the form's fields (422), else a flash."""
    if not exc.errors or not isinstance(exc, InvalidInput):
        flash_error(exc)
        return _back(card_id, tab)
    errors = {(names or {}).get(k, k): v for k, v in field_errors(exc).items()}
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    return _card_page(card_id, tab, form=form, errors=errors, values=values, status=422)


@bp.route("/records/cards/<card_id>/send", methods=["POST"])
def record_send(card_id: str) -> Response | tuple[str, int]:
    """Send the document to an executor (starts document_execution)."""
    try:
        due = _date(request.form.get("due"), "due")
        cards.send_to_executor(
            current_actor(),
            card_id,
            request.form.get("executor", "").strip(),
            request.form.get("text", "").strip(),
            due,
        )
    except EngineError as exc:
        return _refused(card_id, "documents", "send", exc)
    flash(_("Sent to %(name)s.", name=request.form.get("executor", "").strip()), "success")
    return _back(card_id, "documents")


@bp.route("/records/cards/<card_id>/edit", methods=["GET", "POST"])
def record_edit(card_id: str) -> str | Response | tuple[str, int]:
    """Edit the card's fields; a stale form (someone saved meanwhile) is refused with both
    versions shown, never saved over the other person's change."""
    actor = current_actor()
    card = cards.writable_card(actor, card_id)
    if request.method == "GET":
        return render_template(
            "records/edit.html",
            card=card,
            values=_card_values(card),
            errors={},
            form="edit",
        )
    values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    try:
        changes, token = _card_changes(values)
        if card.kind == "appeal":  # its term and control follow 59-FZ (appeal actions)
            changes = {k: v for k, v in changes.items() if k not in APPEAL_FIXED}
        cards.update_card(actor, card_id, changes, expected_updated_at=token)
    except CardChanged:
        current = cards.get_card(actor, card_id)
        theirs = _card_values(current)
        differing = {k for k, v in theirs.items() if k != "updated_at" and v != values.get(k, "")}
        values["updated_at"] = theirs["updated_at"]  # saving again overwrites, knowingly
        return render_template(
            "records/edit.html",
            card=current,
            values=values,
            errors={},
            form="edit",
            theirs=theirs,
            differing=differing,
            conflict=True,
        ), 409
    except InvalidInput as exc:
        return render_template(
            "records/edit.html",
            card=card,
            values=values,
            errors=field_errors(exc),
            form="edit",
        ), 422
    flash(_("The card is saved."), "success")
    return _back(card_id, "documents")


def _card_values(card: RegistrationCard) -> dict[str, str]:
    """The editable fields of a card as the form shows them."""
    return {
        "summary": card.summary or "",
        "resolution": card.resolution or "",
        "executors": ", ".join(card.executors),
        "deadline": card.deadline.isoformat() if card.deadline else "",
        "correspondent_number": card.correspondent_number or "",
        "correspondent_date": card.correspondent_date.isoformat()
        if card.correspondent_date
        else "",
        "under_control": "1" if card.under_control else "",
        "updated_at": card.updated_at.isoformat() if card.updated_at else "",
    }


def _card_changes(values: dict[str, str]) -> tuple[dict[str, Any], datetime | None]:
    """The service's changes and the lock token from the form, or the fields' errors."""
    errors: dict[str, list[str]] = {}
    dates: dict[str, date | None] = {}
    for key in ("deadline", "correspondent_date"):
        try:
            dates[key] = _date(values.get(key), key)
        except DocumentsInvalid:
            errors[key] = ["must be a date"]
    executors = list(
        dict.fromkeys(v.strip() for v in values.get("executors", "").split(",") if v.strip())
    )
    unknown = [name for name in executors if not _is_user(name)]
    if unknown:
        errors["executors"] = [_("no such user: %(names)s", names=", ".join(unknown))]
    try:
        token = datetime.fromisoformat(values["updated_at"]) if values.get("updated_at") else None
    except ValueError:
        token = None
        errors["updated_at"] = ["must be a date and time (ISO 8601)"]
    if errors:
        raise DocumentsInvalid("the card is invalid", errors)
    changes = {
        "summary": values.get("summary", ""),
        "resolution": values.get("resolution", ""),
        "executors": executors,
        "deadline": dates["deadline"],
        "correspondent_number": values.get("correspondent_number", ""),
        "correspondent_date": dates["correspondent_date"],
        "under_control": values.get("under_control") == "1",
    }
    return changes, token


def _is_user(name: str) -> bool:
    try:
        accounts.get_user(name)
    except UserNotFound:
        return False
    return True


@bp.route("/records/cards/<card_id>/status", methods=["POST"])
def record_status(card_id: str) -> Response | tuple[str, int]:
    """Move the card to the next status (registered → in work → executed)."""
    status = request.form.get("status", "")
    try:
        cards.set_status(current_actor(), card_id, status)
    except EngineError as exc:
        return _refused(card_id, "documents", "status", exc)
    flash(_("The status is now “%(status)s”.", status=status_label(status)), "success")
    return _back(card_id, "documents")


@bp.route("/records/cards/<card_id>/acquaint", methods=["POST"])
def record_acquaint(card_id: str) -> Response | tuple[str, int]:
    """Log that someone read the paper document."""
    try:
        cards.acquaint(
            current_actor(),
            card_id,
            request.form.get("person", ""),
            note=request.form.get("note", "").strip(),
        )
    except EngineError as exc:
        return _refused(card_id, "acquaintance", "acquaint", exc)
    return _back(card_id, "acquaintance")


@bp.route("/records/cards/<card_id>/hand-over", methods=["POST"])
def record_hand_over(card_id: str) -> Response | tuple[str, int]:
    """Log that the paper document was handed to someone, and why (the transfer log)."""
    try:
        cards.hand_over(
            current_actor(),
            card_id,
            request.form.get("to_person", ""),
            request.form.get("reason", ""),
        )
    except EngineError as exc:
        return _refused(card_id, "transfers", "hand_over", exc)
    flash(_("The hand-over is logged."), "success")
    return _back(card_id, "transfers")


@bp.route("/records/cards/<card_id>/file", methods=["POST"])
def record_file(card_id: str) -> Response | tuple[str, int]:
    """File the executed document into a case of the nomenclature in force."""
    try:
        entry = cards.transfer_to_case(
            current_actor(),
            card_id,
            request.form.get("case_index", "").strip(),
            note=request.form.get("case_note", "").strip(),
        )
    except EngineError as exc:
        return _refused(card_id, "transfers", "file", exc, {"note": "case_note"})
    flash(_("Filed into case %(index)s.", index=entry.case_index), "success")
    return _back(card_id, "transfers")


@bp.route("/records/cards/<card_id>/links", methods=["POST"])
def record_link(card_id: str) -> Response | tuple[str, int]:
    """Link another registered document to the card (its Documents tab)."""
    document_id = request.form.get("document_id", "").strip()
    try:
        if not document_id:
            raise DocumentsInvalid("choose a document", {"document_id": ["is required"]})
        cards.link_documents(current_actor(), card_id, [document_id])
    except EngineError as exc:
        return _refused(card_id, "documents", "link", exc)
    return _back(card_id, "documents")


@bp.route("/records/cards/<card_id>/files", methods=["POST"])
def record_attach(card_id: str) -> Response | tuple[str, int]:
    """Upload a file and attach it to the card's document."""
    request.max_content_length = _max_file_bytes() + 64 * 1024
    actor = current_actor()
    card = cards.get_card(actor, card_id)
    tab = request.form.get("tab", "documents")
    tab = tab if tab in CARD_TABS else "documents"
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise DocumentsInvalid("choose a file", {"file": ["is required"]})
        stored = files.upload(actor, upload.filename, upload.stream, _max_file_bytes())
        office.attach_file(actor, card.document_id, stored.id)
    except EngineError as exc:
        return _refused(card_id, tab, "attach", exc)
    flash(_("The file %(name)s is attached.", name=stored.name), "success")
    return _back(card_id, tab)


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
def record_verify(card_id: str, signature_id: str) -> str | Response:
    """Check a signature against the file's current version; htmx gets the verdict in
    place (beside the signature), a plain form a message on the card."""
    try:
        result = signatures.verify(current_actor(), signature_id)
    except EngineError as exc:
        if request.headers.get("HX-Request"):
            return render_template("records/_verdict.html", result=None, message=exc.message)
        flash_error(exc)
        return _back(card_id, "signatures")
    if request.headers.get("HX-Request"):
        return render_template("records/_verdict.html", result=result)
    verdict = {
        "valid": _("The signature is valid."),
    }.get(result.status, _("The signature is not valid: %(detail)s", detail=result.detail))
    flash(verdict, "success" if result.status == "valid" else "error")
    return _back(card_id, "signatures")


@bp.route("/records/appeals")
def appeal_list() -> str:
    """Citizens' appeals with their deadlines and the days left; overdue ones when asked."""
    overdue = request.args.get("overdue") == "1"
    status = request.args.get("status", "")
    today = utcnow().date()
    found = appeals.list_appeals(
        current_actor(), status=status, overdue=overdue, today=today, limit=200
    )
    return render_template(
        "records/appeals.html",
        appeals=found,
        overdue=overdue,
        status=status,
        today=today,
        is_overdue=appeals.is_overdue,
    )


def _appeal_action(
    appeal_id: str, form: str, run: Callable[[Actor], Any], names: dict[str, str], done: str
) -> Response | tuple[str, int]:
    """Run an appeal action; back to the appeal's card, with the field errors if refused."""
    actor = current_actor()
    card_id = str(appeals.get_appeal(actor, appeal_id).card_id)
    try:
        run(actor)
    except EngineError as exc:
        return _refused(card_id, "documents", form, exc, names)
    flash(done, "success")
    return _back(card_id, "documents")


def _days(value: str | None) -> int:
    value = (value or "").strip()
    if not value.lstrip("-").isdigit():
        raise DocumentsInvalid("the days are invalid", {"days": ["must be an integer"]})
    return int(value)


@bp.route("/records/appeals/<appeal_id>/redirect", methods=["POST"])
def appeal_redirect(appeal_id: str) -> Response | tuple[str, int]:
    """Send the appeal to the competent body (59-FZ art. 8 p. 3), notifying its authors."""
    return _appeal_action(
        appeal_id,
        "redirect",
        lambda actor: appeals.redirect(
            actor,
            appeal_id,
            request.form.get("to_organization", ""),
            request.form.get("redirect_reason", "").strip(),
        ),
        {"reason": "redirect_reason"},
        _("The appeal is redirected."),
    )


@bp.route("/records/appeals/<appeal_id>/extend", methods=["POST"])
def appeal_extend(appeal_id: str) -> Response | tuple[str, int]:
    """Extend the answer term once, by 1 to 30 days (59-FZ art. 12 p. 2)."""
    return _appeal_action(
        appeal_id,
        "extend",
        lambda actor: appeals.extend(
            actor,
            appeal_id,
            _days(request.form.get("days")),
            request.form.get("extension_reason", ""),
        ),
        {"reason": "extension_reason"},
        _("The term is extended."),
    )


@bp.route("/records/appeals/<appeal_id>/answer", methods=["POST"])
def appeal_answer(appeal_id: str) -> Response | tuple[str, int]:
    """Record the answer and close the appeal (its card becomes executed)."""
    return _appeal_action(
        appeal_id,
        "answer",
        lambda actor: appeals.answer(actor, appeal_id, request.form.get("answer_text", "")),
        {"text": "answer_text"},
        _("The answer is recorded; the appeal is closed."),
    )
