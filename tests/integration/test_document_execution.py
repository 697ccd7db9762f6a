"""The shipped document_execution procedure: a card sent to an executor, executed by its
deadline, and the sender told the result."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from accounts import service as accounts
from documents import cards
from engine import definitions, instances
from engine.actor import Actor
from engine.errors import FormInvalid
from engine.models import HumanTask
from mail import operators as _mail_operators  # noqa: F401 - notify
from mail.models import Notification
from tests.mail_helpers import drain

from .documents_helpers import CLERK, document, journal

BPMN = Path(__file__).parents[2] / "bpmn" / "document_execution.bpmn"
EXECUTOR = Actor("alice", frozenset({"sales"}))


@pytest.fixture(autouse=True)
def deployed(db: None) -> None:
    for name, groups in (("clerk", ["office"]), ("alice", ["sales"])):
        accounts.create_user(name, f"password-{name}-1", groups)
    definitions.deploy(BPMN.read_bytes(), BPMN.name, "test")


def test_the_executor_reports_and_the_sender_is_told() -> None:
    card = cards.register_document(CLERK, document(title="Запрос").id, journal().id)
    card = cards.send_to_executor(CLERK, card.id, "alice", "Подготовить ответ", date(2031, 3, 2))
    (sent,) = card.assignments
    task = HumanTask.objects(instance_id=sent["instance_id"], status="open").get()
    assert task.assignee == "alice" and task.bpmn_id == "execute"
    assert task.due_at is not None and task.due_at.date() == date(2031, 3, 2)
    done = instances.complete_task(task.task_guid, EXECUTOR, {"report": "Ответ подготовлен"})
    drain()
    assert instances.get(done["_id"])["status"] == "completed"
    (notice,) = Notification.objects(user="clerk")
    assert card.number in notice.title and notice.text == "Ответ подготовлен"


def test_a_report_is_required_and_no_deadline_means_no_due_date() -> None:
    card = cards.register_document(CLERK, document().id, journal().id)
    card = cards.send_to_executor(CLERK, card.id, "alice")
    task = HumanTask.objects(instance_id=card.assignments[0]["instance_id"]).get()
    assert task.due_at is None
    with pytest.raises(FormInvalid) as refused:
        instances.complete_task(task.task_guid, EXECUTOR, {})
    assert refused.value.errors == {"report": ["is required"]}
