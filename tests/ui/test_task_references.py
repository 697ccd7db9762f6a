"""A task page lists its procedure's reference documents."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from accounts import service as accounts
from documents import office
from engine.actor import Actor
from engine.models import HumanTask


def test_the_registration_task_shows_the_instruction(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    accounts.create_user("olga", "olga-password", ["office"])
    # The shipped document_registration starts by itself for an incoming document.
    office.create_document(Actor("olga", frozenset({"office"})), "incoming", "Письмо")
    task = HumanTask.objects(bpmn_id="check_requisites").first()
    assert task is not None and task.candidates == ["group:office"]
    page = sign_in("olga").get(f"/ui/tasks/{task.task_guid}").get_data(as_text=True)
    assert "Инструкция по делопроизводству" in page
    assert "instruction-records-office" in page
