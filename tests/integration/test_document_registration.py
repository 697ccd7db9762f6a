"""The shipped document_registration procedure, every path: requisites returned; registered,
resolved, executed, returned for rework, accepted and filed; started after a registration by
hand; and the deadline timer telling the controller."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from accounts import service as accounts
from documents import cards, nomenclature
from documents import operators as documents_operators
from documents.models import RegistrationCard, TransferLog
from engine import autostart, definitions, instances, jobs
from engine.actor import Actor
from engine.models import ProcessInstance, utcnow
from mail import operators as mail_operators
from mail.models import Notification
from tests.mail_helpers import make_user

from .documents_helpers import CLERK, document, journal

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "document_registration.bpmn"
OFFICE = Actor("olga", frozenset({"office"}))
MANAGER = Actor("mark", frozenset({"managers"}))
EXECUTOR = Actor("ivan", frozenset({"staff"}))
CONTROLLER = Actor("carl", frozenset({"staff"}))
__all__ = ["documents_operators", "mail_operators"]  # importing registers the operators


@pytest.fixture()
def procedure(db: None) -> None:
    definitions.deploy(BPMN.read_bytes(), BPMN.name, "test")
    # The tests start it themselves (with short terms); one switches the auto-start on.
    autostart.set_enabled("document_registration", False, CLERK)
    journal(code="ВХ", case_index="01-05")
    nom = nomenclature.create_nomenclature(CLERK, utcnow().year)
    nomenclature.add_case(CLERK, nom.id, "01-05", "Входящая переписка", 5, "ст. 70")
    nomenclature.approve(CLERK, nom.id)


def start(doc_id: Any, **variables: Any) -> dict[str, Any]:
    return instances.start(
        "document_registration",
        CLERK,
        variables,
        subject={"type": "document", "id": str(doc_id), "title": "Запрос"},
    )


def task(doc: dict[str, Any], bpmn_id: str) -> dict[str, Any]:
    found = [t for t in doc["open_tasks"] if t["bpmn_id"] == bpmn_id]
    assert found, f"no open task {bpmn_id}: {[t['bpmn_id'] for t in doc['open_tasks']]}"
    return found[0]


def complete(doc: dict[str, Any], bpmn_id: str, actor: Actor, **data: Any) -> dict[str, Any]:
    return instances.complete_task(task(doc, bpmn_id)["guid"], actor, data)


def resolution(**extra: Any) -> dict[str, Any]:
    return {
        "resolution": "Подготовить ответ",
        "executor": "ivan",
        "deadline": (utcnow() + timedelta(days=10)).date().isoformat(),
        **extra,
    }


def test_incomplete_requisites_end_without_a_number(procedure: None) -> None:
    doc = document(title="Без подписи")
    started = start(doc.id)
    assert task(started, "check_requisites")["candidates"] == ["group:office"]
    done = complete(started, "check_requisites", OFFICE, requisites_ok=False, journal="ВХ")
    assert done["status"] == "completed"
    assert RegistrationCard.objects(document_id=doc.id).count() == 0


def test_register_resolve_execute_rework_accept_and_file(procedure: None) -> None:
    doc = document(title="Запрос")
    started = start(doc.id)
    at_resolution = complete(started, "check_requisites", OFFICE, requisites_ok=True, journal="ВХ")
    card = cards.card_of_document(CLERK, doc.id)
    registration = instances.variables(at_resolution)["registration"]
    assert registration == {"number": card.number, "card_id": str(card.id)}
    assert card.number.startswith("ВХ-0001/")
    assert task(at_resolution, "resolve")["candidates"] == ["group:managers"]
    # The manager names no controller: the manager controls.
    at_execution = complete(at_resolution, "resolve", MANAGER, **resolution())
    card = cards.get_card(CLERK, card.id)
    assert (card.status, card.executors, card.resolution) == (
        "in_work",
        ["ivan"],
        "Подготовить ответ",
    )
    assert card.under_control and card.controller == "mark"
    execute = task(at_execution, "execute")
    assert execute["assignee"] == "ivan" and execute["due_at"] is not None
    at_control = complete(at_execution, "execute", EXECUTOR, report="Ответ подготовлен")
    assert task(at_control, "check_execution")["assignee"] == "mark"
    returned = complete(at_control, "check_execution", MANAGER, execution_accepted=False)
    assert task(returned, "execute")["assignee"] == "ivan"
    at_control = complete(returned, "execute", EXECUTOR, report="Ответ отправлен 5 марта")
    done = complete(at_control, "check_execution", MANAGER, execution_accepted=True)
    assert done["status"] == "completed"
    card = cards.get_card(CLERK, card.id)
    assert card.status == "filed" and card.case_index == "01-05"
    assert TransferLog.objects(card_id=card.id).first().note == "Ответ отправлен 5 марта"
    assert instances.variables(done)["case_index"] == "01-05"


def test_a_document_registered_by_hand_keeps_its_number(procedure: None) -> None:
    doc = document(kind="internal", title="Служебная записка")
    card = cards.register_document(CLERK, doc.id, journal(code="ВН", kind="internal").id)
    # Registration started the procedure itself (it is deployed).
    started = instances.get(card.process_instance_id)
    assert instances.variables(started)["card_id"] == str(card.id)
    at_resolution = complete(started, "check_requisites", OFFICE, requisites_ok=True, journal="ВН")
    assert instances.variables(at_resolution)["registration"]["number"] == card.number
    assert RegistrationCard.objects(document_id=doc.id).count() == 1


def test_an_incoming_document_starts_it_when_created(procedure: None) -> None:
    autostart.set_enabled("document_registration", True, CLERK)
    doc = document(kind="incoming", title="Входящее")
    [started] = ProcessInstance.objects(process_key="document_registration")
    assert started.subject["id"] == str(doc.id)
    at_resolution = complete(
        instances.get(started.id), "check_requisites", OFFICE, requisites_ok=True, journal="ВХ"
    )
    card = cards.card_of_document(CLERK, doc.id)
    assert card.process_instance_id is None  # registered by the procedure itself
    assert instances.variables(at_resolution)["registration"]["card_id"] == str(card.id)


def test_the_deadline_timer_tells_the_controller_and_executor(
    procedure: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    for name in ("carl", "ivan"):
        make_user(name)
    doc = document(title="Срочный")
    started = start(doc.id, terms={"execution_due_in": "PT1S"})
    at_resolution = complete(started, "check_requisites", OFFICE, requisites_ok=True, journal="ВХ")
    at_execution = complete(at_resolution, "resolve", MANAGER, **resolution(controller="carl"))
    assert task(at_execution, "execute")["assignee"] == "ivan"
    time.sleep(1.2)
    told: set[str] = set()
    for _ in range(40):
        jobs.run_due("test-worker")
        told = {n.user for n in Notification.objects(__raw__={"key": {"$regex": "^notify:"}})}
        if told:
            break
        time.sleep(0.25)
    assert told == {"carl", "ivan"}
    # The work is still owed: the executor's task stays open.
    still = instances.get(at_execution["_id"])
    assert task(still, "execute")["assignee"] == "ivan" and still["status"] == "active"
