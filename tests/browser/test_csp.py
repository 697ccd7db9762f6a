"""The pages work under the strict script policy (no inline script, no eval): the browser
reports no violation, htmx tabs still switch, and a script injected into the page does
not run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, expect

from engine.actor import Actor
from registry import contacts, organizations

from .conftest import sign_in

Shot = Callable[[str], Path]


def test_pages_run_under_the_strict_policy(served: str, page: Page, shot: Shot) -> None:
    manager = Actor("manager", frozenset({"sales"}))
    org = organizations.create(manager, {"name": "ООО «Ромашка»", "inn": "7707083893"})
    contacts.create(manager, {"name": "Иван Петров", "organization": str(org.id)})
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in (message.text):
            violations.append(f"{page.url}: {message.text}")

    page.on("console", watch)
    sign_in(page, served, "manager")
    for path in ("/ui/mailbox", "/ui/organizations", f"/ui/organizations/{org.id}", "/ui/mail"):
        page.goto(f"{served}{path}")
        page.wait_for_load_state("networkidle")

    # htmx loads the Contacts tab and static/app.js marks it selected (it was hx-on).
    page.goto(f"{served}/ui/organizations/{org.id}")
    page.locator("#tab-contacts").click()
    expect(page.locator("#tab-contacts")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-main")).to_have_attribute("aria-selected", "false")
    expect(page.locator("#tab-panel")).to_contain_text("Иван Петров")
    shot("contacts-tab")
    assert not violations, violations

    # An inline script slipped into the page is refused by the browser.
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.injected = true'; document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.injected === true") is False
    assert violations, "the browser reported no violation for the injected script"
