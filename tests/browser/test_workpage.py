"""The workpage in a real browser: arranging widgets (drag and drop, keyboard arrows,
show/hide) is saved per user and comes back after signing out and in again."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from engine.actor import Actor
from registry import organizations

from .conftest import sign_in

Shot = Callable[[str], Path]


def _rows(page: Page) -> list[str]:
    return page.locator("[data-arrange] li").evaluate_all(
        "rows => rows.map(r => r.querySelector('input[name=order]').value)"
    )


def _sections(page: Page) -> list[str]:
    return page.locator("section.widget").evaluate_all(
        "found => found.map(s => s.getAttribute('data-widget'))"
    )


def test_the_arranged_workpage_survives_signing_out(served: str, page: Page, shot: Shot) -> None:
    organizations.create(Actor("manager", frozenset({"sales"})), {"name": "ООО «Ромашка»"})
    sign_in(page, served, "manager")
    page.get_by_role("link", name="Рабочий стол").click()
    expect(page.get_by_role("heading", name="Рабочий стол", exact=True)).to_be_visible()
    assert _sections(page) == ["my_tasks", "my_processes"]  # the default
    page.locator("#arrange summary").click()
    assert _rows(page) == [
        "my_tasks",
        "my_processes",
        "my_orders",
        "my_deals",
        "appeals_overdue",
        "recent_organizations",
        "department_tasks",
        "delegated_tasks",
    ]
    # Drag "recent organizations" onto the upper half of the first row: it goes first.
    page.locator("[data-arrange] li[data-name=recent_organizations]").drag_to(
        page.locator("[data-arrange] li").first, target_position={"x": 20, "y": 3}
    )
    assert _rows(page)[0] == "recent_organizations"
    # Keyboard: focus the up arrow of "my deals" and press it twice.
    up = page.locator("[data-arrange] li[data-name=my_deals] button[data-move=up]")
    up.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(up).to_be_focused()
    assert _rows(page) == [
        "recent_organizations",
        "my_tasks",
        "my_deals",
        "my_processes",
        "my_orders",
        "appeals_overdue",
        "department_tasks",
        "delegated_tasks",
    ]
    page.get_by_role("checkbox", name="Мои сделки").check()
    page.get_by_role("checkbox", name="Недавние организации").check()
    page.get_by_role("checkbox", name="Мои процессы").uncheck()
    shot("arranged")
    page.get_by_role("button", name="Сохранить расположение").click()
    expect(page.locator(".flash.success")).to_be_visible()
    expected = ["recent_organizations", "my_tasks", "my_deals"]
    assert _sections(page) == expected
    expect(page.locator("section[data-widget=recent_organizations]")).to_contain_text(
        "ООО «Ромашка»"
    )
    shot("saved")

    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", name="Вход")).to_be_visible()
    sign_in(page, served, "manager")
    page.get_by_role("link", name="Рабочий стол").click()
    expect(page).to_have_url(re.compile(r".*/ui/workpage$"))
    assert _sections(page) == expected
    page.locator("#arrange summary").click()
    assert _rows(page)[:3] == expected
    assert (
        page.locator("[data-arrange] input[name=show]:checked").evaluate_all(
            "boxes => boxes.map(b => b.value)"
        )
        == expected
    )
    shot("after-signing-in-again")
    # Another user still has the default.
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Выйти").click()
    sign_in(page, served, "designer")
    page.goto(f"{served}/ui/workpage")
    assert _sections(page) == ["my_tasks", "my_processes"]
