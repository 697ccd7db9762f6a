"""Access: a document follows its journal's list unless restricted; a restricted document is
invisible (list and direct fetch) to anyone outside its own list, and so are its card and
files."""

from __future__ import annotations

import pytest

from documents import cards, files, journals, office
from documents.errors import CardNotFound, DocumentNotFound, FileNotFound, NotAllowed
from engine.actor import Actor

from .documents_helpers import ADMIN, CLERK, OUTSIDER, document, journal, stream

DIRECTOR = Actor("director", frozenset({"management"}))


def test_a_restricted_document_is_invisible_outside_its_list(db: None) -> None:
    j = journal()
    public = document(title="Обычное письмо", journal=j)
    secret = document(
        title="Служебное расследование", restriction="ДСП", read=["director"], journal=j
    )
    card = cards.register_document(CLERK, secret.id, j.id)
    stored = files.upload(CLERK, "акт.pdf", stream(b"%PDF-1.4 secret"))
    office.attach_file(CLERK, secret.id, stored.id)

    listed = {d.title for d in office.list_documents(OUTSIDER)}
    assert listed == {"Обычное письмо"}
    for fetch in (
        lambda: office.get_document(OUTSIDER, secret.id),
        lambda: cards.get_card(OUTSIDER, card.id),
        lambda: files.get_file(OUTSIDER, stored.id),
    ):
        with pytest.raises((DocumentNotFound, CardNotFound, FileNotFound)):
            fetch()
    assert cards.list_cards(OUTSIDER) == []
    assert office.list_documents(OUTSIDER, q="служебное") == []

    assert office.get_document(DIRECTOR, secret.id).restriction == "ДСП"
    assert cards.get_card(DIRECTOR, card.id).number == card.number
    assert files.get_file(DIRECTOR, stored.id).id == stored.id  # through the document
    assert {d.title for d in office.list_documents(DIRECTOR)} == {
        "Обычное письмо",
        "Служебное расследование",
    }
    assert len(office.list_documents(ADMIN)) == 2
    assert office.get_document(OUTSIDER, public.id).title == "Обычное письмо"


def test_a_document_follows_its_journal_and_the_journal_s_changes(db: None) -> None:
    j = journal(code="ДСП", read=("group:office",))
    doc = document(title="Приказ")
    assert office.get_document(OUTSIDER, doc.id)  # no journal yet: everyone reads it
    card = cards.register_document(CLERK, doc.id, j.id)
    with pytest.raises(DocumentNotFound):
        office.get_document(OUTSIDER, doc.id)
    journals.set_access(CLERK, j.id, read=["group:office", "group:sales"], write=["group:office"])
    assert office.get_document(OUTSIDER, doc.id).title == "Приказ"
    assert cards.get_card(OUTSIDER, card.id).id == card.id
    with pytest.raises(NotAllowed):
        office.update_document(OUTSIDER, doc.id, {"title": "Мой приказ"})


def test_restricting_and_lifting_the_restriction(db: None) -> None:
    j = journal()
    doc = document(journal=j)
    cards.register_document(CLERK, doc.id, j.id)
    office.set_restriction(CLERK, doc.id, True, "ДСП", read=["director"])
    with pytest.raises(DocumentNotFound):
        office.get_document(OUTSIDER, doc.id)
    assert cards.list_cards(OUTSIDER) == []
    office.set_restriction(CLERK, doc.id, False)
    assert office.get_document(OUTSIDER, doc.id).restriction == ""
    assert len(cards.list_cards(OUTSIDER)) == 1
