"""The sales board in a real browser: dragging a card moves the deal in the database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from engine.actor import Actor
from registry import organizations
from sales import deals, pipelines
from sales.models import Deal

from .conftest import sign_in

Shot = Callable[[str], Path]
STAGES = [
    {"key": "lead", "name": "Лид", "probability": 10},
    {"key": "offer", "name": "Предложение", "probability": 40},
    {"key": "won", "name": "Успех", "kind": "won"},
    {"key": "lost", "name": "Отказ", "kind": "lost"},
]


def test_dragging_a_card_moves_the_deal(served: str, page: Page, shot: Shot) -> None:
    manager = Actor("manager", frozenset({"sales"}))
    pipelines.create(Actor("root", is_admin=True), {"key": "b2b", "name": "B2B", "stages": STAGES})
    org = organizations.create(manager, {"name": "ООО «Ромашка»"})
    deal = deals.create(
        manager,
        {"pipeline": "b2b", "organization": str(org.id), "title": "Насосы", "amount": "1000"},
    )
    other = deals.create(
        manager,
        {"pipeline": "b2b", "organization": str(org.id), "title": "Клапаны", "amount": "10"},
    )
    sign_in(page, served, "manager")
    page.get_by_role("link", name="Продажи").click()
    expect(page.get_by_role("heading", name="B2B")).to_be_visible()
    card = page.locator(f"#deal-{deal.id}")
    offer = page.locator(".kanban-column[data-stage=offer]")
    expect(page.locator(".kanban-column[data-stage=lead] .kanban-card")).to_have_count(2)
    shot("board-before")
    card.drag_to(offer)
    expect(offer.locator(f"#deal-{deal.id}")).to_be_visible()
    expect(offer.locator("[data-count]")).to_have_text("1")
    stored = Deal.objects(id=deal.id).get()
    assert (stored.stage, stored.probability, [e.stage for e in stored.stage_log]) == (
        "offer",
        40,
        ["lead", "offer"],
    )
    expect(card).to_have_attribute("data-version", str(stored.version))
    shot("board-after")
    # The same service checks apply: a card changed since the board was drawn is refused.
    deals.update(manager, other.id, {"amount": "20"})
    page.locator(f"#deal-{other.id}").drag_to(offer)
    expect(page.locator("#board-status")).to_contain_text("Сделка не перемещена")
    expect(page.locator(f".kanban-column[data-stage=lead] #deal-{other.id}")).to_be_visible()
    assert Deal.objects(id=other.id).get().stage == "lead"
