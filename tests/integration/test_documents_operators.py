"""The records office's operators: sign, generate_document, register_document and the
subject types document, card and appeal, called directly and from a running diagram."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import docx
import pytest

from documents import cards, files, nomenclature, office, signatures, templates
from documents import operators as documents_operators
from documents.models import CitizenAppeal, OperatorEffect, Signature
from engine import definitions, instances, operators, subjects
from engine.actor import Actor
from engine.errors import DefinitionInvalid, ProcessError
from engine.models import ProcessInstance, utcnow

from .documents_helpers import CLERK, document, journal, stream

SECRET = "operators-secret"


@pytest.fixture(autouse=True)
def secret() -> Iterator[None]:
    documents_operators.configure(SECRET)
    yield
    documents_operators.configure("")


def letter_template() -> bytes:
    """A letter template using the subject's values and the task data."""
    doc = docx.Document()
    doc.add_paragraph("Письмо {{ title }} № {{ number }}")
    doc.add_paragraph("Ответ: {{ answer_text }}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def text_of(content: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)


def call(
    name: str,
    params: dict[str, Any],
    subject: dict[str, Any] | None,
    data: dict[str, Any] | None = None,
    acting_user: str = "",
    instance_id: str = "inst-1",
) -> Any:
    context = operators.InstanceContext(
        instance_id=instance_id,
        process_key="test",
        started_by="clerk",
        subject=subject,
        acting_user=acting_user,
    )
    return operators.invoke(name, params, data or {}, context)


def test_the_records_office_registers_its_subject_types() -> None:
    assert {"document", "card", "appeal"} <= set(subjects.names())
    assert {"sign", "generate_document", "register_document", "transfer_to_case"} <= set(
        operators.names()
    )


def test_generate_document_renders_the_subject_and_attaches_the_file_once(db: None) -> None:
    templates.upload_template(
        CLERK, "Ответ", "answer.docx", io.BytesIO(letter_template()), "letter"
    )
    j = journal(code="ИСХ", kind="outgoing")
    doc = document(kind="outgoing", title="О поставке")
    card = cards.register_document(CLERK, doc.id, j.id)
    subject = {"type": "document", "id": str(doc.id)}
    data = {"answer_text": "поставка 5 марта & позже"}
    file_id = call("generate_document", {"template": "Ответ", "filename": "ответ"}, subject, data)
    assert office.get_document(CLERK, doc.id).files[-1].file_id == files.get_file(CLERK, file_id).id
    stored = files.get_file(CLERK, file_id)
    text = text_of(files.read_bytes(files.version_of(stored)))
    assert f"Письмо О поставке № {card.number}" in text
    assert "поставка 5 марта & позже" in text and stored.name == "ответ.docx"
    # A re-run (a retried step) returns the same file and attaches nothing new.
    again = call("generate_document", {"template": "Ответ", "filename": "ответ"}, subject, data)
    assert again == file_id and len(office.get_document(CLERK, doc.id).files) == 1
    assert OperatorEffect.objects.count() == 1
    # Other data make a new rendering.
    other = call("generate_document", {"template": "Ответ"}, subject, {"answer_text": "нет"})
    assert other != file_id and len(office.get_document(CLERK, doc.id).files) == 2


def test_generate_document_needs_a_known_template(db: None) -> None:
    doc = document()
    with pytest.raises(ProcessError, match="no template"):
        call(
            "generate_document", {"template": "Нет такого"}, {"type": "document", "id": str(doc.id)}
        )


def test_sign_signs_the_latest_file_of_the_subject_with_the_acting_user_s_key(db: None) -> None:
    signatures.issue_key("alice", SECRET)
    doc = document()
    first = files.upload(CLERK, "scan.pdf", stream(b"%PDF scan"))
    latest = files.upload(CLERK, "answer.pdf", stream(b"%PDF answer"))
    office.attach_file(CLERK, doc.id, first.id)
    office.attach_file(CLERK, doc.id, latest.id)
    subject = {"type": "document", "id": str(doc.id)}
    signature_id = call("sign", {}, subject, acting_user="alice")
    signature, _ = signatures.get_signature(Actor("root", is_admin=True), signature_id)
    assert signature.signer == "alice" and signature.file_id == latest.id
    assert signature.document_id == doc.id
    assert signatures.verify(CLERK, signature_id).status == "valid"
    # Idempotent: the same signer over the same version signs once.
    assert call("sign", {}, subject, acting_user="alice") == signature_id
    assert Signature.objects.count() == 1
    # `by` and `file_id` choose explicitly; a user without a key is an incident.
    with pytest.raises(ProcessError, match="bob has no valid signing key"):
        call("sign", {"by": "bob", "file_id": str(first.id)}, subject)


def test_sign_without_a_secret_or_a_file_refuses(db: None) -> None:
    doc = document()
    subject = {"type": "document", "id": str(doc.id)}
    with pytest.raises(ProcessError, match="no file to sign"):
        call("sign", {"by": "alice"}, subject)
    documents_operators.configure("")
    with pytest.raises(ProcessError, match="secret key"):
        call("sign", {"by": "alice"}, subject)


def test_register_document_takes_the_next_number_once(db: None) -> None:
    j = journal(code="ВХ")
    doc = document(title="Запрос")
    subject = {"type": "document", "id": str(doc.id)}
    result = call("register_document", {"journal": "ВХ", "due_in_working_days": 5}, subject)
    card = cards.card_of_document(CLERK, doc.id)
    assert result == {"number": card.number, "card_id": str(card.id)}
    assert card.journal_id == j.id and card.deadline is not None
    assert card.process_instance_id is None  # the operator runs inside the procedure
    assert call("register_document", {"journal": "ВХ"}, subject) == result
    with pytest.raises(ProcessError, match="no registration journal"):
        call(
            "register_document", {"journal": "НЕТ"}, {"type": "document", "id": str(document().id)}
        )


def test_document_and_card_subjects_change_fields_stage_and_access(db: None) -> None:
    j = journal()
    doc = document(title="Старое")
    card = cards.register_document(CLERK, doc.id, j.id)
    kind = subjects.get("document")
    kind.set_fields(CLERK, str(doc.id), {"title": "Новое"})
    assert subjects.get("card").values(str(card.id))["title"] == "Новое"
    assert kind.set_stage(CLERK, str(doc.id), "in_work") == "in_work"
    assert cards.get_card(CLERK, card.id).status == "in_work"
    subjects.get("card").set_fields(CLERK, str(card.id), {"resolution": "В работу"})
    assert kind.values(str(doc.id))["resolution"] == "В работу"
    readers = kind.grant_access(CLERK, str(doc.id), ["bob"], "read")
    assert "bob" in readers and office.get_document(Actor("bob"), doc.id).id == doc.id
    kind.revoke_access(CLERK, str(doc.id), ["*", "bob"], "read")
    with pytest.raises(Exception, match="no document"):
        office.get_document(Actor("bob"), doc.id)
    with pytest.raises(Exception, match="cannot become"):
        subjects.get("card").set_stage(CLERK, str(card.id), "filed")


SIGN_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:crm="urn:bpmcrm:bpmn" id="d" targetNamespace="urn:test">
  <bpmn:process id="signing" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_heads" name="heads"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>approve</bpmn:flowNodeRef><bpmn:flowNodeRef>sign_it</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve and sign">
      <bpmn:extensionElements><crm:form>
        <crm:field id="comment" type="text" label="Comment" maxLength="200"/>
      </crm:form></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="sign_it"/>
    <bpmn:serviceTask id="sign_it" name="Sign">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="sign" resultVariable="signature_id">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="version" type="int" value="1"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="sign_it" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_diagram_signs_with_the_key_of_who_completed_the_task(db: None) -> None:
    signatures.issue_key("alice", SECRET)
    doc = document()
    stored = files.upload(CLERK, "answer.pdf", stream(b"%PDF answer"))
    office.attach_file(CLERK, doc.id, stored.id)
    definitions.deploy(SIGN_BPMN, "signing.bpmn", "test")
    started = instances.start("signing", CLERK, {}, subject={"type": "document", "id": str(doc.id)})
    guid = started["open_tasks"][0]["guid"]
    # The clerk started it; alice, one of the heads, approves: the signature is hers.
    done = instances.complete_task(guid, Actor("alice", frozenset({"heads"})), {"comment": "ok"})
    signature_id = instances.variables(done)["signature_id"]
    signature, _ = signatures.get_signature(Actor("root", is_admin=True), signature_id)
    assert signature.signer == "alice" and signature.file_id == stored.id
    assert signatures.verify(CLERK, signature_id).status == "valid"
    assert ProcessInstance.objects(id=done["_id"]).first().status == "completed"


def test_transfer_to_case_marks_the_card_executed_and_files_it_once(db: None) -> None:
    j = journal(case_index="01-05")
    nom = nomenclature.create_nomenclature(CLERK, utcnow().year)
    nomenclature.add_case(CLERK, nom.id, "01-05", "Переписка", 5, "ст. 70")
    nomenclature.approve(CLERK, nom.id)
    doc = document()
    card = cards.register_document(CLERK, doc.id, j.id)
    subject = {"type": "document", "id": str(doc.id)}
    assert call("transfer_to_case", {"note": "исполнено"}, subject) == "01-05"
    assert cards.get_card(CLERK, card.id).status == "filed"
    assert call("transfer_to_case", {}, subject) == "01-05"  # a re-run: filed already
    assert len(cards.transfers(CLERK, card.id)) == 1


def test_record_resolution_routes_the_executor_and_the_controller(db: None) -> None:
    doc = document()
    card = cards.register_document(CLERK, doc.id, journal().id)
    subject = {"type": "document", "id": str(doc.id)}
    params = {"resolution": "Ответить", "executor": "ivan", "deadline": "2031-03-03"}
    result = call("record_resolution", params, subject, acting_user="mark")
    assert isinstance(result, operators.WriteBack)
    assert result.data["lane_owners"] == {"executor": ["ivan"], "controller": ["mark"]}
    assert result.data["execution_due_in"].startswith("PT")
    card = cards.get_card(CLERK, card.id)
    assert (card.status, card.controller, str(card.deadline)) == ("in_work", "mark", "2031-03-03")
    # The controller may come from the task data; `terms` overrides the timer.
    again = call(
        "record_resolution",
        params,
        subject,
        {"controller": "carl", "terms": {"execution_due_in": "PT1S"}},
    )
    assert again.data["controller"] == "carl" and again.data["execution_due_in"] == "PT1S"


def appeal_journal() -> Any:
    return journal(code="ОГ", kind="appeal", template="{journal}-{seq}")


def test_the_appeal_steps_log_their_notices_once_each(db: None) -> None:
    appeal_journal()
    form = {
        "journal": "ОГ",
        "author_name": "Петров",
        "email": "p@example.org",
        "topic": "01",
        "channel": "email",
        "summary": "Вопрос",
    }
    registered = call("register_appeal", {}, None, form, instance_id="appeal-1")
    appeal_id = registered.data["appeal_id"]
    # A re-run of the same instance's step registers nothing new.
    assert call("register_appeal", {}, None, form, instance_id="appeal-1").data == {
        "appeal_id": appeal_id
    }
    assert CitizenAppeal.objects.count() == 1
    data = {"appeal_id": appeal_id, "extension_days": 10, "extension_reason": "запрос"}
    first = call("appeal_extend", {}, None, data)
    assert first["extended_days"] == 10
    assert call("appeal_extend", {}, None, {**data, "extension_days": 20}) == first
    terms = call("appeal_terms", {}, None, {"appeal_id": appeal_id, "terms": {"answer_in": "PT1S"}})
    assert terms.result["extended"] is True and terms.result["answer_in"] != "PT1S"
    subject = {"type": "appeal", "id": appeal_id}
    answered = call("appeal_answer", {}, subject, {"answer_text": "Ответ"})
    assert answered["status"] == "answered"
    assert call("appeal_answer", {}, subject, {"answer_text": "Ответ"}) == answered
    appeal = CitizenAppeal.objects(id=appeal_id).first()
    assert [n.kind for n in appeal.notices] == ["extension", "answer"]
    with pytest.raises(ProcessError, match="the appeal is answered"):
        call("appeal_redirect", {"to_organization": "Х"}, subject)


def test_appeal_terms_before_registration_and_a_missing_executor(db: None) -> None:
    terms = call("appeal_terms", {}, None, {"terms": {"register_in": "PT2S"}})
    assert terms.result["registered"] is False and terms.result["register_in"] == "PT2S"
    assert "appeal_id" not in terms.data
    with pytest.raises(ProcessError, match="appeal_assign: the process has no subject"):
        call("appeal_assign", {"executor": "ivan"}, None)


def test_a_task_named_like_its_operator_is_refused_with_a_clear_reason(db: None) -> None:
    clash = SIGN_BPMN.replace(b'"sign_it"', b'"sign"')
    with pytest.raises(DefinitionInvalid) as caught:
        definitions.deploy(clash, "clash.bpmn", "test")
    assert "element id 'sign' is used by 2 elements" in caught.value.errors["diagram"][0]
