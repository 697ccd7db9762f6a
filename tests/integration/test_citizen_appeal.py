"""The shipped citizen_appeal procedure (59-FZ), every path: registration in the procedure
and its 3-day timer; the redirect branch with its notice and its 7-day timer; an executor,
the extension with its notice, a returned answer, the signed answer sent; the answer timer."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from argon2 import PasswordHasher

from accounts import service as accounts
from documents import appeals, files, signatures, templates
from documents import operators as documents_operators
from documents.models import CitizenAppeal
from engine import definitions, instances, jobs
from engine.actor import Actor
from mail import operators as mail_operators
from mail.models import Notification
from tests.mail_helpers import make_user

from .documents_helpers import CLERK, journal

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "citizen_appeal.bpmn"
SECRET = "appeal-secret"
OFFICE = Actor("olga", frozenset({"office"}))
EXECUTOR = Actor("ivan", frozenset({"staff"}))
HEAD = Actor("helen", frozenset({"heads"}))
__all__ = ["documents_operators", "mail_operators"]  # importing registers the operators


@pytest.fixture()
def procedure(db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    documents_operators.configure(SECRET)
    definitions.deploy(BPMN.read_bytes(), BPMN.name, "test")
    journal(code="ОГ", kind="appeal", template="{journal}-{seq}")
    doc = docx.Document()
    doc.add_paragraph("Уважаемый(ая) {{ authors[0] }}! На обращение № {{ number }}:")
    doc.add_paragraph("{{ answer_text }}")
    out = io.BytesIO()
    doc.save(out)
    templates.upload_template(CLERK, "appeal_answer", "answer.docx", io.BytesIO(out.getvalue()))
    make_user("olga", ("office",))
    make_user("ivan")
    signatures.issue_key("helen", SECRET)
    yield
    documents_operators.configure("")


def task(doc: dict[str, Any], bpmn_id: str) -> dict[str, Any]:
    found = [t for t in doc["open_tasks"] if t["bpmn_id"] == bpmn_id]
    assert found, f"no open task {bpmn_id}: {[t['bpmn_id'] for t in doc['open_tasks']]}"
    return found[0]


def complete(doc: dict[str, Any], bpmn_id: str, actor: Actor, **data: Any) -> dict[str, Any]:
    return instances.complete_task(task(doc, bpmn_id)["guid"], actor, data)


def notified(prefix: str) -> set[str]:
    """Users told by notifications whose key starts with `prefix` (a string `$regex`)."""
    found = Notification.objects(__raw__={"key": {"$regex": "^" + prefix}})
    return {n.user for n in found}


def run_timers_until(prefix: str, seconds: float = 10.0) -> set[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        jobs.run_due("test-worker")
        told = notified(prefix)
        if told:
            return told
        time.sleep(0.2)
    return set()


REGISTRATION = {
    "journal": "ОГ",
    "author_name": "Петров Пётр",
    "postal_address": "Москва, ул. Ленина, 1",
    "topic": "0003.0008",
    "channel": "post",
    "summary": "Прошу отремонтировать дорогу",
}


def test_registered_late_then_redirected_with_a_notice(procedure: None) -> None:
    started = instances.start("citizen_appeal", CLERK, {"terms": {"register_in": "PT1S"}})
    register = task(started, "register_task")
    assert register["candidates"] == ["group:office"] and register["due_at"] is not None
    time.sleep(1.1)
    assert run_timers_until(f"notify:{started['_id']}:registration_term") == {"olga"}
    at_consider = complete(instances.get(started["_id"]), "register_task", OFFICE, **REGISTRATION)
    appeal_id = instances.variables(at_consider)["appeal_id"]
    appeal = appeals.get_appeal(CLERK, appeal_id)
    assert appeal.number == "ОГ-1" and appeal.authors[0].name == "Петров Пётр"
    assert task(at_consider, "consider")["due_at"] is not None
    done = complete(
        at_consider,
        "consider",
        OFFICE,
        decision="redirect",
        to_organization="Администрация района",
        redirect_reason="вопрос местного значения",
    )
    assert done["status"] == "completed"
    appeal = appeals.get_appeal(CLERK, appeal_id)
    assert appeal.status == "redirected" and appeal.redirected_to == "Администрация района"
    assert [n.kind for n in appeal.notices] == ["redirect"]
    assert appeal.notices[0].to == ["Москва, ул. Ленина, 1"]


def registered_appeal() -> CitizenAppeal:
    return appeals.register_appeal(
        CLERK,
        journal(code="ОГ2", kind="appeal", template="{journal}-{seq}").id,
        [{"name": "Сидорова Анна", "email": "anna@example.org"}],
        topic="0003.0009",
        channel="email",
        summary="Прошу установить светофор",
        start_procedure=False,
    )


def test_the_redirect_timer_tells_the_office(procedure: None) -> None:
    appeal = registered_appeal()
    started = instances.start(
        "citizen_appeal",
        CLERK,
        {"terms": {"redirect_in": "PT1S"}},
        subject={"type": "appeal", "id": str(appeal.id)},
    )
    assert task(started, "consider")  # registered already: straight to the decision
    time.sleep(1.1)
    assert run_timers_until(f"notify:{started['_id']}:redirect_term") == {"olga"}


def test_executor_extends_answers_is_returned_and_the_signed_answer_is_sent(
    procedure: None,
) -> None:
    appeal = registered_appeal()
    started = instances.start(
        "citizen_appeal", CLERK, {}, subject={"type": "appeal", "id": str(appeal.id)}
    )
    at_prepare = complete(started, "consider", OFFICE, decision="consider", executor="ivan")
    prepare = task(at_prepare, "prepare_answer")
    assert prepare["assignee"] == "ivan"
    first_due = prepare["due_at"]
    extended = complete(
        at_prepare,
        "prepare_answer",
        EXECUTOR,
        action="extend",
        extension_days=30,
        extension_reason="запрос в ГИБДД",
    )
    again = appeals.get_appeal(CLERK, appeal.id)
    assert again.extended_days == 30 and again.deadline > again.original_deadline
    assert [n.kind for n in again.notices] == ["extension"]
    assert task(extended, "prepare_answer")["due_at"] > first_due
    at_sign = complete(
        extended, "prepare_answer", EXECUTOR, action="answer", answer_text="Светофор будет"
    )
    assert task(at_sign, "sign_answer")["candidates"] == ["group:heads"]
    returned = complete(at_sign, "sign_answer", HEAD, approved=False, sign_comment="уточните")
    at_sign = complete(
        returned,
        "prepare_answer",
        EXECUTOR,
        action="answer",
        answer_text="Светофор установят в мае",
    )
    done = complete(at_sign, "sign_answer", HEAD, approved=True)
    assert done["status"] == "completed"
    answered = appeals.get_appeal(CLERK, appeal.id)
    assert answered.status == "answered" and answered.answered_on is not None
    assert [n.kind for n in answered.notices] == ["extension", "answer"]
    assert answered.notices[1].text == "Светофор установят в мае"
    assert answered.notices[1].to == ["anna@example.org"]
    data = instances.variables(done)
    stored = files.get_file(CLERK, data["answer_file_id"])
    text = "\n".join(
        p.text
        for p in docx.Document(io.BytesIO(files.read_bytes(files.version_of(stored)))).paragraphs
    )
    assert "Сидорова Анна" in text and "Светофор установят в мае" in text
    verification = signatures.verify(CLERK, data["signature_id"])
    assert verification.status == "valid" and verification.signature.signer == "helen"
    # Two renderings (the returned answer and the final one); the final one is signed.
    doc_files = signatures.signatures_of_document(CLERK, answered.document_id)
    assert [s["file"].id for s in doc_files] == [stored.id]


def test_the_answer_timer_tells_the_executor_and_the_office(procedure: None) -> None:
    appeal = registered_appeal()
    started = instances.start(
        "citizen_appeal",
        CLERK,
        {"terms": {"answer_in": "PT1S"}},
        subject={"type": "appeal", "id": str(appeal.id)},
    )
    at_prepare = complete(started, "consider", OFFICE, decision="consider", executor="ivan")
    time.sleep(1.1)
    assert run_timers_until(f"notify:{at_prepare['_id']}:answer_term") == {"ivan", "olga"}
    still = instances.get(at_prepare["_id"])
    assert task(still, "prepare_answer")["assignee"] == "ivan"
