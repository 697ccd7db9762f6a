"""Auto-start rules: a created or staged object starts exactly one instance per event,
conditions and the per-process switch decide; reference documents reach the task."""

from __future__ import annotations

from pathlib import Path

import pytest

from documents import appeals, cards, office
from documents import operators as documents_operators
from engine import autostart, definitions, instances, process_extensions
from engine.actor import Actor
from engine.errors import DefinitionInvalid
from engine.models import ProcessInstance
from mail import operators as mail_operators
from registry import contracts, organizations

from .documents_helpers import CLERK, document, journal

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
__all__ = ["documents_operators", "mail_operators"]  # importing registers their operators


def rule_bpmn(rules: str, key: str = "on_document", references: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:crm="urn:bpmcrm:bpmn" id="d" targetNamespace="urn:test">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:extensionElements>{rules}{references}</bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="look"/>
    <bpmn:userTask id="look" name="Look at it">
      <bpmn:extensionElements><crm:form>
        <crm:field id="note" type="text" label="Note" maxLength="200"/>
      </crm:form></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""".encode()


CREATED_INCOMING = (
    '<crm:autoStart objectType="document" event="created" condition="kind == \'incoming\'"/>'
)


def instances_of(key: str) -> list[ProcessInstance]:
    return list(ProcessInstance.objects(process_key=key))


def test_a_created_document_starts_one_instance_when_the_condition_holds(db: None) -> None:
    definitions.deploy(rule_bpmn(CREATED_INCOMING), "on_document.bpmn", "test")
    incoming = document(kind="incoming", title="Письмо")
    document(kind="outgoing", title="Ответ")
    found = instances_of("on_document")
    assert len(found) == 1
    assert found[0].subject["id"] == str(incoming.id) and found[0].started_by == "clerk"
    variables = instances.variables(instances.get(found[0].id))
    assert variables["kind"] == "incoming"
    assert variables["auto_start"] == {"object_type": "document", "event": "created", "stage": ""}
    # The same event fired again (a retry, a second worker) starts nothing new.
    again = autostart.fire(
        "document", "created", office.subject_of(incoming), office.event_values(incoming), CLERK
    )
    assert again == [str(found[0].id)] and len(instances_of("on_document")) == 1


def test_the_switch_turns_a_process_s_rules_off_and_on(db: None) -> None:
    definitions.deploy(rule_bpmn(CREATED_INCOMING), "on_document.bpmn", "test")
    state = autostart.set_enabled("on_document", False, CLERK)
    assert state["enabled"] is False and state["rules"][0]["condition"] == "kind == 'incoming'"
    document(title="Пока выключено")
    assert instances_of("on_document") == []
    autostart.set_enabled("on_document", True, CLERK)
    document(title="Включено")
    assert len(instances_of("on_document")) == 1


def test_a_new_version_without_rules_stops_listening(db: None) -> None:
    definitions.deploy(rule_bpmn(CREATED_INCOMING), "on_document.bpmn", "test")
    definitions.deploy(rule_bpmn(""), "on_document.bpmn", "test")
    document(title="После v2")
    assert instances_of("on_document") == []


def test_a_stage_rule_starts_when_the_card_reaches_that_stage(db: None) -> None:
    definitions.deploy(
        rule_bpmn(
            '<crm:autoStart objectType="document" event="stage" stage="executed"/>', "on_executed"
        ),
        "on_executed.bpmn",
        "test",
    )
    doc = document(title="Исполняемый")
    card = cards.register_document(CLERK, doc.id, journal().id)
    cards.set_status(CLERK, card.id, "in_work")
    assert instances_of("on_executed") == []
    cards.set_status(CLERK, card.id, "executed")
    found = instances_of("on_executed")
    assert len(found) == 1 and found[0].subject["id"] == str(doc.id)
    assert instances.variables(instances.get(found[0].id))["status"] == "executed"


def test_deploy_refuses_a_bad_rule_or_reference(db: None) -> None:
    for bad in (
        '<crm:autoStart event="created"/>',
        '<crm:autoStart objectType="document" event="deleted"/>',
        '<crm:autoStart objectType="document" event="created" stage="x"/>',
        '<crm:autoStart objectType="document" condition="kind =="/>',
        '<crm:reference type="document" title="no id"/>',
    ):
        with pytest.raises(DefinitionInvalid) as caught:
            definitions.deploy(rule_bpmn(bad), "bad.bpmn", "test")
        assert "crm:" in " ".join(caught.value.errors["diagram"])


def test_a_condition_that_fails_starts_nothing(db: None) -> None:
    definitions.deploy(
        rule_bpmn('<crm:autoStart objectType="document" condition="no_such_field > 1"/>'),
        "on_document.bpmn",
        "test",
    )
    document(title="Ничего")
    assert instances_of("on_document") == []


def test_references_are_stored_with_the_version(db: None) -> None:
    refs = (
        '<crm:reference type="document" code="INSTR-1" title="Инструкция"/>'
        '<crm:reference type="form" id="64b000000000000000000001"/>'
    )
    [deployed] = definitions.deploy(rule_bpmn("", references=refs), "on_document.bpmn", "test")
    assert process_extensions.references_of("on_document", deployed.version) == [
        {"type": "document", "id": "", "code": "INSTR-1", "title": "Инструкция"},
        {"type": "form", "id": "64b000000000000000000001", "code": "", "title": ""},
    ]


def test_shipped_registration_starts_on_an_incoming_document_once(db: None) -> None:
    for name in ("document_registration.bpmn", "citizen_appeal.bpmn"):
        definitions.deploy((BPMN_DIR / name).read_bytes(), name, "test")
    doc = document(kind="incoming", title="Входящее")
    internal = document(kind="internal", title="Служебная записка")
    [started] = instances_of("document_registration")
    assert started.subject["id"] == str(doc.id)
    # Registering it by hand finds that instance instead of starting another.
    card = cards.register_document(CLERK, doc.id, journal().id)
    assert card.process_instance_id == str(started.id)
    assert len(instances_of("document_registration")) == 1
    card = cards.register_document(CLERK, internal.id, journal(code="ВН", kind="internal").id)
    assert len(instances_of("document_registration")) == 2
    # An appeal starts citizen_appeal (and no document_registration for its document).
    appeal = appeals.register_appeal(
        CLERK,
        journal(code="ОГ", kind="appeal").id,
        [{"name": "Иванов", "email": "i@example.org"}],
        topic="01",
        channel="email",
        summary="Вопрос",
    )
    [citizen] = instances_of("citizen_appeal")
    assert citizen.subject == {
        "type": "appeal",
        "id": str(appeal.id),
        "title": f"№ {appeal.number}",
    }
    assert len(instances_of("document_registration")) == 2
    consider = instances.get(citizen.id)["open_tasks"][0]
    assert consider["bpmn_id"] == "consider"


def test_the_state_of_a_process_and_an_unknown_key(db: None) -> None:
    definitions.deploy(rule_bpmn(CREATED_INCOMING), "on_document.bpmn", "test")
    assert autostart.state("on_document")["enabled"] is True
    with pytest.raises(Exception, match="no deployed process"):
        autostart.set_enabled("missing", False, Actor("root", is_admin=True))


def test_a_contract_reaching_a_stage_starts_its_procedure_once(db: None) -> None:
    definitions.deploy(
        rule_bpmn(
            '<crm:autoStart objectType="contract" event="stage" stage="signed"'
            ' condition="amount_minor &gt; 100000"/>',
            "on_signed",
        ),
        "on_signed.bpmn",
        "test",
    )
    manager = Actor("alice", frozenset({"sales"}))
    org = organizations.create(manager, {"name": "ООО «Ромашка»"})
    small = contracts.create(
        manager, {"organization": str(org.id), "role": "executor", "number": "Д-1", "amount": "10"}
    )
    big = contracts.create(
        manager,
        {"organization": str(org.id), "role": "executor", "number": "Д-2", "amount": "5000"},
    )
    for contract in (small, big):
        contracts.change_stage(manager, contract.id, "signed")
    [started] = instances_of("on_signed")
    assert started.subject["id"] == str(big.id)
    variables = instances.variables(instances.get(started.id))
    assert (variables["previous_stage"], variables["stage"]) == ("draft", "signed")
