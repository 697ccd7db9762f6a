"""A designer shares a linear procedure prototype with a colleague by keyboard; the
colleague then finds it in their builder and may start it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from engine import linear, linear_procedures
from engine.actor import Actor

from .conftest import sign_in

Shot = Callable[[str], Path]
DESIGNER = Actor("designer", frozenset({"designers"}))


def test_designer_shares_a_prototype(served: str, page: Page, shot: Shot) -> None:
    linear_procedures.create(
        DESIGNER,
        "Закупка бумаги",
        None,
        [linear.Step(title="Согласовать", executor="designer")],
        save_as_prototype=True,
    )
    sign_in(page, served, "designer")
    page.goto(f"{served}/ui/linear")
    page.get_by_role("link", name="Share Закупка бумаги").click()
    box = page.get_by_label("Мария Петрова (manager)")
    box.focus()
    page.keyboard.press("Space")  # a checkbox ticks from the keyboard
    expect(box).to_be_checked()
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll("input:not([type=hidden])"))
            .filter(el => !(el.labels && el.labels.length)).map(el => el.id)"""
    )
    assert unlabelled == []
    shot("share")
    page.locator("form.share-form button[type=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("Закупка бумаги")
    expect(page.locator("table.list")).to_contain_text("manager")

    page.context.clear_cookies()
    sign_in(page, served, "manager")
    page.goto(f"{served}/ui/linear")
    row = page.locator("table.list tr", has_text="Закупка бумаги")
    expect(row.get_by_role("button", name="Запустить Закупка бумаги")).to_be_visible()
    expect(row.get_by_role("link", name="Поделиться: Закупка бумаги")).to_have_count(0)
    page.set_viewport_size({"width": 768, "height": 1024})
    shot("shared-prototype-tablet")
