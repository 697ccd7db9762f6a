"""Citizens' appeals (59-FZ): deadlines across month ends and holidays, redirect, extension,
repeated appeals, logged notices."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from documents import appeals
from documents.errors import AppealStateConflict, DocumentsInvalid
from documents.models import RegistrationCard, RegistrationJournal

from .documents_helpers import CLERK, journal

IVANOV = {"name": "Иванов Иван Иванович", "postal_address": "г. Тверь, ул. Мира, 1"}


@pytest.fixture()
def appeals_journal(db: None) -> RegistrationJournal:
    return journal(code="ОГ", kind="appeal", template="{journal}-{seq}")


@pytest.mark.parametrize(
    ("registered", "deadline", "redirect_due"),
    [
        # 30 days across a month end: 31 Jan + 30 = 2 Mar (a Monday in 2026).
        (date(2026, 1, 31), date(2026, 3, 2), date(2026, 2, 9)),
        # 5 Dec 2025 + 30 = 4 Jan 2026, inside the New Year holidays: moves to 12 Jan.
        (date(2025, 12, 5), date(2026, 1, 12), date(2025, 12, 12)),
        # 9 Apr 2026 + 30 = 9 May (Victory Day, a Saturday; 11 May is its day off) → 12 May.
        (date(2026, 4, 9), date(2026, 5, 12), date(2026, 4, 16)),
        # 2 Oct 2025 + 30 = 1 Nov 2025, a Saturday made a working day → stays.
        (date(2025, 10, 2), date(2025, 11, 1), date(2025, 10, 9)),
        # February of a leap year: 30 Jan 2024 + 30 = 29 Feb 2024.
        (date(2024, 1, 30), date(2024, 2, 29), date(2024, 2, 6)),
    ],
)
def test_the_answer_deadline_is_30_days_moved_off_days_off(
    appeals_journal: RegistrationJournal, registered: date, deadline: date, redirect_due: date
) -> None:
    appeal = appeals.register_appeal(
        CLERK,
        appeals_journal.id,
        [IVANOV],
        "0003.0009.0097",
        "post",
        "Ремонт дороги",
        at=datetime.combine(registered, datetime.min.time()),
    )
    assert (appeal.deadline, appeal.redirect_due) == (deadline, redirect_due)
    card = RegistrationCard.objects(id=appeal.card_id).first()
    assert card.kind == "appeal" and card.deadline == deadline and card.under_control


def test_forms_anonymous_individual_collective(appeals_journal: RegistrationJournal) -> None:
    anonymous = appeals.register_appeal(CLERK, appeals_journal.id, [], "0001", "web", "Жалоба")
    collective = appeals.register_appeal(
        CLERK,
        appeals_journal.id,
        [IVANOV, {"name": "Петрова Анна", "email": "anna@example.org"}],
        "0001",
        "email",
        "Коллективная жалоба",
    )
    assert (anonymous.form, anonymous.answer_required) == ("anonymous", False)
    assert (collective.form, collective.answer_required) == ("collective", True)
    assert [a.number for a in (anonymous, collective)] == ["ОГ-1", "ОГ-2"]


def test_a_repeated_appeal_of_the_same_author_and_topic_is_detected(
    appeals_journal: RegistrationJournal,
) -> None:
    first = appeals.register_appeal(
        CLERK, appeals_journal.id, [IVANOV], "0003.0009", "post", "Яма во дворе"
    )
    other_topic = appeals.register_appeal(
        CLERK, appeals_journal.id, [IVANOV], "0002", "post", "Шум"
    )
    again = appeals.register_appeal(
        CLERK,
        appeals_journal.id,
        [{"name": "  иванов  иван ИВАНОВИЧ ", "postal_address": "г. Тверь, ул. Мира, 1"}],
        "0003.0009",
        "post",
        "Яма всё ещё во дворе",
    )
    assert first.repeated_of == [] and other_topic.repeated_of == []
    assert again.repeated_of == [first.id]


def test_extension_once_by_at_most_30_days_with_a_notice(
    appeals_journal: RegistrationJournal,
) -> None:
    appeal = appeals.register_appeal(
        CLERK, appeals_journal.id, [IVANOV], "0001", "post", "Вопрос", at=datetime(2026, 2, 2, 10)
    )
    assert appeal.deadline == date(2026, 3, 4)
    with pytest.raises(DocumentsInvalid):
        appeals.extend(CLERK, appeal.id, 31, "проверка", on=date(2026, 3, 1))
    extended = appeals.extend(CLERK, appeal.id, 30, "нужна выездная проверка", on=date(2026, 3, 1))
    # 4 Mar + 30 = 3 Apr 2026 (a Friday).
    assert extended.deadline == date(2026, 4, 3) and extended.original_deadline == date(2026, 3, 4)
    assert [n.kind for n in extended.notices] == ["extension"]
    assert extended.notices[0].to == ["г. Тверь, ул. Мира, 1"]
    assert RegistrationCard.objects(id=appeal.card_id).first().deadline == date(2026, 4, 3)
    with pytest.raises(AppealStateConflict):
        appeals.extend(CLERK, appeal.id, 5, "ещё", on=date(2026, 3, 2))


def test_no_extension_after_the_deadline(appeals_journal: RegistrationJournal) -> None:
    appeal = appeals.register_appeal(
        CLERK, appeals_journal.id, [IVANOV], "0001", "post", "Вопрос", at=datetime(2026, 2, 2, 10)
    )
    with pytest.raises(AppealStateConflict):
        appeals.extend(CLERK, appeal.id, 10, "поздно", on=date(2026, 3, 5))
    assert appeals.is_overdue(appeal, date(2026, 3, 5))
    assert [a.id for a in appeals.list_appeals(CLERK, overdue=True, today=date(2026, 3, 5))] == [
        appeal.id
    ]


def test_redirect_within_7_days_and_answer_are_logged(appeals_journal: RegistrationJournal) -> None:
    wrong = appeals.register_appeal(
        CLERK, appeals_journal.id, [IVANOV], "0005", "post", "Пенсия", at=datetime(2026, 3, 2, 10)
    )
    redirected = appeals.redirect(
        CLERK,
        wrong.id,
        "Отделение СФР по Тверской области",
        "вопрос пенсионного обеспечения",
        on=date(2026, 3, 6),
    )
    assert redirected.status == "redirected" and redirected.notices[0].kind == "redirect"
    assert "позже" not in redirected.notices[0].text
    with pytest.raises(AppealStateConflict):
        appeals.answer(CLERK, wrong.id, "ответ")
    ours = appeals.register_appeal(CLERK, appeals_journal.id, [IVANOV], "0003", "post", "Яма")
    answered = appeals.answer(CLERK, ours.id, "Яма будет заделана до 1 мая")
    assert answered.status == "answered" and [n.kind for n in answered.notices] == ["answer"]
    assert RegistrationCard.objects(id=ours.card_id).first().status == "executed"


def test_an_appeal_needs_an_appeals_journal(db: None) -> None:
    letters = journal(code="ВХ", kind="incoming")
    with pytest.raises(DocumentsInvalid):
        appeals.register_appeal(CLERK, letters.id, [IVANOV], "0001", "post", "Вопрос")
