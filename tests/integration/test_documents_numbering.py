"""Registration numbers: gapless and unique per journal and year, also under concurrency."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from documents import cards, journals, numbering, repository
from documents.errors import ReservationNotOpen
from documents.models import NumberReservation, OfficeDocument, RegistrationCard

from .documents_helpers import CLERK, document, journal


def test_200_registrations_from_8_threads_are_numbered_1_to_200(db: None) -> None:
    j = journal(template="{seq}")
    docs = [document(title=f"Письмо {i}").id for i in range(200)]
    errors: list[BaseException] = []
    chunks = [docs[i::8] for i in range(8)]

    def work(ids: list) -> None:
        try:
            for doc_id in ids:
                cards.register_document(CLERK, doc_id, j.id, at=datetime(2026, 3, 2, 10))
        except BaseException as exc:  # report it in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    assert not errors
    seqs = sorted(c.seq for c in RegistrationCard.objects(journal_id=j.id))
    assert seqs == list(range(1, 201))
    assert sorted(int(c.number) for c in RegistrationCard.objects(journal_id=j.id)) == seqs
    log = numbering.log(j.id, 2026)
    assert [r.seq for r in log] == list(range(1, 201))
    assert {r.status for r in log} == {"used"}
    assert OfficeDocument.objects(card_id=None).count() == 0
    print(f"\n200 registrations from 8 threads: {elapsed:.2f} s, {200 / elapsed:.0f}/s")


def test_numbers_restart_each_year_and_follow_the_template(db: None) -> None:
    j = journal(code="ИСХ", kind="outgoing", template="{dept}-{seq:04}/{yy}", department="12")
    first = cards.register_document(
        CLERK, document(kind="outgoing").id, j.id, at=datetime(2025, 12, 31, 23, 0)
    )
    second = cards.register_document(
        CLERK, document(kind="outgoing").id, j.id, at=datetime(2025, 12, 31, 23, 30)
    )
    third = cards.register_document(
        CLERK, document(kind="outgoing").id, j.id, at=datetime(2026, 1, 12, 9, 0)
    )
    assert [first.number, second.number, third.number] == ["12-0001/25", "12-0002/25", "12-0001/26"]
    assert (third.year, third.seq) == (2026, 1)


def test_a_cancelled_reservation_stays_logged_and_is_not_given_again(db: None) -> None:
    j = journal(code="ВН", kind="internal", template="{seq}-{yyyy}")
    reserved = journals.reserve_number(CLERK, j.id)
    journals.cancel_reservation(CLERK, reserved.id, "письмо не отправлено")
    card = cards.register_document(CLERK, document(kind="internal").id, j.id)
    assert card.seq == reserved.seq + 1
    log = journals.number_log(CLERK, j.id, reserved.year)
    assert [(r.seq, r.status) for r in log] == [(1, "cancelled"), (2, "used")]
    assert log[0].reason == "письмо не отправлено" and log[0].cancelled_by == "clerk"
    with pytest.raises(ReservationNotOpen):
        journals.cancel_reservation(CLERK, reserved.id, "again")


def test_a_reserved_number_is_used_by_the_registration_that_names_it(db: None) -> None:
    j = journal(code="ИСХ2", kind="outgoing", template="{journal}/{seq}")
    reserved = journals.reserve_number(CLERK, j.id)
    other = cards.register_document(CLERK, document(kind="outgoing").id, j.id)
    card = cards.register_document(
        CLERK, document(kind="outgoing").id, j.id, reservation_id=reserved.id
    )
    assert (card.number, other.number) == ("ИСХ2/1", "ИСХ2/2")
    assert NumberReservation.objects(id=reserved.id).first().status == "used"
    with pytest.raises(ReservationNotOpen):
        cards.register_document(
            CLERK, document(kind="outgoing").id, j.id, reservation_id=reserved.id
        )


def test_a_lost_number_is_found_and_logged_as_cancelled(db: None) -> None:
    j = journal(code="Л", template="{seq}")
    repository.next_seq(j.id, 2026)  # as if a crash came right after taking the number
    assert numbering.gaps(j.id, 2026) == [1]
    assert journals.repair_number_log(j.id, 2026) == [1]
    assert numbering.gaps(j.id, 2026) == []
    assert numbering.log(j.id, 2026)[0].status == "cancelled"
