"""Registration journals: one per document type, with a number template and an access list."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from mongoengine.errors import NotUniqueError

from accounts.access import can_read, can_write, make_access, read_q
from engine.actor import Actor
from engine.models import utcnow

from . import numbering, repository
from .errors import DocumentsInvalid, JournalExists, JournalNotFound, NotAllowed
from .models import JOURNAL_KINDS, NumberReservation, RegistrationJournal


def create_journal(
    actor: Actor,
    code: str,
    name: str,
    kind: str,
    number_template: str,
    department: str = "",
    case_index: str = "",
    read: Iterable[str] = ("*",),
    write: Iterable[str] = (),
) -> RegistrationJournal:
    """Create a journal; its writers register documents in it (the creator is one)."""
    errors: dict[str, list[str]] = {}
    if not code or len(code) > 32 or any(ch in code for ch in "{}"):
        errors["code"] = ["1 to 32 characters, no braces"]
    if not name:
        errors["name"] = ["is required"]
    if kind not in JOURNAL_KINDS:
        errors["kind"] = [f"one of {', '.join(JOURNAL_KINDS)}"]
    if errors:
        raise DocumentsInvalid("the journal is invalid", errors)
    numbering.parse_template(number_template)
    journal = RegistrationJournal(
        code=code,
        name=name,
        kind=kind,
        number_template=number_template,
        department=department,
        case_index=case_index,
        access=make_access(read=read, write=[actor.username, *write]),
        created_by=actor.username,
        created_at=utcnow(),
    )
    try:
        journal.save(force_insert=True)
    except NotUniqueError as exc:
        raise JournalExists(f"a journal with index {code} exists", {"code": ["taken"]}) from exc
    return journal


def get_journal(actor: Actor, journal_id: Any) -> RegistrationJournal:
    """A journal the actor may read."""
    oid = repository.object_id(journal_id)
    journal = RegistrationJournal.objects(id=oid).first() if oid else None
    if journal is None or not can_read(actor, journal.access):
        raise JournalNotFound(f"no journal {journal_id}")
    return journal


def find_by_code(code: str) -> RegistrationJournal | None:
    """A journal by its index, regardless of access (demo and procedures use it)."""
    return RegistrationJournal.objects(code=code).first()


def list_journals(actor: Actor, kind: str = "") -> list[RegistrationJournal]:
    """Journals the actor may read, by index."""
    query = read_q(actor)
    if kind:
        return list(RegistrationJournal.objects(query, kind=kind).order_by("code"))
    return list(RegistrationJournal.objects(query).order_by("code"))


def writable_journal(actor: Actor, journal_id: Any) -> RegistrationJournal:
    """A journal the actor may register documents in."""
    journal = get_journal(actor, journal_id)
    if not can_write(actor, journal.access):
        raise NotAllowed(f"you may not register documents in journal {journal.code}")
    if not journal.active:
        raise NotAllowed(f"journal {journal.code} is closed")
    return journal


def update_journal(
    actor: Actor,
    journal_id: Any,
    name: str | None = None,
    number_template: str | None = None,
    department: str | None = None,
    case_index: str | None = None,
    active: bool | None = None,
) -> RegistrationJournal:
    """Change a journal's requisites; numbers given already keep their text."""
    journal = (
        writable_journal(actor, journal_id)
        if active is not False
        else get_journal(actor, journal_id)
    )
    if not can_write(actor, journal.access):
        raise NotAllowed("you may not change this journal")
    if name is not None and not name.strip():
        raise DocumentsInvalid("the journal needs a name", {"name": ["is required"]})
    if number_template is not None:
        numbering.parse_template(number_template)
        journal.number_template = number_template
    for field, value in (
        ("name", name),
        ("department", department),
        ("case_index", case_index),
        ("active", active),
    ):
        if value is not None:
            setattr(journal, field, value)
    journal.save()
    return journal


def preview_number(
    actor: Actor,
    number_template: str,
    code: str = "",
    department: str = "",
    case_index: str = "",
    journal_id: Any = None,
    on: date | None = None,
) -> str:
    """The number the next registration would get with these requisites (nothing is taken);
    NumberTemplateInvalid names the position of each error."""
    template = numbering.parse_template(number_template)
    on = on or utcnow().date()
    seq = 1
    if journal_id:
        journal = get_journal(actor, journal_id)
        seq = repository.current_seq(journal.id, on.year) + 1
    return template.format(seq, on, journal=code, dept=department, case=case_index)


def set_access(
    actor: Actor, journal_id: Any, read: Iterable[str], write: Iterable[str]
) -> RegistrationJournal:
    """Replace a journal's access list; its unrestricted documents follow it."""
    journal = get_journal(actor, journal_id)
    if not can_write(actor, journal.access):
        raise NotAllowed("you may not change this journal's access")
    journal.access = make_access(read=read, write=write)
    journal.save()
    repository.set_access_of_journal_documents(journal.id, journal.access.to_mongo().to_dict())
    return journal


def reserve_number(
    actor: Actor, journal_id: Any, on: date | None = None, corr: str = ""
) -> NumberReservation:
    """Reserve the next number (e.g. for an outgoing letter before it is signed)."""
    journal = writable_journal(actor, journal_id)
    return numbering.reserve(actor, journal, on or utcnow().date(), corr=corr)


def cancel_reservation(actor: Actor, reservation_id: Any, reason: str) -> NumberReservation:
    """Cancel an unused reserved number; it stays logged as cancelled."""
    reservation = numbering.get_reservation(reservation_id)
    writable_journal(actor, reservation.journal_id)
    if not reason.strip():
        raise DocumentsInvalid("say why the number is cancelled", {"reason": ["is required"]})
    return numbering.cancel(actor, reservation, reason)


def number_log(actor: Actor, journal_id: Any, year: int) -> list[NumberReservation]:
    """Every number taken in the journal in `year`: reserved, used or cancelled."""
    journal = get_journal(actor, journal_id)
    return numbering.log(journal.id, year)


def repair_number_log(journal_id: Any, year: int) -> list[int]:
    """Log numbers a crash took from the counter but never logged, as cancelled."""
    journal = RegistrationJournal.objects(id=repository.object_id(journal_id)).first()
    if journal is None:
        raise JournalNotFound(f"no journal {journal_id}")
    missing = numbering.gaps(journal.id, year)
    for seq in missing:
        NumberReservation(
            journal_id=journal.id,
            year=year,
            seq=seq,
            number=numbering.format_for(journal, seq, date(year, 1, 1)),
            status="cancelled",
            reserved_by="system",
            cancelled_by="system",
            cancelled_at=utcnow(),
            reason="lost in an interrupted registration",
        ).save(force_insert=True)
    return missing
