"""Delegating a task in a real browser: the assignee hands it on with "return to me for
acceptance", the delegate submits the form, the assignee accepts and the task completes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from engine import definitions, instances
from engine.actor import Actor
from engine.models import HumanTask, ProcessEvent
from tests.conftest import bpmn

from .conftest import sign_in

Shot = Callable[[str], Path]


def _sign_out(page: Page, button: str = "Выйти") -> None:
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name=button).click()
    expect(page.locator("#username")).to_be_visible()


def test_delegate_submit_and_accept(served: str, page: Page, shot: Shot) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "test")
    instances.start("approval", Actor("manager", frozenset({"sales"})))
    task = HumanTask.objects(status="open", assignee="manager").get()
    sign_in(page, served, "manager")
    page.get_by_role("link", name="Review the request").click()
    page.locator("#delegation summary").click()
    page.get_by_label("Кому (имя пользователя)").fill("designer")
    page.get_by_label("Вернуть мне на приёмку").check()
    page.locator("#delegate-comment").fill("Проверьте, пожалуйста")
    shot("delegating")
    page.locator(".delegate-form button[type=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("designer")
    _sign_out(page)

    sign_in(page, served, "designer")  # English UI
    page.goto(f"{served}/ui/tasks/{task.task_guid}")
    expect(page.locator("#delegation")).to_contain_text("Проверьте, пожалуйста")
    submit = page.locator(".task-form button[type=submit]")
    expect(submit).to_have_text("Submit for acceptance")
    page.locator("#field-decision").select_option("approve")
    shot("delegate-submits")
    submit.click()
    expect(page.locator(".flash.success")).to_contain_text("manager")
    _sign_out(page, "Sign out")

    sign_in(page, served, "manager")
    page.goto(f"{served}/ui/tasks/{task.task_guid}")
    expect(page.locator("#delegation h2")).to_have_text("Возвращено на приёмку")
    expect(page.locator("#delegation dl")).to_have_text(re.compile(r"Решение\s*Approve"))
    shot("accepting")
    page.get_by_role("button", name="Принять").click()
    expect(page.locator(".flash.success")).to_be_visible()
    task.reload()
    assert (task.status, task.completed_by) == ("completed", "manager")
    [done] = ProcessEvent.objects(instance_id=task.instance_id, type="task_completed")
    assert (done.actor, done.data["delegate"]) == ("manager", "designer")
