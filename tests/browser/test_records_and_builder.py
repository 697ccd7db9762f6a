"""Real users in a real browser: a clerk registers an incoming letter and sends it to an
executor, who completes the work from the mailbox; a user builds a 3-step linear procedure,
watches its preview, starts it, and the first executor sees the task."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from accounts import service as accounts
from documents import cards, journals
from engine import definitions, instances
from engine.actor import Actor
from mail.models import Notification
from tests.mail_helpers import drain

from .conftest import DATA, sign_in

Shot = Callable[[str], Path]
CLERK = Actor("clerk", frozenset({"office"}))


def _sign_out(page: Page) -> None:
    page.context.clear_cookies()


def test_clerk_registers_a_letter_and_the_executor_completes_it(
    served: str, page: Page, shot: Shot
) -> None:
    accounts.create_user("clerk", "clerk-password", ["office"], full_name="Клара Секретарь")
    accounts.create_user("executor", "executor-password", ["staff"], full_name="Егор Исполнитель")
    journal = journals.create_journal(CLERK, "ВХ", "Входящие письма", "incoming", "{journal}-{seq}")
    definitions.deploy(
        (DATA.parents[2] / "bpmn" / "document_execution.bpmn").read_bytes(),
        "document_execution.bpmn",
        "test",
    )

    sign_in(page, served, "clerk")
    page.locator("nav.main-nav a[href$='/ui/records']").click()
    expect(page.locator("table.list")).to_contain_text("Входящие письма")
    page.locator("a[href$='/ui/records/register/incoming']").click()
    page.locator("#f-journal_id").select_option(str(journal.id))
    page.locator("#f-title").fill("О поставке бумаги")
    page.locator("#f-summary").fill("Просят подтвердить объём поставки на декабрь")
    page.locator("#f-party").fill("ООО «Ромашка»")
    page.locator("#f-correspondent_number").fill("15/3")
    page.locator("#f-correspondent_date").fill("2026-11-20")
    page.locator("#f-deadline").fill("2030-12-10")
    shot("register-form")
    page.locator("form.org-form button[type=submit]").click()

    expect(page.locator("h1")).to_contain_text("№ ВХ-1")
    expect(page.locator(".flash.success")).to_contain_text("ВХ-1")
    page.locator("#f-executor").fill("executor")
    page.locator("#f-text").fill("Подготовить ответ")
    shot("card")
    page.locator("form[action$='/send'] button[type=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("executor")
    expect(page.locator(".badge.s-in_work")).to_be_visible()

    page.locator("#tab-acquaintance").click()  # the tab swaps in place
    page.locator("#f-person").fill("Иванов И. И.")
    page.locator("#tab-panel form.inline-form button[type=submit]").click()
    expect(page.locator("#tab-panel")).to_contain_text("Иванов И. И.")
    shot("acquaintance-log")

    _sign_out(page)
    sign_in(page, served, "executor")
    row = page.locator("#task-list tr", has_text="Execute the document")
    expect(row).to_contain_text("ВХ-1")
    row.get_by_role("link", name="Execute the document").click()
    page.get_by_label("Отчёт об исполнении").fill("Ответ подготовлен и отправлен")
    shot("executor-task")
    page.get_by_role("button", name="Выполнить").click()
    expect(page.locator(".flash.success")).to_contain_text("Execute the document")
    expect(page.locator("#task-list")).not_to_contain_text("Execute the document")

    drain()  # the sender is told by a background job (no worker runs in these tests)
    (card,) = cards.list_cards(CLERK)
    assert instances.get(card.assignments[0]["instance_id"])["status"] == "completed"
    assert Notification.objects(user="clerk", title__contains=card.number).count() == 1


def test_user_builds_a_three_step_linear_procedure(served: str, page: Page, shot: Shot) -> None:
    sign_in(page, served, "designer")
    page.goto(f"{served}/ui/linear")
    page.locator("#f-title").fill("Служебная записка о закупке")
    page.locator("#f-subject_type").select_option("organization")
    page.locator("#f-subject_id").fill("org-42")
    page.locator("#f-subject_title").fill("ООО «Ромашка»")
    page.locator("#steps-0-title").fill("Подготовить записку")
    page.locator("#steps-0-executor").select_option("manager")
    page.locator("#steps-0-working_days").fill("2")
    page.locator("#add-step").click()
    page.locator("#steps-1-title").fill("Утвердить")
    page.locator("#steps-1-executor").select_option("designer")
    page.locator("#add-step").click()
    page.locator("#steps-2-title").fill("Согласовать")
    page.locator("#steps-2-executor").select_option("group:sales")
    page.locator("#steps-2-on_reject").select_option("back")
    page.locator("#steps-2-back_to").fill("1")
    # Move "Согласовать" before "Утвердить": the rows are renumbered.
    page.locator("[data-step]").nth(2).locator("[data-move='-1']").click()
    expect(page.locator("#steps-1-title")).to_have_value("Согласовать")
    page.locator("#steps-1-back_to").fill("1")

    preview = page.locator("#preview[data-loaded=true][data-steps='3']")
    expect(preview).to_be_visible()
    for element_id, name in (
        ("step_1", "Подготовить записку"),
        ("step_2", "Согласовать"),
        ("step_3", "Утвердить"),
    ):
        expect(preview.locator(f".djs-element[data-element-id={element_id}]")).to_contain_text(name)
    shot("builder-preview")

    page.locator("#steps-1-executor").select_option("")  # an error shows next to the preview
    expect(page.locator("#preview-errors")).to_contain_text("Step 2 · Executor")
    page.locator("#steps-1-executor").select_option("group:sales")
    expect(page.locator("#preview-errors")).to_be_empty()
    page.locator("input[name=save_as_prototype]").check()
    page.locator("#linear-form button[type=submit]").click()

    page.wait_for_url(re.compile(r".*/ui/monitor/instances/.*"))
    expect(page.locator(".flash.success")).to_contain_text("Служебная записка о закупке")
    shot("started")

    _sign_out(page)
    sign_in(page, served, "manager")
    row = page.locator("#task-list tr", has_text="Подготовить записку")
    expect(row).to_be_visible()
    shot("first-executor-mailbox")
