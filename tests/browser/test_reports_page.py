"""The reports page in a real browser: Chart.js draws every chart from the user's data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from engine.actor import Actor
from registry import contracts, organizations

from .conftest import sign_in

Shot = Callable[[str], Path]


def test_the_dashboard_draws_its_charts(served: str, page: Page, shot: Shot) -> None:
    manager = Actor("manager", frozenset({"sales"}))
    org = organizations.create(manager, {"name": "ООО «Ромашка»"})
    for i, stage in enumerate(("draft", "approval", "signed", "signed")):
        contracts.create(
            manager,
            {
                "organization": org.id,
                "role": "executor",
                "number": f"Д-{i}",
                "stage": stage,
                "amount": "100000.00",
            },
        )
    sign_in(page, served, "manager")
    page.get_by_role("link", name="Отчёты").click()
    expect(page.get_by_role("heading", name="Отчёты", exact=True)).to_be_visible()
    cards = page.locator(".chart-card")
    expect(cards).to_have_count(5)
    funnel = cards.filter(has_text="Воронка продаж")
    # Chart.js sizes the canvas when it draws; an undrawn canvas keeps its default 300×150.
    page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 5")
    drawn = page.evaluate(
        """() => Object.values(window.Chart.instances)
              .find((c) => c.data.labels.includes('подписан')).data.datasets[0].data"""
    )
    assert drawn[:3] == [1, 1, 2]
    expect(funnel.get_by_role("link", name="CSV")).to_have_attribute(
        "href", "/ui/reports/charts/sales_funnel.csv"
    )
    shot("reports-dashboard")
