"""Service-task operators of the records office; importing this module registers them all
(and the subject types `document`, `card`, `appeal`).

    <spiffworkflow:serviceTaskOperator id="sign" resultVariable="signature_id">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="file_id" type="str" value="answer_file_id"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>

- `sign`: sign the latest version of the subject's latest file (or `file_id`, `version`)
  with the active key of `by` (default: who completed the task that led here); returns the
  signature id. A user without a key is an incident: keys are issued by their owners.
- `generate_document`: render `template` (an id or a template's name) with the subject's
  values, the task data and `values`; store it as `filename` and attach it to the subject;
  returns the file id.
- `register_document`: register the subject document (or `document_id`) in `journal` (a
  code or an id) with the journal's next number; returns `{number, card_id}`.
- `transfer_to_case`: mark the subject document's card executed and file it into a case
  (`case_index`, the journal's by default); returns the case index.
- `record_resolution`: a manager's resolution on the document's card (executor, deadline,
  control, in work), routing the executor's and the controller's lanes.
- `register_appeal`, `appeal_terms`, `appeal_assign`, `appeal_redirect`, `appeal_extend`,
  `appeal_answer`: the 59-FZ steps of documents/appeals.py on the appeal (`appeal_id`,
  else the subject); each notice to the authors is logged on the appeal.

docs/operators.md describes every parameter.

Each is safe to run again (a retried step, an instance re-run after a conflict): it
returns what the first run made instead of making it twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import date, datetime, time, timedelta
from typing import Any

from mongoengine.errors import NotUniqueError

from engine import operators, subjects
from engine.actor import Actor
from engine.errors import EngineError, ProcessError
from engine.models import utcnow
from engine.operators import Param, WriteBack

from . import appeals, cards, files, journals, office, signatures, templates
from .models import CitizenAppeal, OperatorEffect, RegistrationJournal
from .subjects import APPEAL, CARD, DOCUMENT, PROCEDURE

__all__ = ["APPEAL", "CARD", "DOCUMENT", "configure"]

_SETTINGS: dict[str, str] = {"secret_key": ""}
REGISTRATION_DAYS = 3  # an appeal is registered within 3 days of its receipt (59-FZ art. 8)
ANSWER_TEMPLATE = "appeal_answer"  # the DOCX template the answer is generated from


def configure(secret_key: str) -> None:
    """Give the operators the app's secret (signing keys are encrypted with it)."""
    _SETTINGS["secret_key"] = secret_key


def _fail(name: str, exc: Exception) -> ProcessError:
    return ProcessError(f"{name}: {exc}")


def _subject(call: operators.OperatorCall) -> dict[str, Any] | None:
    """The object acted on: the `subject` parameter ({type, id}), else the instance's."""
    explicit = call.params.get("subject")
    if isinstance(explicit, dict) and explicit.get("type") and explicit.get("id"):
        return {"type": str(explicit["type"]), "id": str(explicit["id"])}
    return call.instance.subject if call.instance else None


def _by(call: operators.OperatorCall) -> str:
    """Who acts: the `by` parameter, else who completed the task that led here, else the
    instance's starter."""
    explicit = call.params.get("by")
    if explicit:
        return str(explicit)
    if call.instance is None:
        raise ProcessError(f"{call.name}: name the user in `by`")
    acting = call.instance.acting_user
    if acting and acting != PROCEDURE.username:
        return acting
    return call.instance.started_by


def _plain(value: Any) -> Any:
    """Task data as JSON values (a DOCX context must not see Python objects)."""
    return json.loads(json.dumps(value, default=str))


def _remember(key: str, result: dict[str, Any]) -> None:
    """Record an effect under its key (a concurrent run that recorded first wins)."""
    with contextlib.suppress(NotUniqueError):
        OperatorEffect(id=key, result=result).save(force_insert=True)


# ------------------------------------------------------------------------------ sign


@operators.register(
    "sign",
    params={
        "by": Param(kind="str", doc="who signs (default: who completed the previous task)"),
        "file_id": Param(kind="str", doc="the file (default: the subject's latest file)"),
        "subject": Param(kind="dict", doc="{type, id} (default: the instance's subject)"),
        "version": Param(kind="int", doc="the file version (default: the latest)"),
    },
)
def sign(call: operators.OperatorCall) -> str:
    """Sign the subject's file (or `file_id`) with `by`'s active key; the signature id."""
    secret = _SETTINGS["secret_key"]
    if not secret:
        raise ProcessError("sign: the application's secret key is not configured")
    signer = _by(call)
    kind, object_id = subjects.of(_subject(call)) if _subject(call) else (None, "")
    file_id = call.params.get("file_id")
    if not file_id:
        if kind is None:
            raise ProcessError("sign: the process has no subject; name the `file_id`")
        found = kind.file_ids(object_id)
        if not found:
            raise ProcessError(f"sign: the {kind.name} has no file to sign")
        file_id = found[-1]
    # The procedure vouches for the signer: the key is theirs, the access check is its own.
    actor = Actor(signer, PROCEDURE.groups, is_admin=True)
    try:
        stored = files.get_file(actor, file_id)
        version = files.version_of(stored, call.params.get("version")).number
        earlier = signatures.existing_signature(stored.id, version, signer)
        if earlier is not None:
            return str(earlier.id)
        document_id = object_id if kind is DOCUMENT else None
        signature = signatures.sign_file(actor, stored.id, secret, version, document_id)
    except EngineError as exc:
        raise _fail("sign", exc) from exc
    return str(signature.id)


# ------------------------------------------------------------------------------ generate


@operators.register(
    "generate_document",
    params={
        "template": Param(kind="str", doc="the template's id or name"),
        "subject": Param(kind="dict", doc="{type, id} (default: the instance's subject)"),
        "template_id": Param(kind="str", doc="the template's id"),
        "filename": Param(kind="str", doc="the file's name (default: the template's)"),
        "values": Param(kind="dict", doc="more values for the template"),
        "by": Param(kind="str", doc="the file's author (default: the acting user)"),
    },
)
def generate_document(call: operators.OperatorCall) -> str:
    """Render a DOCX template with the subject's values and the task data; the file id."""
    params = call.params
    reference = params.get("template") or params.get("template_id")
    if not reference:
        raise ProcessError("generate_document: name the `template` (an id or a name)")
    kind, object_id = subjects.of(_subject(call))
    try:
        template = templates.find_template(str(reference))
        values = kind.values(object_id)
        context: dict[str, Any] = {
            k: v for k, v in _plain(call.data).items() if isinstance(k, str) and k.isidentifier()
        }
        context.update(values)
        context["subject"] = values
        context["data"] = _plain(call.data)
        if isinstance(params.get("values"), dict):
            context.update(_plain(params["values"]))
        filename = str(params.get("filename") or template.name)
        instance = call.instance.instance_id if call.instance else "-"
        # The same instance rendering the same template with the same task data made this
        # file (not the subject's values: attaching the file changes them).
        fingerprint = json.dumps(
            [_plain(call.data), _plain(params.get("values")), filename], sort_keys=True
        )
        key = (
            "generate_document:"
            + hashlib.sha256(
                f"{instance}|{template.id}|{kind.name}|{object_id}|{fingerprint}".encode()
            ).hexdigest()
        )
        done = OperatorEffect.objects(id=key).first()
        if done is not None:
            file_id = str(done.result["file_id"])
            if file_id not in kind.file_ids(object_id):
                kind.attach_file(PROCEDURE, object_id, file_id)
            return file_id
        author = Actor(_by(call), PROCEDURE.groups, is_admin=True)
        stored = templates.generate(author, template.id, context, filename)
        kind.attach_file(PROCEDURE, object_id, str(stored.id))
    except EngineError as exc:
        raise _fail("generate_document", exc) from exc
    _remember(key, {"file_id": str(stored.id)})
    return str(stored.id)


# ------------------------------------------------------------------------------ register


def _journal(reference: Any) -> RegistrationJournal:
    found = journals.find_by_code(str(reference)) if reference else None
    if found is None and reference:
        try:
            found = journals.get_journal(PROCEDURE, reference)
        except EngineError:
            found = None
    if found is None:
        raise ProcessError(f"no registration journal {reference!r}")
    return found


def _document_id(call: operators.OperatorCall) -> str:
    explicit = call.params.get("document_id")
    if explicit:
        return str(explicit)
    kind, object_id = subjects.of(_subject(call))
    if kind is DOCUMENT:
        return object_id
    values = kind.values(object_id)
    if values.get("document_id"):
        return str(values["document_id"])
    raise ProcessError(f"{call.name}: a {kind.name} is not a document; name the `document_id`")


@operators.register(
    "register_document",
    params={
        "journal": Param(kind="str", doc="the journal's code or id"),
        "journal_id": Param(kind="str", doc="the journal's id"),
        "document_id": Param(kind="str", doc="the document (default: the subject)"),
        "resolution": Param(kind="str"),
        "executors": Param(kind="list"),
        "deadline": Param(kind="str", doc="an ISO date"),
        "due_in_working_days": Param(kind="int"),
        "under_control": Param(kind="bool"),
        "controller": Param(kind="str"),
        "correspondent_number": Param(kind="str"),
        "by": Param(kind="str", doc="who registers (default: the acting user)"),
    },
)
def register_document(call: operators.OperatorCall) -> dict[str, Any]:
    """Register the subject document in a journal with its next number; number and card."""
    params = call.params
    document_id = _document_id(call)
    try:
        doc = office.get_document(PROCEDURE, document_id)
        if doc.card_id is not None:  # registered already (by a person, or a run before)
            card = cards.get_card(PROCEDURE, doc.card_id)
            return {"number": card.number, "card_id": str(card.id)}
        journal = _journal(params.get("journal") or params.get("journal_id"))
        due_days = params.get("due_in_working_days")
        card = cards.register_document(
            Actor(_by(call), PROCEDURE.groups, is_admin=True),
            doc.id,
            journal.id,
            resolution=str(params.get("resolution") or ""),
            executors=list(params.get("executors") or []),
            deadline=operators.day_param("register_document", params.get("deadline")),
            due_in_working_days=int(due_days) if due_days else None,
            under_control=bool(params.get("under_control")),
            controller=params.get("controller") or None,
            correspondent_number=str(params.get("correspondent_number") or ""),
            start_procedure=False,  # this is the procedure
        )
    except EngineError as exc:
        raise _fail("register_document", exc) from exc
    return {"number": card.number, "card_id": str(card.id)}


@operators.register(
    "transfer_to_case",
    params={
        "case_index": Param(kind="str", doc="the case (default: the journal's)"),
        "note": Param(kind="str"),
        "document_id": Param(kind="str", doc="the document (default: the subject)"),
        "by": Param(kind="str"),
    },
)
def transfer_to_case(call: operators.OperatorCall) -> str:
    """Mark the document's card executed and file it into a case; the case index."""
    document_id = _document_id(call)
    try:
        card = cards.card_of_document(PROCEDURE, document_id)
        if card.status == "filed":
            return card.case_index
        if card.status != "executed":
            cards.set_status(PROCEDURE, card.id, "executed")
        entry = cards.transfer_to_case(
            Actor(_by(call), PROCEDURE.groups, is_admin=True),
            card.id,
            str(call.params.get("case_index") or ""),
            note=str(call.params.get("note") or ""),
        )
    except EngineError as exc:
        raise _fail("transfer_to_case", exc) from exc
    return str(entry.case_index)


# ------------------------------------------------------------------------------ appeals


def _appeal(call: operators.OperatorCall) -> CitizenAppeal:
    explicit = call.params.get("appeal_id") or call.data.get("appeal_id")
    try:
        if explicit:
            return appeals.get_appeal(PROCEDURE, explicit)
        kind, object_id = subjects.of(_subject(call))
        if kind is APPEAL:
            return appeals.get_appeal(PROCEDURE, object_id)
        if kind in (DOCUMENT, CARD):
            return appeals.appeal_of_document(
                PROCEDURE, kind.values(object_id).get("document_id") or object_id
            )
    except EngineError as exc:
        raise _fail(call.name, exc) from exc
    raise ProcessError(f"{call.name}: the subject is not an appeal; name the `appeal_id`")


def _value(call: operators.OperatorCall, name: str, default: Any = "") -> Any:
    """A parameter, else the task data's field of that name: an optional form field left
    empty is absent from the data, so a diagram cannot pass it as an expression."""
    found = call.params.get(name)
    if found in (None, ""):
        found = call.data.get(name)
    return default if found in (None, "") else found


def _authors(call: operators.OperatorCall) -> list[dict[str, Any]]:
    listed = _value(call, "authors", None)
    if isinstance(listed, list):
        return [dict(a) for a in listed if isinstance(a, dict)]
    name = str(_value(call, "author_name")).strip()
    if not name:
        return []
    return [
        {
            "name": name,
            "postal_address": str(_value(call, "postal_address")),
            "email": str(_value(call, "email")),
        }
    ]


@operators.register(
    "register_appeal",
    params={
        "journal": Param(kind="str", doc="the appeals journal's code or id"),
        "authors": Param(kind="list", doc="[{name, postal_address, email}]"),
        "author_name": Param(kind="str"),
        "postal_address": Param(kind="str"),
        "email": Param(kind="str"),
        "topic": Param(kind="str", doc="default: the task data's"),
        "channel": Param(kind="str", doc="default: the task data's"),
        "summary": Param(kind="str"),
        "received_on": Param(kind="str"),
        "executors": Param(kind="list"),
        "by": Param(kind="str"),
    },
)
def register_appeal(call: operators.OperatorCall) -> WriteBack:
    """Register an appeal from the task's form; its id (also as `appeal_id` in the task
    data), number and deadlines."""
    params = call.params
    instance = call.instance.instance_id if call.instance else "-"
    key = f"register_appeal:{instance}"
    done = OperatorEffect.objects(id=key).first()
    if done is not None:
        return WriteBack(data={"appeal_id": done.result["appeal_id"]}, result=dict(done.result))
    try:
        appeal = appeals.register_appeal(
            Actor(_by(call), PROCEDURE.groups, is_admin=True),
            _journal(_value(call, "journal") or params.get("journal_id")).id,
            _authors(call),
            topic=str(_value(call, "topic")),
            channel=str(_value(call, "channel")),
            summary=str(_value(call, "summary")),
            received_on=operators.day_param("register_appeal", _value(call, "received_on", None)),
            executors=list(_value(call, "executors", [])),
            start_procedure=False,
        )
    except EngineError as exc:
        raise _fail("register_appeal", exc) from exc
    result = {
        "appeal_id": str(appeal.id),
        "number": appeal.number,
        "document_id": str(appeal.document_id),
        "card_id": str(appeal.card_id),
        "deadline": appeal.deadline.isoformat(),
        "redirect_due": appeal.redirect_due.isoformat(),
    }
    _remember(key, result)
    return WriteBack(data={"appeal_id": result["appeal_id"]}, result=result)


def _settled(appeal: CitizenAppeal, status: str) -> bool:
    """Whether a re-run finds its own effect done already."""
    return appeal.status == status


@operators.register(
    "appeal_redirect",
    params={
        "to_organization": Param(kind="str", doc="default: the task data's"),
        "reason": Param(kind="str", doc="default: the task data's redirect_reason"),
        "appeal_id": Param(kind="str"),
        "by": Param(kind="str"),
    },
)
def appeal_redirect(call: operators.OperatorCall) -> dict[str, Any]:
    """Send the appeal to the competent body and log the notice to its authors."""
    appeal = _appeal(call)
    if not _settled(appeal, "redirected"):
        try:
            appeal = appeals.redirect(
                Actor(_by(call), PROCEDURE.groups, is_admin=True),
                appeal.id,
                str(_value(call, "to_organization")),
                str(_value(call, "reason") or _value(call, "redirect_reason")),
            )
        except EngineError as exc:
            raise _fail("appeal_redirect", exc) from exc
    return {
        "status": appeal.status,
        "redirected_to": appeal.redirected_to,
        "notices": len(appeal.notices),
    }


@operators.register(
    "appeal_extend",
    params={
        "days": Param(kind="int", doc="default: the task data's extension_days"),
        "reason": Param(kind="str", doc="default: the task data's extension_reason"),
        "appeal_id": Param(kind="str"),
        "by": Param(kind="str"),
    },
)
def appeal_extend(call: operators.OperatorCall) -> dict[str, Any]:
    """Extend the answer term once and log the notice; the new deadline."""
    appeal = _appeal(call)
    if not appeal.extended_days:
        try:
            appeal = appeals.extend(
                Actor(_by(call), PROCEDURE.groups, is_admin=True),
                appeal.id,
                int(_value(call, "days") or _value(call, "extension_days", 0)),
                str(_value(call, "reason") or _value(call, "extension_reason")),
            )
        except (EngineError, ValueError) as exc:
            raise _fail("appeal_extend", exc) from exc
    return {"deadline": appeal.deadline.isoformat(), "extended_days": appeal.extended_days}


@operators.register(
    "appeal_answer",
    params={
        "text": Param(kind="str", doc="default: the task data's answer_text"),
        "appeal_id": Param(kind="str"),
        "by": Param(kind="str"),
    },
)
def appeal_answer(call: operators.OperatorCall) -> dict[str, Any]:
    """Record the answer sent to the authors (logged as a notice unless anonymous)."""
    appeal = _appeal(call)
    if not _settled(appeal, "answered"):
        try:
            appeal = appeals.answer(
                Actor(_by(call), PROCEDURE.groups, is_admin=True),
                appeal.id,
                str(_value(call, "text") or _value(call, "answer_text")),
            )
        except EngineError as exc:
            raise _fail("appeal_answer", exc) from exc
    return {
        "status": appeal.status,
        "answered_on": appeal.answered_on.isoformat() if appeal.answered_on else None,
    }


def _overrides(call: operators.OperatorCall) -> dict[str, Any]:
    """The task data's `terms`: timer durations a test or a designer sets by hand."""
    found = call.data.get("terms")
    return dict(found) if isinstance(found, dict) else {}


def _duration(delta: timedelta) -> str:
    """A timedelta as an ISO 8601 duration of whole seconds (at least one second)."""
    return f"PT{max(1, int(delta.total_seconds()))}S"


def _until_end_of(day: date, now: datetime) -> str:
    return _duration(datetime.combine(day, time(23, 59, 59)) - now)


@operators.register(
    "appeal_terms",
    params={"appeal_id": Param(kind="str")},
)
def appeal_terms(call: operators.OperatorCall) -> WriteBack:
    """The appeal's clocks as timer durations: registration (3 days), redirect (until the
    7-day date), answer (until the deadline, extended or not). The task data's `terms`
    overrides any of them (tests use seconds); it is written back as `terms`."""
    overrides = _overrides(call)
    now = utcnow()
    terms: dict[str, Any] = {
        "register_in": f"P{REGISTRATION_DAYS}D",
        "registered": False,
        "extended": False,
        "answer_template": ANSWER_TEMPLATE,
    }
    appeal: CitizenAppeal | None = None
    if (
        call.params.get("appeal_id")
        or call.data.get("appeal_id")
        or (_subject(call) and str((_subject(call) or {}).get("type")) == APPEAL.name)
    ):
        appeal = _appeal(call)
    if appeal is not None:
        terms.update(
            registered=True,
            appeal_id=str(appeal.id),
            redirect_in=_until_end_of(appeal.redirect_due, now),
            answer_in=_until_end_of(appeal.deadline, now),
            extended=bool(appeal.extended_days),
            deadline=appeal.deadline.isoformat(),
            number=appeal.number,
        )
    real_answer_in = terms.get("answer_in")
    terms.update({str(k): v for k, v in overrides.items()})
    if terms["extended"]:  # an extension moves the real deadline; tests shorten it apart
        terms["answer_in"] = overrides.get("extended_answer_in") or real_answer_in
    data: dict[str, Any] = {"terms": terms}
    if appeal is not None:
        data["appeal_id"] = str(appeal.id)
    return WriteBack(data=data, result=terms)


@operators.register(
    "record_resolution",
    params={
        "resolution": Param(required=True, kind="str"),
        "executor": Param(required=True, kind="str"),
        "deadline": Param(kind="str", doc="an ISO date"),
        "controller": Param(kind="str", doc="default: the task data's, else who resolved"),
        "document_id": Param(kind="str"),
    },
)
def record_resolution(call: operators.OperatorCall) -> WriteBack:
    """Write a manager's resolution on the document's card (executor, deadline, control),
    put it in work, and route the next tasks: `lane_owners` for the lanes `executor` and
    `controller`, and `execution_due_in`, the time left until the deadline."""
    params = call.params
    executor = str(params.get("executor") or "").strip()
    # An optional form field left empty is absent from the task data: read it leniently.
    controller = str(params.get("controller") or call.data.get("controller") or "").strip()
    controller = controller or _by(call)
    deadline = operators.day_param("record_resolution", params.get("deadline"))
    document_id = _document_id(call)
    try:
        card = cards.card_of_document(PROCEDURE, document_id)
        changes: dict[str, Any] = {
            "resolution": str(params.get("resolution") or ""),
            "executors": [executor],
        }
        if deadline is not None:
            changes["deadline"] = deadline
        cards.update_card(PROCEDURE, card.id, changes)
        card = cards.put_under_control(PROCEDURE, card.id, controller=controller)
        if card.status == "registered":
            card = cards.set_status(PROCEDURE, card.id, "in_work")
    except EngineError as exc:
        raise _fail("record_resolution", exc) from exc
    due_in = _until_end_of(card.deadline, utcnow()) if card.deadline else "P30D"
    due_in = str(_overrides(call).get("execution_due_in") or due_in)
    return WriteBack(
        data={
            "lane_owners": {"executor": [executor], "controller": [controller]},
            "controller": controller,
            "execution_due_in": due_in,
        },
        result={"card_id": str(card.id), "status": card.status, "deadline": _iso(card.deadline)},
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@operators.register(
    "appeal_assign",
    params={
        "executor": Param(kind="str", doc="default: the task data's executor"),
        "appeal_id": Param(kind="str"),
    },
)
def appeal_assign(call: operators.OperatorCall) -> WriteBack:
    """Name the appeal's executor on its card (in work) and route the lane `executor`."""
    appeal = _appeal(call)
    executor = str(_value(call, "executor")).strip()
    if not executor:
        raise ProcessError("appeal_assign: name the executor")
    try:
        card = cards.get_card(PROCEDURE, appeal.card_id)
        cards.update_card(PROCEDURE, card.id, {"executors": [executor]})
        if card.status == "registered":
            cards.set_status(PROCEDURE, card.id, "in_work")
    except EngineError as exc:
        raise _fail("appeal_assign", exc) from exc
    return WriteBack(data={"lane_owners": {"executor": [executor]}}, result=executor)
