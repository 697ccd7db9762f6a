"""HTML/JS in every text field is shown escaped (or sanitized) on every UI page, and no page
carries an inline script the Content-Security-Policy would have to allow.

The demo (`crm demo`: organizations, contacts, contracts, actions, deals, documents,
registration cards, appeals, messages, assignments, orders and their comments, running
processes with task form data, definitions and their forms) plus a linear procedure and a
report template are loaded; then every text a person wrote (every string holding Cyrillic,
in every collection, inside JSON-encoded process data too; rich text included, as if it
had been stored without the sanitizer) gets PAYLOAD appended. Each demo user then crawls
every `/ui/` page reachable by GET (links and htmx `hx-get`, tabs included). The demo
takes a minute or more here, hence one test for all of it.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from collections import deque
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from mongoengine.connection import get_db
from openpyxl import Workbook

from accounts import service as accounts
from engine import definitions, linear_procedures
from engine.linear import Step
from reports import templates as report_templates
from webapi import create_app
from webapi.demo import DEMO_PASSWORD, DEMO_USERS, load_demo

PAYLOAD = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
RAW = ("<script>alert(1)", "<img src=x onerror=alert(1)>", "onerror=alert(1)>")
CYRILLIC = re.compile("[А-Яа-яЁё]")
LINK = re.compile(r'(?:href|hx-get)="(/ui/[^"#]*)"')
SKIP = re.compile(r"/(xml|file|logout)(\?|$)|\.(json|csv|xlsx|pdf|docx|js|css|png)(\?|$)")
ID = re.compile(r"/(?:[0-9a-f]{24}|[0-9a-f-]{36}|\d+)(?=/|$)")
ENUM = re.compile(r"^[a-z_]{1,24}$")
PER_ROUTE = {"admin": 2}  # the admin sees the most; the others one page per route
# Collections whose strings are not text for people, or are files.
UNTOUCHED = {"stored_files_fs.chunks", "stored_files_fs.files", "jobs", "login_windows"}
# Pages that still carry an inline handler, by route, with the reason: they belong to
# pages being rewritten now; the policy blocks the handler and admin_ui/static/app.js does
# its work (data-confirm). Empty this as they are fixed; a new one fails the test.
KNOWN_INLINE: dict[str, str] = {}


def poisoned(value: Any) -> Any:
    """`value` with PAYLOAD appended to every string a person wrote."""
    if isinstance(value, dict):
        return {key: poisoned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [poisoned(item) for item in value]
    if not isinstance(value, str) or not CYRILLIC.search(value):
        return value
    head = value.lstrip()[:300]
    if head.startswith("<?xml") or "<bpmn" in head or "<definitions" in head:
        return value  # a diagram's source: bpmn-js draws it, the names are checked below
    if head[:1] in "{[":
        try:
            return json.dumps(poisoned(json.loads(value)), ensure_ascii=False)
        except ValueError:
            pass
    return value + PAYLOAD


def poison_everything() -> int:
    """Append PAYLOAD to the texts of every collection; return how many documents changed."""
    db = get_db()
    changed = 0
    for name in db.list_collection_names():
        if name in UNTOUCHED or name.startswith("system."):
            continue
        for document in db[name].find():
            after = poisoned(document)
            if after != document:
                db[name].replace_one({"_id": document["_id"]}, after)
                changed += 1
    definitions.forget_cached()
    return changed


def extras() -> None:
    """What the demo does not make: a linear procedure (a prototype) and a report template."""
    manager = accounts.actor_of(accounts.get_user("manager"))
    linear_procedures.create(
        manager,
        "Согласование письма",
        None,
        [Step("Проверить письмо", "manager", "Проверьте текст письма"), Step("Подписать", "admin")],
        save_as_prototype=True,
    )
    book = Workbook()
    book.active["A1"] = "{{title}}"
    out = io.BytesIO()
    book.save(out)
    report_templates.upload_template(
        manager,
        "Отчёт о звонках",
        "calls.xlsx",
        io.BytesIO(out.getvalue()),
        "actions",
        description="Звонки за месяц",
    )


class Page(HTMLParser):
    """What a page holds that a strict script policy forbids, and injected elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline: list[str] = []
        self.injected: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        values = dict(attrs)
        for name in names:
            if name.startswith("on") or name.startswith("hx-on"):
                self.inline.append(f"<{tag} {name}=…>")
        if tag == "script" and "src" not in names and "nonce" not in names:
            self.inline.append("<script> without src")
        if tag == "script" and "src" not in names:
            self._in_script = True
        for name in ("href", "src", "action", "formaction"):
            if (values.get(name) or "").strip().lower().startswith("javascript:"):
                self.inline.append(f"<{tag} {name}=javascript:…>")
        if tag == "img" and values.get("src") == "x":
            self.injected.append("<img src=x …>")

    def handle_data(self, data: str) -> None:
        if self._in_script and "alert(1)" in data:
            self.injected.append("<script>alert(1)</script>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def route_of(path: str) -> str:
    """The page's route: ids replaced, query values kept only when they name a view."""
    parts = urlsplit(path)
    query = sorted(
        f"{key}={value if ENUM.match(value) else '*'}" for key, value in parse_qsl(parts.query)
    )
    return ID.sub("/<id>", parts.path) + ("?" + "&".join(query) if query else "")


def sign_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/ui/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/ui/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 302, username
    return client


def crawl(client: FlaskClient, failed: list[str], per_route: int) -> dict[str, str]:
    """Every page reachable by GET from the start page: path → HTML (`per_route` per route);
    a page answering 5xx goes to `failed`."""
    seen: set[str] = set()
    routes: dict[str, int] = {}
    queue = deque(["/ui/"])
    pages: dict[str, str] = {}
    while queue:
        path = html.unescape(queue.popleft())
        route = route_of(path)
        if path in seen or SKIP.search(path) or routes.get(route, 0) >= per_route:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code >= 500:
            failed.append(f"{path}: {response.status_code}")
            continue
        if response.status_code in (301, 302, 303) and response.location.startswith("/ui/"):
            queue.append(response.location)
            continue
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        routes[route] = routes.get(route, 0) + 1
        text = response.get_data(as_text=True)
        pages[path] = text
        queue.extend(LINK.findall(text))
    return pages


def sweep(app: Flask) -> tuple[list[str], set[str], set[str], dict[str, set[str]]]:
    """Crawl as every demo user: problems, routes seen, routes showing the payload escaped,
    inline scripts by route."""
    escaped = html.escape(PAYLOAD, quote=True)
    problems: list[str] = []
    routes: set[str] = set()
    showing: set[str] = set()
    inline: dict[str, set[str]] = {}
    for username, *_ in DEMO_USERS:
        client = sign_in(app, username)
        for path, text in crawl(client, problems, PER_ROUTE.get(username, 1)).items():
            route = route_of(path)
            routes.add(route)
            problems.extend(f"{username} {path}: {raw} unescaped" for raw in RAW if raw in text)
            page = Page()
            page.feed(text)
            problems.extend(f"{username} {path}: {found}" for found in page.injected)
            if escaped in text or "&lt;script&gt;alert(1)" in text:
                showing.add(route)
            if page.inline:
                inline.setdefault(ID.sub("/<id>", urlsplit(path).path), set()).update(page.inline)
    return problems, routes, showing, inline


def test_the_checks_see_an_injection_and_an_inline_script() -> None:
    """The sweep's own detectors, on pages that would fail it."""
    page = Page()
    page.feed(f"<p>ООО{PAYLOAD}</p><script>go()</script><a href='javascript:x'>a</a>")
    assert page.injected == ["<script>alert(1)</script>", "<img src=x …>"]
    assert page.inline == [
        "<script> without src",
        "<img onerror=…>",
        "<script> without src",
        "<a href=javascript:…>",
    ]
    clean = Page()
    clean.feed(f'<p title="{html.escape(PAYLOAD)}">{html.escape(PAYLOAD)}</p><script src="/a.js">')
    clean.feed('<script nonce="n">ok()</script>')
    assert clean.injected == [] and clean.inline == []
    assert poisoned({"name": "ООО Ромашка", "inn": "7707083893", "list": ["Иван"]}) == {
        "name": "ООО Ромашка" + PAYLOAD,
        "inn": "7707083893",
        "list": ["Иван" + PAYLOAD],
    }
    assert poisoned('{"comment": "Звонок"}') == json.dumps(
        {"comment": "Звонок" + PAYLOAD}, ensure_ascii=False
    )


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("CRM_CRASH_TESTS"),
    reason="loads the demo and crawls ~100 routes as 5 users (~4 min): CRM_CRASH_TESTS=1",
)
def test_every_text_field_is_escaped_on_every_page_and_no_page_has_inline_script(
    db: None, db_uri: str, db_name: str
) -> None:
    app = create_app(
        {"mongodb_uri": db_uri, "db_name": db_name, "testing": True, "secret_key": "test"}
    )
    for _ in load_demo(app.config["SETTINGS"]):
        pass
    extras()
    assert poison_everything() > 500

    problems, routes, showing, inline = sweep(app)
    assert not problems, problems
    # The crawl reached the pages that show these objects, and they showed the payload.
    for expected in (
        "/ui/organizations",
        "/ui/organizations/<id>",
        "/ui/records/cards/<id>",
        "/ui/records/appeals",
        "/ui/mail",
        "/ui/mail/message/<id>",
        "/ui/mail/assignment/<id>",
        "/ui/mail/order/<id>",
        "/ui/tasks/<id>",
        "/ui/monitor/instances/<id>",
        "/ui/procedures",
        "/ui/linear",
        "/ui/reports",
        "/ui/sales/deals",
    ):
        assert any(r.split("?")[0] == expected for r in showing), (expected, sorted(routes))
    assert len(routes) > 40, sorted(routes)
    unexpected = {route: found for route, found in inline.items() if route not in KNOWN_INLINE}
    assert not unexpected, unexpected
