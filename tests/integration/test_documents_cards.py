"""Registration cards: control, execution, acquaintance and transfer to a case file, the
document_registration procedure, and the case nomenclature's yearly life."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from documents import cards, nomenclature, office
from documents.errors import (
    AlreadyRegistered,
    CardStateConflict,
    CaseFileClosed,
    NomenclatureConflict,
    ProcedureNotDeployed,
)
from documents.models import CaseFile, RegistrationCard
from engine import definitions
from engine.models import ProcessInstance

from .documents_helpers import CLERK, document, journal

REGISTRATION_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:crm="urn:bpmcrm:bpmn" id="reg_defs" targetNamespace="urn:test">
  <bpmn:process id="document_registration" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review the registered document">
      <bpmn:extensionElements><crm:form>
        <crm:field id="comment" type="text" label="Comment" maxLength="500"/>
      </crm:form></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def test_registration_starts_the_procedure_when_deployed(db: None) -> None:
    j = journal()
    plain = cards.register_document(CLERK, document().id, j.id)
    assert plain.process_instance_id is None
    definitions.deploy(REGISTRATION_BPMN, "document_registration.bpmn", "test")
    doc = document(title="Запрос")
    card = cards.register_document(CLERK, doc.id, j.id)
    instance = ProcessInstance.objects(id=card.process_instance_id).first()
    assert instance.process_key == "document_registration"
    assert instance.subject["id"] == str(doc.id) and card.number in instance.subject["title"]
    with pytest.raises(AlreadyRegistered):
        cards.register_document(CLERK, doc.id, j.id)


def test_a_card_s_deadline_in_working_days_and_control(db: None) -> None:
    j = journal()
    card = cards.register_document(
        CLERK,
        document().id,
        j.id,
        at=datetime(2025, 12, 26, 9),
        due_in_working_days=5,
        executors=["alice"],
        resolution="Подготовить ответ",
    )
    # 26 Dec 2025 + 5 working days: 29, 30 Dec, then 12, 13, 14 Jan (31 Dec, 1–11 Jan off).
    assert card.deadline == date(2026, 1, 14)
    cards.put_under_control(CLERK, card.id, controller="director")
    overdue = cards.overdue_cards(CLERK, today=date(2026, 1, 15))
    assert [c.id for c in overdue] == [card.id]
    assert [c.id for c in cards.list_cards(CLERK, executor="alice")] == [card.id]


def test_send_to_executor_needs_the_execution_procedure(db: None) -> None:
    j = journal()
    card = cards.register_document(CLERK, document().id, j.id)
    with pytest.raises(ProcedureNotDeployed):
        cards.send_to_executor(CLERK, card.id, "alice")


def test_execution_acquaintance_and_transfer_to_a_case(db: None) -> None:
    year = datetime.now().year
    nom = nomenclature.create_nomenclature(CLERK, year)
    nomenclature.add_case(CLERK, nom.id, "01-05", "Переписка с контрагентами", 5, "ст. 70")
    nomenclature.approve(CLERK, nom.id)
    j = journal(case_index="01-05")
    card = cards.register_document(CLERK, document().id, j.id)
    cards.acquaint(CLERK, card.id, "Петров П. П.", note="оригинал")
    assert [a.person for a in cards.acquaintances(CLERK, card.id)] == ["Петров П. П."]
    with pytest.raises(CardStateConflict):
        cards.transfer_to_case(CLERK, card.id)
    cards.set_status(CLERK, card.id, "in_work")
    cards.set_status(CLERK, card.id, "executed")
    entry = cards.transfer_to_case(CLERK, card.id, note="в дело")
    assert entry.case_index == "01-05" and entry.transferred_by == "clerk"
    filed = RegistrationCard.objects(id=card.id).first()
    assert filed.status == "filed" and filed.case_index == "01-05"
    assert CaseFile.objects(id=entry.case_file_id).first().documents_count == 1
    assert len(cards.transfers(CLERK, card.id)) == 1
    with pytest.raises(CardStateConflict):
        cards.set_status(CLERK, card.id, "in_work")


def test_linked_documents_of_a_card(db: None) -> None:
    j = journal()
    main = document(title="Запрос")
    answer = document(title="Ответ", kind="incoming")
    card = cards.register_document(CLERK, main.id, j.id)
    cards.link_documents(CLERK, card.id, [answer.id])
    assert {d.title for d in cards.linked_documents(CLERK, card.id)} == {"Запрос", "Ответ"}
    assert office.get_document(CLERK, main.id).reg_number == card.number


def test_cases_close_at_year_end_and_are_destroyed_only_by_an_act(db: None) -> None:
    old = nomenclature.create_nomenclature(CLERK, 2019)
    temporary = nomenclature.add_case(CLERK, old.id, "02-01", "Табели", 5, "ст. 420")
    permanent = nomenclature.add_case(CLERK, old.id, "01-01", "Приказы", None, "ст. 19а")
    with pytest.raises(CaseFileClosed):  # filing into a case of an ended year closes it
        nomenclature.file_into(temporary, today=date(2026, 2, 1))
    assert CaseFile.objects(id=permanent.id).first().status == "closed"
    with pytest.raises(NomenclatureConflict):
        nomenclature.close_year(2026, today=date(2026, 2, 1))
    # Retention counts from 1 Jan 2020: 5 years end with 2024.
    assert nomenclature.destruction_candidates(date(2024, 6, 1)) == []
    assert [c.index for c in nomenclature.destruction_candidates(date(2025, 1, 10))] == ["02-01"]
    with pytest.raises(NomenclatureConflict):
        nomenclature.destroy(CLERK, "1", [permanent.id], today=date(2025, 1, 10))
    act = nomenclature.destroy(CLERK, "1", [temporary.id], "сроки истекли", today=date(2025, 1, 10))
    assert CaseFile.objects(id=temporary.id).first().destruction_act_id == act.id
    assert nomenclature.destruction_candidates(date(2025, 1, 10)) == []


def test_a_new_nomenclature_version_copies_the_cases(db: None) -> None:
    first = nomenclature.create_nomenclature(CLERK, 2026)
    nomenclature.add_case(CLERK, first.id, "01-01", "Приказы", None)
    second = nomenclature.create_nomenclature(CLERK, 2026)
    assert second.version == 2
    assert [c.index for c in nomenclature.list_cases(second.id)] == ["01-01"]
    assert nomenclature.current(2026).id == second.id
    nomenclature.approve(CLERK, first.id)
    assert nomenclature.current(2026).id == first.id  # approved wins over a newer draft
