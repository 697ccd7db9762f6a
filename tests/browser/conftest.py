"""Fixtures of the browser tests: the app served by waitress in a thread on a free port
against the test database, and Debian's chromium driven by Playwright.

Screenshots go to test-artifacts/browser/<test>/; a failing test keeps one of the page
as it was when it failed.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from waitress import create_server

from accounts import service as accounts
from engine import definitions
from webapi import create_app
from webapi.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
DATA = Path(__file__).parent / "data"
TIMEOUT_MS = 20_000  # two shared cores: be patient, never tight


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: the tests check behaviour, not hashing strength."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail("chromium is not installed: run `make test`, which installs it")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    found = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
    yield found
    found.close()


@pytest.fixture()
def served(db: None, db_uri: str, db_name: str) -> Iterator[str]:
    """The app on a free port; users manager (sales) and designer; bpmn/ deployed."""
    app = create_app(
        {"mongodb_uri": db_uri, "db_name": db_name, "testing": True, "secret_key": "browser-tests"}
    )
    accounts.create_user("manager", "manager-password", ["sales"], full_name="Мария Петрова")
    accounts.create_user(
        "designer", "designer-password", ["designers"], full_name="Dana Designer", locale="en"
    )
    definitions.deploy_directory(PROJECT_ROOT / "bpmn", "system")
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        for channel in list(server._map.values()):  # keep-alive connections still open
            channel.close()
        server.task_dispatcher.shutdown()
        thread.join(10)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


def _folder(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture()
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context at 1280×800 whose page keeps a screenshot on failure."""
    shutil.rmtree(_folder(request))  # screenshots of an earlier run of this test
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ru-RU")
    context.set_default_timeout(TIMEOUT_MS)
    found = context.new_page()
    yield found
    if request.node.stash.get(FAILED, False):
        found.screenshot(path=str(_folder(request) / "failure.png"), full_page=True)
    context.close()


@pytest.fixture()
def shot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """Save a screenshot of the page under the test's artifact folder."""
    counter = iter(range(1, 100))

    def take(name: str) -> Path:
        path = _folder(request) / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


def sign_in(page: Page, base: str, username: str) -> None:
    """Sign in through the form (in whichever language the page speaks)."""
    page.goto(f"{base}/ui/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(f"{username}-password")
    page.locator("section.login button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/ui/mailbox.*"))
