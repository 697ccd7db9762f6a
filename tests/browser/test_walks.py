"""Real users in a real browser: a manager logs a call and follows it up; a designer
uploads a diagram, edits it in the modeler, deploys v2 and watches an instance; the
language switch."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from engine import instances
from engine.actor import Actor
from registry import organizations

from .conftest import DATA, sign_in

Shot = Callable[[str], Path]


def _organization() -> str:
    manager = Actor("manager", frozenset({"sales"}))
    org = organizations.create(
        manager,
        {
            "name": "Общество с ограниченной ответственностью «Ромашка»",
            "short_name": "ООО «Ромашка»",
            "legal_form": "ООО",
            "inn": "7707083893",
            "kpp": "773601001",
            "ogrn": "1027700132195",
            "phones": ["+7 495 500-55-50"],
            "emails": ["office@romashka.example"],
            "legal_address": {
                "index": "117997",
                "city": "Москва",
                "street": "ул. Вавилова",
                "house": "19",
            },
        },
    )
    organizations.create(manager, {"name": "АО «Лютик»", "inn": "7736207543"})
    return str(org.id)


def _calls_in_progress() -> None:
    """Some calls of other people, so that the monitor has rows to show."""
    manager = Actor("manager", frozenset({"sales"}))
    for i, title in enumerate(("ООО «Ромашка»", "АО «Лютик»", "ИП Васильков")):
        org = organizations.create(manager, {"name": title})
        doc = instances.start(
            "incoming_call",
            manager,
            subject={"type": "organization", "id": str(org.id), "title": title},
        )
        if i == 1:
            guid = doc["open_tasks"][0]["guid"]
            instances.complete_task(
                guid, manager, {"subject": "Счёт", "result": "Оплатят", "follow_up": True}
            )


def test_manager_logs_a_call_and_completes_the_follow_up(
    served: str, page: Page, shot: Shot
) -> None:
    _organization()
    sign_in(page, served, "manager")
    page.get_by_role("link", name="Организации").click()
    page.get_by_label("Поиск").fill("ромаш")
    expect(page.locator("#results")).not_to_contain_text("Лютик")
    page.get_by_role("link", name="ООО «Ромашка»").click()
    expect(page.get_by_role("heading", name="ООО «Ромашка»")).to_be_visible()
    expect(page.locator("#tab-panel")).to_contain_text("7707083893")
    shot("organization-card")
    page.get_by_role("tab", name="Действия").click()
    expect(page.locator("#tab-panel")).to_contain_text("Действий пока нет")

    page.locator("#tab-panel").get_by_role("button", name="Зарегистрировать звонок").click()
    expect(page.get_by_role("heading", name="Record the call")).to_be_visible()
    expect(page.locator(".diagram[data-loaded=true]")).to_be_visible()
    page.get_by_label("Тема").fill("Цены на поставку")
    page.get_by_label("Результат").fill("Попросили прайс-лист, перезвоним завтра")
    page.get_by_label("Нужен повторный контакт").check()
    page.get_by_label("Дата повторного контакта").fill("2030-01-10")
    shot("task-form")
    page.get_by_role("button", name="Выполнить").click()

    expect(page.locator(".flash.success")).to_contain_text("Record the call")
    row = page.locator("#task-list tr", has_text="Follow-up call")
    expect(row).to_contain_text("ООО «Ромашка»")
    expect(page.locator("[data-count=all]")).to_have_text("1")
    shot("mailbox")
    row.get_by_role("link", name="Follow-up call").click()
    page.get_by_role("button", name="Выполнить").click()
    # The browser checks the required field before the server is asked.
    expect(page.get_by_role("heading", name="Follow-up call")).to_be_visible()
    page.get_by_label("Итог").fill("Договорились о встрече")
    page.get_by_role("button", name="Выполнить").click()
    expect(page.locator("#task-list")).to_contain_text("Заданий нет")

    page.get_by_role("link", name="Монитор").click()
    expect(page.locator(".tl-row", has_text="incoming_call")).to_contain_text("завершён")


def test_designer_uploads_edits_deploys_and_watches(served: str, page: Page, shot: Shot) -> None:
    sign_in(page, served, "designer")
    expect(page.get_by_role("heading", name="Mailbox")).to_be_visible()  # English user
    page.get_by_role("link", name="Procedures").click()
    page.get_by_label("Upload a BPMN or DMN file").set_input_files(DATA / "call_back.bpmn")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator(".flash.success")).to_contain_text("call_back version 1")
    expect(page.locator("#diagram[data-loaded=true]")).to_be_visible()
    expect(page.locator("#diagram .djs-element[data-element-id=call_customer]")).to_be_visible()
    shot("diagram")

    page.get_by_role("link", name="Edit in the modeler").click()
    expect(page.locator("#modeler[data-loaded=true]")).to_be_visible()
    page.locator("#modeler .djs-element[data-element-id=call_customer]").click()
    page.get_by_label("Name", exact=True).fill("Call the customer back")
    expect(page.locator("#modeler [data-element-id=call_customer]")).to_contain_text(
        "Call the customer back"
    )
    shot("modeler")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#modeler-status")).to_contain_text("Deployed version 2")
    page.locator("#modeler-status a").click()

    expect(page.get_by_role("heading", name=re.compile("v2"))).to_be_visible()
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name="Call the customer back")).to_be_visible()
    page.get_by_label("Minutes").fill("900")
    page.get_by_label("Outcome").fill("Not reached")
    page.locator("#field-minutes").evaluate("el => el.removeAttribute('max')")
    page.get_by_role("button", name="Complete").click()
    # The server's own check, shown next to the field.
    expect(page.locator("#field-minutes-errors")).to_contain_text("must be at most 600")

    _calls_in_progress()
    page.get_by_role("link", name="Monitor").click()
    row = page.locator(".tl-row", has_text="call_back")
    expect(row).to_contain_text("v2")
    expect(row.locator(".bar")).to_have_count(1)
    page.get_by_label("Day").check()
    expect(page).to_have_url(re.compile(r"zoom=day"))
    expect(page.locator(".tl-head .tick").first).to_contain_text(":")  # hours on a day scale
    shot("monitor")
    row.get_by_role("link", name="call_back").click()
    expect(page.locator("#diagram[data-loaded=true]")).to_be_visible()
    expect(page.locator("#diagram .djs-element.active-task")).to_have_count(1)
    page.get_by_role("button", name="Suspend").click()
    expect(page.locator(".flash.success")).to_contain_text("Instance suspended")
    shot("instance")


def test_language_switch(served: str, page: Page, shot: Shot) -> None:
    sign_in(page, served, "manager")
    expect(page.get_by_role("heading", name="Почта")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_role("heading", name="Mailbox")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Organizations")).to_be_visible()
    shot("english")
    page.get_by_role("button", name="RU").click()
    expect(page.get_by_role("heading", name="Почта")).to_be_visible()
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", name="Вход")).to_be_visible()


def test_tablet_width(served: str, page: Page, shot: Shot) -> None:
    page.set_viewport_size({"width": 800, "height": 1100})
    _organization()
    sign_in(page, served, "manager")
    page.goto(f"{served}/ui/organizations")
    page.get_by_role("link", name="ООО «Ромашка»").click()
    # The card must have loaded before the key goes to it (a loaded machine is slow).
    expect(page.get_by_role("heading", name="ООО «Ромашка»")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800
    shot("tablet-card")
