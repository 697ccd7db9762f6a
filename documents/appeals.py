"""Citizens' appeals (59-FZ «О порядке рассмотрения обращений граждан РФ»).

Terms, counted in calendar days from the registration date; a term that ends on a day off
moves to the next working day (see `calendar.deadline_after` and docs/records-office.md):
- the answer is due 30 days after registration (art. 12 p. 1);
- an appeal outside our competence is redirected within 7 days, with a notice (art. 8 p. 3);
- the head may extend the term once, by at most 30 days, with a notice (art. 12 p. 2);
- an appeal with no name or no address to answer to gets no answer (art. 11 p. 1).
An appeal by the same author on the same topic as an earlier one is marked repeated.
Every notice sent to the authors is logged on the appeal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from mongoengine.errors import SaveConditionError

from accounts.access import can_write
from engine import autostart
from engine import workcalendar as calendar
from engine.actor import Actor
from engine.models import utcnow

from . import cards, journals, office, repository
from .errors import (
    AppealChanged,
    AppealNotFound,
    AppealStateConflict,
    DocumentsInvalid,
    NotAllowed,
)
from .models import AppealAuthor, AppealNotice, CitizenAppeal, RegistrationCard

ANSWER_DAYS = 30
REDIRECT_DAYS = 7
MAX_EXTENSION_DAYS = 30
CHANNELS = ("post", "email", "web", "personal", "phone")
MAX_AUTHORS = 1000
_SPACES = re.compile(r"\s+")


def _normalize(text: str) -> str:
    return _SPACES.sub(" ", (text or "").strip().lower().replace("ё", "е"))


def author_keys(author: AppealAuthor) -> list[str]:
    """Keys that identify an author for repeated-appeal detection: name with each address."""
    name = _normalize(author.name)
    if not name:
        return []
    keys = [
        f"{name}|{_normalize(address)}"
        for address in (author.postal_address, author.email)
        if _normalize(address)
    ]
    return keys


def _authors(values: Iterable[dict[str, Any]]) -> list[AppealAuthor]:
    authors = []
    errors: dict[str, list[str]] = {}
    for i, value in enumerate(values):
        name = str(value.get("name") or "").strip()
        if not name:
            errors[f"authors.{i}.name"] = ["is required (leave authors empty if anonymous)"]
            continue
        author = AppealAuthor(
            name=name,
            postal_address=str(value.get("postal_address") or ""),
            email=str(value.get("email") or ""),
        )
        author.key = (author_keys(author) or [""])[0]
        authors.append(author)
    if len(authors) > MAX_AUTHORS:
        errors["authors"] = [f"at most {MAX_AUTHORS}"]
    if errors:
        raise DocumentsInvalid("the authors are invalid", errors)
    return authors


def register_appeal(
    actor: Actor,
    journal_id: Any,
    authors: Iterable[dict[str, Any]],
    topic: str,
    channel: str,
    summary: str,
    received_on: date | None = None,
    at: datetime | None = None,
    title: str = "",
    executors: Iterable[str] = (),
    start_procedure: bool = True,
) -> CitizenAppeal:
    """Register an appeal in an appeals journal: document, card, deadlines, repeat check."""
    journal = journals.writable_journal(actor, journal_id)
    errors: dict[str, list[str]] = {}
    if journal.kind != "appeal":
        errors["journal_id"] = ["is not a journal of citizens' appeals"]
    if channel not in CHANNELS:
        errors["channel"] = [f"one of {', '.join(CHANNELS)}"]
    if not topic or len(topic) > 64:
        errors["topic"] = ["a topic code of 1 to 64 characters"]
    if errors:
        raise DocumentsInvalid("the appeal is invalid", errors)
    people = _authors(authors)
    at = at or utcnow()
    registered_on = at.date()
    received_on = received_on or registered_on
    if received_on > registered_on:
        raise DocumentsInvalid(
            "an appeal cannot be received after it is registered",
            {"received_on": ["after the registration date"]},
        )
    form = "anonymous" if not people else "individual" if len(people) == 1 else "collective"
    keys = sorted({key for person in people for key in author_keys(person)})
    # No answer without a name and an address to send it to (59-FZ art. 11 p. 1).
    answer_required = any(author_keys(person) for person in people)
    deadline = calendar.deadline_after(registered_on, ANSWER_DAYS)
    names = ", ".join(p.name for p in people[:3]) + (" и др." if len(people) > 3 else "")
    doc = office.create_document(
        actor,
        "incoming",
        title or f"Обращение: {summary.strip()[:120] or topic}",
        summary=summary,
        correspondent={"name": names or "анонимное обращение"},
        document_date=received_on,
        journal=journal,
        auto_start=False,  # the appeal, not its document, starts its procedure
    )
    card = cards.register_document(
        actor,
        doc.id,
        journal.id,
        at=at,
        kind="appeal",
        summary=summary,
        executors=executors,
        deadline=deadline,
        under_control=True,
        controller=actor.username,
        start_procedure=False,  # an appeal follows citizen_appeal, not document_registration
    )
    earlier = repository.earlier_appeals(keys, topic, None)
    appeal = CitizenAppeal(
        card_id=card.id,
        document_id=doc.id,
        journal_id=journal.id,
        number=card.number,
        received_on=received_on,
        registered_on=registered_on,
        authors=people,
        author_keys=keys,
        form=form,
        topic=topic,
        channel=channel,
        summary=summary,
        answer_required=answer_required,
        redirect_due=calendar.deadline_after(registered_on, REDIRECT_DAYS),
        deadline=deadline,
        original_deadline=deadline,
        repeated_of=[a.id for a in earlier],
        access=card.access,
        created_at=utcnow(),
    )
    appeal.save(force_insert=True)
    if start_procedure:
        subject = {"type": "appeal", "id": str(appeal.id), "title": f"№ {appeal.number}"}
        values = {
            "appeal_id": str(appeal.id),
            "number": appeal.number,
            "form": appeal.form,
            "topic": appeal.topic,
            "channel": appeal.channel,
        }
        autostart.fire("appeal", "created", subject, values, actor)
    return appeal


def get_appeal(actor: Actor, appeal_id: Any) -> CitizenAppeal:
    """An appeal the actor may read."""
    appeal = repository.visible_appeal(actor, appeal_id)
    if appeal is None:
        raise AppealNotFound(f"no appeal {appeal_id}")
    return appeal


def appeal_of_document(actor: Actor, document_id: Any) -> CitizenAppeal:
    """The appeal registered with this document."""
    doc = office.get_document(actor, document_id)
    found = CitizenAppeal.objects(document_id=doc.id).first()
    if found is None:
        raise AppealNotFound(f"document {document_id} is not an appeal")
    return found


def list_appeals(
    actor: Actor,
    status: str = "",
    overdue: bool = False,
    today: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[CitizenAppeal]:
    """Appeals the actor may read (access applied in the query), newest first."""
    overdue_on = (today or utcnow().date()) if overdue else None
    return list(repository.visible_appeals(actor, status, overdue_on).skip(offset).limit(limit))


def _writable(actor: Actor, appeal_id: Any) -> CitizenAppeal:
    appeal = get_appeal(actor, appeal_id)
    cards.writable_card(actor, appeal.card_id)
    if appeal.status != "registered":
        raise AppealStateConflict(f"the appeal is {appeal.status} already")
    return appeal


def _recipients(appeal: CitizenAppeal) -> list[str]:
    return [
        person.email or person.postal_address
        for person in appeal.authors
        if person.email or person.postal_address
    ]


def _notice(actor: Actor, appeal: CitizenAppeal, kind: str, text: str) -> AppealNotice:
    notice = AppealNotice(
        kind=kind, sent_at=utcnow(), sent_by=actor.username, to=_recipients(appeal), text=text
    )
    appeal.notices = [*appeal.notices, notice]
    return notice


def _card_executed(appeal: CitizenAppeal) -> None:
    RegistrationCard.objects(id=appeal.card_id, status__in=["registered", "in_work"]).update_one(
        set__status="executed", set__executed_at=utcnow(), set__updated_at=utcnow()
    )


def _save(appeal: CitizenAppeal, expected_version: int | None) -> None:
    """Write a changed appeal if nobody changed it since it was read (compare-and-set on
    `version`): two clerks acting at once never both succeed, nor lose a notice."""
    current = int(appeal.version or 1)
    if expected_version is not None and expected_version != current:
        raise AppealChanged("the appeal was changed by someone else", {"current_version": current})
    appeal.version = current + 1
    # Appeals stored before versions existed have no field: it reads as 1.
    condition = {"version__in": [current, None]} if current == 1 else {"version": current}
    try:
        appeal.save(save_condition=condition)
    except SaveConditionError as exc:
        stored = CitizenAppeal.objects(id=appeal.id).only("version").first()
        raise AppealChanged(
            "the appeal was changed by someone else",
            {"current_version": int(stored.version or 1) if stored else None},
        ) from exc


def redirect(
    actor: Actor,
    appeal_id: Any,
    to_organization: str,
    reason: str,
    on: date | None = None,
    expected_version: int | None = None,
) -> CitizenAppeal:
    """Send an appeal outside our competence to the competent body, notifying the authors."""
    appeal = _writable(actor, appeal_id)
    if not to_organization.strip():
        raise DocumentsInvalid("name where it goes", {"to_organization": ["is required"]})
    on = on or utcnow().date()
    appeal.status = "redirected"
    appeal.redirected_to = to_organization.strip()
    appeal.redirected_on = on
    late = on > appeal.redirect_due
    _notice(
        actor,
        appeal,
        "redirect",
        f"Обращение № {appeal.number} направлено в {appeal.redirected_to}: {reason}"
        + (" (позже 7 дней)" if late else ""),
    )
    _save(appeal, expected_version)
    _card_executed(appeal)
    return appeal


def extend(
    actor: Actor,
    appeal_id: Any,
    days: int,
    reason: str,
    on: date | None = None,
    expected_version: int | None = None,
) -> CitizenAppeal:
    """Extend the answer term once, by at most 30 days, before it runs out; notify authors."""
    appeal = _writable(actor, appeal_id)
    on = on or utcnow().date()
    errors: dict[str, list[str]] = {}
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        errors["days"] = [f"1 to {MAX_EXTENSION_DAYS}"]
    if not reason.strip():
        errors["reason"] = ["is required"]
    if errors:
        raise DocumentsInvalid("the extension is invalid", errors)
    if appeal.extended_days:
        raise AppealStateConflict("the term was extended already (59-FZ allows it once)")
    if on > appeal.deadline:
        raise AppealStateConflict("the term has run out; it can no longer be extended")
    appeal.extended_days = days
    appeal.extension_reason = reason
    appeal.deadline = calendar.deadline_after(appeal.original_deadline, days)
    _notice(
        actor,
        appeal,
        "extension",
        f"Срок рассмотрения обращения № {appeal.number} продлён до "
        f"{appeal.deadline:%d.%m.%Y}: {reason}",
    )
    _save(appeal, expected_version)
    RegistrationCard.objects(id=appeal.card_id).update_one(
        set__deadline=appeal.deadline, set__updated_at=utcnow()
    )
    return appeal


def answer(
    actor: Actor,
    appeal_id: Any,
    text: str,
    on: date | None = None,
    expected_version: int | None = None,
) -> CitizenAppeal:
    """Record the answer (sent to the authors, unless the appeal is anonymous)."""
    appeal = _writable(actor, appeal_id)
    if not text.strip():
        raise DocumentsInvalid("the answer is empty", {"text": ["is required"]})
    appeal.status = "answered"
    appeal.answered_on = on or utcnow().date()
    if appeal.answer_required:
        _notice(actor, appeal, "answer", text)
    _save(appeal, expected_version)
    _card_executed(appeal)
    return appeal


def send_notice(
    actor: Actor, appeal_id: Any, kind: str, text: str, expected_version: int | None = None
) -> CitizenAppeal:
    """Log any other notice to the authors (e.g. that the correspondence is stopped)."""
    appeal = get_appeal(actor, appeal_id)
    if not can_write(actor, appeal.access):
        raise NotAllowed("you may read this appeal but not change it")
    if not kind or not text.strip():
        raise DocumentsInvalid(
            "a notice needs a kind and a text", {"kind": ["is required"], "text": ["is required"]}
        )
    _notice(actor, appeal, kind, text)
    _save(appeal, expected_version)
    return appeal


def is_overdue(appeal: CitizenAppeal, today: date | None = None) -> bool:
    """Whether the answer is late."""
    return appeal.status == "registered" and (today or utcnow().date()) > appeal.deadline
