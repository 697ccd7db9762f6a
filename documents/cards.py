"""Registration cards (РКК): registering documents, execution control, acquaintance, filing."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from mongoengine.errors import NotUniqueError

from accounts.access import can_write
from engine import autostart, instances
from engine import workcalendar as calendar
from engine.actor import Actor
from engine.errors import DefinitionNotFound, EngineError
from engine.models import utcnow

from . import journals, nomenclature, numbering, office, repository
from .errors import (
    AlreadyRegistered,
    CardChanged,
    CardNotFound,
    CardStateConflict,
    DocumentsInvalid,
    NotAllowed,
    ProcedureNotDeployed,
    ReservationNotOpen,
)
from .models import (
    AcquaintanceLog,
    NumberReservation,
    OfficeDocument,
    OrganizationRef,
    RegistrationCard,
    RegistrationJournal,
    TransferLog,
)

log = logging.getLogger(__name__)

REGISTRATION_PROCESS = "document_registration"
EXECUTION_PROCESS = "document_execution"
EXECUTOR_LANE = "executor"
# Status steps by hand; "filed" is reached only by a transfer to a case file.
NEXT_STATUS = {
    "registered": ("in_work", "executed"),
    "in_work": ("executed",),
    "executed": ("in_work",),
    "filed": (),
}
EDITABLE = (
    "summary",
    "resolution",
    "executors",
    "deadline",
    "correspondent_number",
    "correspondent_date",
    "under_control",
)
MAX_TEXT = 4000


def _kind_fits(journal: RegistrationJournal, doc: OfficeDocument) -> bool:
    return journal.kind == doc.kind or (journal.kind == "appeal" and doc.kind == "incoming")


def register_document(
    actor: Actor,
    document_id: Any,
    journal_id: Any,
    *,
    reservation_id: Any = None,
    at: datetime | None = None,
    correspondent_number: str = "",
    correspondent_date: date | None = None,
    summary: str | None = None,
    resolution: str = "",
    executors: Iterable[str] = (),
    deadline: date | None = None,
    due_in_working_days: int | None = None,
    under_control: bool = False,
    controller: str | None = None,
    kind: str = "document",
    start_procedure: bool = True,
) -> RegistrationCard:
    """Give a document the journal's next number (or a reserved one) and open its card."""
    journal = journals.writable_journal(actor, journal_id)
    doc = office.get_document(actor, document_id)
    if doc.card_id is not None:
        raise AlreadyRegistered(f"the document is registered as {doc.reg_number}")
    if not _kind_fits(journal, doc):
        raise DocumentsInvalid(
            f"journal {journal.code} registers {journal.kind} documents",
            {"journal_id": [f"does not take {doc.kind} documents"]},
        )
    at = at or utcnow()
    on = at.date()
    if due_in_working_days is not None:
        if due_in_working_days < 1:
            raise DocumentsInvalid(
                "the term is at least one working day", {"due_in_working_days": ["at least 1"]}
            )
        deadline = calendar.add_working_days(on, due_in_working_days)
    if under_control and not controller:
        controller = actor.username
    reservation = _reservation(actor, journal, reservation_id, on, correspondent_number)
    office.follow_journal(doc, journal)
    card = RegistrationCard(
        kind=kind,
        journal_id=journal.id,
        year=reservation.year,
        seq=reservation.seq,
        number=reservation.number,
        registered_at=at,
        registered_on=on,
        registered_by=actor.username,
        document_id=doc.id,
        title=doc.title,
        correspondent=doc.correspondent or OrganizationRef(),
        correspondent_number=correspondent_number,
        correspondent_date=correspondent_date,
        summary=doc.summary if summary is None else summary,
        resolution=resolution,
        executors=list(dict.fromkeys(executors)),
        deadline=deadline,
        under_control=under_control,
        controller=controller,
        access=doc.access,
        updated_at=at,
    )
    try:
        card.save(force_insert=True)
    except NotUniqueError as exc:
        numbering.cancel(actor, reservation, "the document was registered meanwhile")
        raise AlreadyRegistered("the document was registered by someone else meanwhile") from exc
    except Exception as exc:
        numbering.cancel(actor, reservation, f"registration failed: {type(exc).__name__}")
        raise
    numbering.mark_used(reservation, card.id)
    doc.card_id = card.id
    doc.reg_number = card.number
    doc.updated_at = at
    doc.save()
    if start_procedure:
        _start_registration_procedure(actor, card, doc)
    return card


def _reservation(
    actor: Actor, journal: RegistrationJournal, reservation_id: Any, on: date, corr: str
) -> NumberReservation:
    if reservation_id is None:
        return numbering.reserve(actor, journal, on, corr=corr)
    reservation = numbering.get_reservation(reservation_id)
    if reservation.journal_id != journal.id or reservation.status != "reserved":
        raise ReservationNotOpen(f"number {reservation.number} is not open in this journal")
    return reservation


def _subject(card: RegistrationCard, doc: OfficeDocument) -> dict[str, str]:
    return {"type": "document", "id": str(doc.id), "title": f"№ {card.number} {doc.title}"[:200]}


def _start_registration_procedure(
    actor: Actor, card: RegistrationCard, doc: OfficeDocument
) -> None:
    variables = {
        "card_id": str(card.id),
        "document_id": str(doc.id),
        "number": card.number,
        "journal_id": str(card.journal_id),
        "kind": doc.kind,
    }
    # Created documents may have started it already (its auto-start rule): one is enough.
    running = autostart.started_for("document", str(doc.id), "created", REGISTRATION_PROCESS)
    if running is not None:
        card.update(set__process_instance_id=running)
        card.process_instance_id = running
        return
    try:
        started = instances.start(
            REGISTRATION_PROCESS, actor, variables, subject=_subject(card, doc)
        )
    except DefinitionNotFound:
        return
    except EngineError:
        # The document is registered either way; the procedure's failure is its incident.
        log.exception("document_registration did not start for card %s", card.id)
        return
    card.update(set__process_instance_id=str(started["_id"]))
    card.process_instance_id = str(started["_id"])


def get_card(actor: Actor, card_id: Any) -> RegistrationCard:
    """A card the actor may read (it follows its document's access)."""
    card = repository.visible_card(actor, card_id)
    if card is None:
        raise CardNotFound(f"no card {card_id}")
    return card


def card_of_document(actor: Actor, document_id: Any) -> RegistrationCard:
    """The card of a document the actor may read."""
    doc = office.get_document(actor, document_id)
    if doc.card_id is None:
        raise CardNotFound("the document is not registered")
    return get_card(actor, doc.card_id)


def writable_card(actor: Actor, card_id: Any) -> RegistrationCard:
    """A card the actor may change."""
    card = get_card(actor, card_id)
    if not can_write(actor, card.access):
        raise NotAllowed("you may read this card but not change it")
    return card


def list_cards(
    actor: Actor,
    journal_id: Any = None,
    status: str = "",
    executor: str = "",
    under_control: bool | None = None,
    overdue: bool = False,
    kind: str = "",
    limit: int = 50,
    offset: int = 0,
    today: date | None = None,
) -> list[RegistrationCard]:
    """Cards the actor may read, with filters applied in the query, newest first."""
    journal_oid = repository.object_id(journal_id) if journal_id else None
    if journal_id and journal_oid is None:
        return []
    overdue_on = (today or utcnow().date()) if overdue else None
    found = repository.visible_cards(
        actor, journal_oid, status, executor, under_control, overdue_on, kind
    )
    return list(found.skip(offset).limit(limit))


def update_card(
    actor: Actor,
    card_id: Any,
    changes: dict[str, Any],
    expected_updated_at: datetime | None = None,
) -> RegistrationCard:
    """Change a card's editable fields; with `expected_updated_at`, only if nobody changed it
    since (compare-and-set on `updated_at`, else CardChanged)."""
    card = writable_card(actor, card_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise DocumentsInvalid(
            "these fields cannot be changed", {k: ["cannot be changed"] for k in sorted(unknown)}
        )
    errors = {
        key: [f"must be at most {MAX_TEXT} characters"]
        for key in ("summary", "resolution")
        if len(str(changes.get(key) or "")) > MAX_TEXT
    }
    controlled = changes.get("under_control", card.under_control)
    if controlled and not changes.get("deadline", card.deadline):
        errors["deadline"] = ["is required for a card under control"]
    if errors:
        raise DocumentsInvalid("the card is invalid", errors)
    values = {
        key: list(dict.fromkeys(value)) if key == "executors" else value
        for key, value in changes.items()
    }
    if "under_control" in values:
        values["controller"] = (card.controller or actor.username) if controlled else None
    now = utcnow()
    step = timedelta(milliseconds=1)  # the database keeps milliseconds: the token must move
    if expected_updated_at is not None and now < expected_updated_at + step:
        now = expected_updated_at + step
    query: dict[str, Any] = {"id": card.id}
    if expected_updated_at is not None:
        query["updated_at"] = expected_updated_at
    update = {f"set__{key}": value for key, value in values.items()}
    if not RegistrationCard.objects(**query).update_one(**update, set__updated_at=now):
        stored = RegistrationCard.objects(id=card.id).only("updated_at").first()
        raise CardChanged(
            "the card was changed by someone else since you opened it",
            {
                "updated_at": ["changed meanwhile"],
                "current_version": office.version_of(stored.updated_at) if stored else None,
            },
        )
    card.reload()
    return card


def put_under_control(
    actor: Actor,
    card_id: Any,
    controller: str | None = None,
    deadline: date | None = None,
    on: bool = True,
) -> RegistrationCard:
    """Mark a card's execution as controlled (or not), with controller and deadline."""
    card = writable_card(actor, card_id)
    if on and not (deadline or card.deadline):
        raise DocumentsInvalid("a controlled card needs a deadline", {"deadline": ["required"]})
    card.under_control = on
    card.controller = (controller or card.controller or actor.username) if on else None
    if deadline:
        card.deadline = deadline
    card.updated_at = utcnow()
    card.save()
    return card


def set_status(actor: Actor, card_id: Any, status: str) -> RegistrationCard:
    """Move a card to the next status (registered → in_work → executed)."""
    card = writable_card(actor, card_id)
    if status not in NEXT_STATUS.get(card.status, ()):
        raise CardStateConflict(
            f"a card that is {card.status} cannot become {status}",
            {"status": [f"allowed: {', '.join(NEXT_STATUS[card.status])}"]},
        )
    card.status = status
    card.executed_at = utcnow() if status == "executed" else None
    card.updated_at = utcnow()
    card.save()
    doc = OfficeDocument.objects(id=card.document_id).first()
    if doc is not None:  # a document's stage is its card's status
        values = {**office.event_values(doc), "card_id": str(card.id), "status": status}
        autostart.fire("document", "stage", office.subject_of(doc), values, actor, stage=status)
    return card


def link_documents(actor: Actor, card_id: Any, document_ids: Iterable[Any]) -> RegistrationCard:
    """Link documents the actor may read to a card (the card's "Documents" tab)."""
    card = writable_card(actor, card_id)
    ids = [office.get_document(actor, d).id for d in document_ids]
    card.linked_document_ids = list(dict.fromkeys([*card.linked_document_ids, *ids]))
    card.updated_at = utcnow()
    card.save()
    return card


def linked_documents(actor: Actor, card_id: Any) -> list[OfficeDocument]:
    """The card's document and its linked documents that the actor may read."""
    card = get_card(actor, card_id)
    ids = [card.document_id, *card.linked_document_ids]
    return list(repository.visible_documents(actor).filter(id__in=ids))


def acquaint(
    actor: Actor, card_id: Any, person: str, at: datetime | None = None, note: str = ""
) -> AcquaintanceLog:
    """Log that `person` read the (paper) document."""
    card = writable_card(actor, card_id)
    if not person.strip():
        raise DocumentsInvalid("who read it?", {"person": ["is required"]})
    entry = AcquaintanceLog(
        card_id=card.id,
        document_id=card.document_id,
        person=person.strip(),
        acquainted_at=at or utcnow(),
        recorded_by=actor.username,
        note=note,
    )
    entry.save(force_insert=True)
    return entry


def acquaintances(actor: Actor, card_id: Any) -> list[AcquaintanceLog]:
    """The acquaintance log of a card, oldest first."""
    card = get_card(actor, card_id)
    return list(AcquaintanceLog.objects(card_id=card.id).order_by("acquainted_at"))


def transfer_to_case(
    actor: Actor, card_id: Any, case_index: str = "", note: str = "", at: datetime | None = None
) -> TransferLog:
    """File an executed document into a case of the nomenclature in force; log the transfer."""
    card = writable_card(actor, card_id)
    if card.status != "executed":
        raise CardStateConflict(
            "only an executed document is filed into a case", {"status": [card.status]}
        )
    at = at or utcnow()
    index = case_index or _journal_case_index(card)
    if not index:
        raise DocumentsInvalid("name the case index", {"case_index": ["is required"]})
    case = nomenclature.find_case(at.year, index)
    if not RegistrationCard.objects(id=card.id, status="executed").update_one(
        set__status="filed",
        set__case_file_id=case.id,
        set__case_index=case.index,
        set__updated_at=at,
    ):
        raise CardStateConflict("the card was changed meanwhile")
    try:
        nomenclature.file_into(case, at.date())
    except Exception:
        RegistrationCard.objects(id=card.id).update_one(
            set__status="executed", unset__case_file_id=True, set__case_index=""
        )
        raise
    entry = TransferLog(
        card_id=card.id,
        document_id=card.document_id,
        case_file_id=case.id,
        case_index=case.index,
        transferred_at=at,
        transferred_by=actor.username,
        note=note,
    )
    entry.save(force_insert=True)
    return entry


def hand_over(
    actor: Actor, card_id: Any, to_person: str, reason: str, at: datetime | None = None
) -> TransferLog:
    """Log that the (paper) document was handed to `to_person`, and why."""
    card = writable_card(actor, card_id)
    errors: dict[str, list[str]] = {}
    if not to_person.strip():
        errors["to_person"] = ["is required"]
    if not reason.strip():
        errors["reason"] = ["is required"]
    if errors:
        raise DocumentsInvalid("the hand-over is invalid", errors)
    if card.status == "filed":
        raise CardStateConflict("the document is filed in a case already")
    entry = TransferLog(
        card_id=card.id,
        document_id=card.document_id,
        kind="handover",
        to_person=to_person.strip(),
        transferred_at=at or utcnow(),
        transferred_by=actor.username,
        note=reason.strip(),
    )
    entry.save(force_insert=True)
    return entry


def _journal_case_index(card: RegistrationCard) -> str:
    journal = RegistrationJournal.objects(id=card.journal_id).only("case_index").first()
    return journal.case_index if journal else ""


def transfers(actor: Actor, card_id: Any) -> list[TransferLog]:
    """The transfer log of a card."""
    card = get_card(actor, card_id)
    return list(TransferLog.objects(card_id=card.id).order_by("transferred_at"))


def send_to_executor(
    actor: Actor, card_id: Any, executor: str, text: str = "", due: date | None = None
) -> RegistrationCard:
    """Send the document to an executor as an assignment (the document_execution procedure)."""
    card = writable_card(actor, card_id)
    if card.status == "filed":
        raise CardStateConflict("the document is filed already")
    if not executor.strip():
        raise DocumentsInvalid("name the executor", {"executor": ["is required"]})
    due = due or card.deadline
    doc = OfficeDocument.objects(id=card.document_id).first()
    variables = {
        "card_id": str(card.id),
        "document_id": str(card.document_id),
        "number": card.number,
        "instruction": text or card.resolution,
        "due": due.isoformat() if due else None,
        "lane_owners": {EXECUTOR_LANE: [executor]},
    }
    try:
        started = instances.start(
            EXECUTION_PROCESS, actor, variables, subject=_subject(card, doc) if doc else None
        )
    except DefinitionNotFound as exc:
        raise ProcedureNotDeployed(f"the {EXECUTION_PROCESS} procedure is not deployed") from exc
    now = utcnow()
    RegistrationCard.objects(id=card.id).update_one(
        add_to_set__executors=executor,
        push__assignments={
            "executor": executor,
            "instance_id": str(started["_id"]),
            "at": now,
            "by": actor.username,
            "due": due.isoformat() if due else None,
        },
        set__status="in_work" if card.status == "registered" else card.status,
        set__updated_at=now,
    )
    card.reload()
    return card


def overdue_cards(actor: Actor, today: date | None = None) -> list[RegistrationCard]:
    """Cards under control whose deadline passed and that are not executed."""
    return list_cards(actor, under_control=True, overdue=True, today=today, limit=500)


def due_soon(actor: Actor, days: int = 3, today: date | None = None) -> list[RegistrationCard]:
    """Cards in work whose deadline falls within `days` working days."""
    today = today or utcnow().date()
    until = calendar.add_working_days(today, days)
    found = repository.visible_cards(actor).filter(
        deadline__gte=today, deadline__lte=until, status__in=["registered", "in_work"]
    )
    return list(found.limit(500))
