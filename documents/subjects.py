"""The records office's subject types: what operators may do to a document, card or appeal.

Every change goes through the services of this package (office, cards, appeals), acting
on the system's authority: the procedure was deployed by a designer and decides who acts.
A document's stage is its registration card's status; an appeal's files and access are
its document's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine import subjects
from engine.actor import SYSTEM, Actor
from engine.errors import ProcessError

from . import appeals, cards, office
from .models import CitizenAppeal, OfficeDocument, RegistrationCard

PROCEDURE = Actor(SYSTEM.username, SYSTEM.groups, is_admin=True)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _document(object_id: str) -> OfficeDocument:
    return office.get_document(PROCEDURE, object_id)


def _card_of(doc: OfficeDocument) -> RegistrationCard | None:
    return cards.get_card(PROCEDURE, doc.card_id) if doc.card_id else None


def _access_change(
    access: Any, principals: list[str], level: str, add: bool
) -> tuple[list[str], list[str]]:
    """The (read, write) lists after adding or removing principals at `level`."""
    if level not in subjects.ACCESS_LEVELS:
        raise ProcessError(f"access level {level!r} is not one of read, write")
    read, write = list(access.read), list(access.write)
    # Writers may read; who may no longer read may no longer write either.
    lists = {
        (True, "read"): [read],
        (True, "write"): [read, write],
        (False, "read"): [read, write],
        (False, "write"): [write],
    }[(add, level)]
    for target in lists:
        for principal in principals:
            if add and principal not in target:
                target.append(principal)
            if not add and principal in target:
                target.remove(principal)
    return read, write


class DocumentSubject(subjects.SubjectType):
    """An office document; its stage is its registration card's status."""

    name = "document"

    def values(self, object_id: str) -> dict[str, Any]:
        doc = _document(object_id)
        card = _card_of(doc)
        found: dict[str, Any] = {
            "id": str(doc.id),
            "author": doc.author,
            "status": card.status if card else "draft",
            "card_id": str(card.id) if card else None,
            "journal_id": str(doc.journal_id) if doc.journal_id else None,
            "restriction": doc.restriction,
            "file_ids": [str(link.file_id) for link in doc.files],
        }
        found.update(cards_context(doc, card))
        return found

    def set_fields(self, actor: Actor, object_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        office.update_document(PROCEDURE, object_id, dict(fields))
        return self.values(object_id)

    def set_stage(self, actor: Actor, object_id: str, stage: str) -> str:
        doc = _document(object_id)
        if doc.card_id is None:
            raise ProcessError("the document is not registered: it has no stage yet")
        card = cards.get_card(PROCEDURE, doc.card_id)
        if card.status != stage:
            cards.set_status(PROCEDURE, card.id, stage)
        return stage

    def grant_access(
        self, actor: Actor, object_id: str, principals: list[str], level: str
    ) -> list[str]:
        return self._change_access(object_id, principals, level, add=True)

    def revoke_access(
        self, actor: Actor, object_id: str, principals: list[str], level: str
    ) -> list[str]:
        return self._change_access(object_id, principals, level, add=False)

    def _change_access(
        self, object_id: str, principals: list[str], level: str, add: bool
    ) -> list[str]:
        doc = _document(object_id)
        read, write = _access_change(doc.access, principals, level, add)
        # A document with its own access list is a restricted one (office.set_restriction).
        changed = office.set_restriction(
            PROCEDURE, doc.id, True, doc.restriction, read=read, write=write
        )
        return list(changed.access.write if level == "write" else changed.access.read)

    def attach_file(self, actor: Actor, object_id: str, file_id: str) -> None:
        office.attach_file(PROCEDURE, object_id, file_id)

    def file_ids(self, object_id: str) -> list[str]:
        return [str(link.file_id) for link in _document(object_id).files]


def cards_context(doc: OfficeDocument, card: RegistrationCard | None) -> dict[str, Any]:
    """A document's requisites with its card's, as plain values."""
    found: dict[str, Any] = {
        "title": doc.title,
        "summary": doc.summary,
        "kind": doc.kind,
        "document_date": _plain(doc.document_date),
        "number": card.number if card else doc.reg_number,
        "registered_on": _plain(card.registered_on) if card else None,
        "correspondent": doc.correspondent.name if doc.correspondent else "",
        "addressee": doc.addressee.name if doc.addressee else "",
        "pages": doc.pages,
    }
    if card is not None:
        found.update(
            resolution=card.resolution,
            executors=list(card.executors),
            deadline=_plain(card.deadline),
            under_control=card.under_control,
            controller=card.controller,
        )
    return found


class CardSubject(subjects.SubjectType):
    """A registration card; its stage is its status (registered → in_work → executed)."""

    name = "card"

    def values(self, object_id: str) -> dict[str, Any]:
        card = cards.get_card(PROCEDURE, object_id)
        doc = office.get_document(PROCEDURE, card.document_id)
        found = {
            "id": str(card.id),
            "document_id": str(doc.id),
            "status": card.status,
            "journal_id": str(card.journal_id),
        }
        found.update(cards_context(doc, card))
        return found

    def set_fields(self, actor: Actor, object_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        cards.update_card(PROCEDURE, object_id, dict(fields))
        return self.values(object_id)

    def set_stage(self, actor: Actor, object_id: str, stage: str) -> str:
        card = cards.get_card(PROCEDURE, object_id)
        if card.status != stage:
            cards.set_status(PROCEDURE, card.id, stage)
        return stage

    def attach_file(self, actor: Actor, object_id: str, file_id: str) -> None:
        card = cards.get_card(PROCEDURE, object_id)
        office.attach_file(PROCEDURE, card.document_id, file_id)

    def file_ids(self, object_id: str) -> list[str]:
        card = cards.get_card(PROCEDURE, object_id)
        return DOCUMENT.file_ids(str(card.document_id))


class AppealSubject(subjects.SubjectType):
    """A citizen's appeal; its status moves only by redirect or answer (their operators)."""

    name = "appeal"

    def values(self, object_id: str) -> dict[str, Any]:
        appeal = appeals.get_appeal(PROCEDURE, object_id)
        return appeal_values(appeal)

    def set_stage(self, actor: Actor, object_id: str, stage: str) -> str:
        appeal = appeals.get_appeal(PROCEDURE, object_id)
        if appeal.status != stage:
            raise ProcessError(
                f"an appeal becomes {stage!r} only through its operators "
                "(appeal_redirect, appeal_answer)"
            )
        return stage

    def attach_file(self, actor: Actor, object_id: str, file_id: str) -> None:
        appeal = appeals.get_appeal(PROCEDURE, object_id)
        office.attach_file(PROCEDURE, appeal.document_id, file_id)

    def file_ids(self, object_id: str) -> list[str]:
        appeal = appeals.get_appeal(PROCEDURE, object_id)
        return DOCUMENT.file_ids(str(appeal.document_id))


def appeal_values(appeal: CitizenAppeal) -> dict[str, Any]:
    """An appeal's fields as plain values (templates, expressions)."""
    return {
        "id": str(appeal.id),
        "number": appeal.number,
        "status": appeal.status,
        "document_id": str(appeal.document_id),
        "card_id": str(appeal.card_id),
        "topic": appeal.topic,
        "channel": appeal.channel,
        "summary": appeal.summary,
        "form": appeal.form,
        "authors": [a.name for a in appeal.authors],
        "answer_required": appeal.answer_required,
        "received_on": _plain(appeal.received_on),
        "registered_on": _plain(appeal.registered_on),
        "redirect_due": _plain(appeal.redirect_due),
        "deadline": _plain(appeal.deadline),
        "extended_days": appeal.extended_days,
        "redirected_to": appeal.redirected_to,
        "answered_on": _plain(appeal.answered_on),
        "notices": [n.kind for n in appeal.notices],
    }


DOCUMENT = subjects.register(DocumentSubject())
CARD = subjects.register(CardSubject())
APPEAL = subjects.register(AppealSubject())
