"""The UI's pages through the Flask test client: sign-in, CSRF, languages, the mailbox and
task forms with server-side validation, organization cards, procedures, the monitor."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import queries
from registry import organizations
from tests.conftest import bpmn

from .conftest import csrf_of

pytestmark = pytest.mark.usefixtures("db")
SignIn = Callable[[str], FlaskClient]


def test_pages_need_a_session(app: Flask) -> None:
    response = app.test_client().get("/ui/mailbox")
    assert response.status_code == 302
    assert "/ui/login?next=" in response.headers["Location"]


def test_wrong_password_is_refused(app: Flask) -> None:
    client = app.test_client()
    token = csrf_of(client.get("/ui/login").get_data(as_text=True))
    response = client.post(
        "/ui/login", data={"username": "manager", "password": "nope-nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Неверное имя пользователя или пароль" in response.get_data(as_text=True)


def test_the_session_cookie_is_http_only_and_lax(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/ui/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client().get("/ui/login", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in secure


def test_a_form_without_its_csrf_token_is_refused(sign_in: SignIn) -> None:
    client = sign_in("manager")
    assert client.post("/ui/logout").status_code == 400
    token = csrf_of(client.get("/ui/mailbox").get_data(as_text=True))
    assert client.post("/ui/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/ui/mailbox").status_code == 302


def test_the_language_switch(sign_in: SignIn) -> None:
    client = sign_in("manager")
    page = client.get("/ui/mailbox").get_data(as_text=True)
    assert "Почта" in page and 'lang="ru"' in page
    client.post(
        "/ui/language", data={"lang": "en", "next": "/ui/mailbox", "csrf_token": csrf_of(page)}
    )
    page = client.get("/ui/mailbox").get_data(as_text=True)
    assert "Mailbox" in page and 'lang="en"' in page
    designer = sign_in("designer")  # English is this user's own language
    assert 'lang="en"' in designer.get("/ui/procedures").get_data(as_text=True)


def test_no_open_redirect_after_sign_in(app: Flask) -> None:
    client = app.test_client()
    token = csrf_of(client.get("/ui/login").get_data(as_text=True))
    response = client.post(
        "/ui/login",
        data={
            "username": "manager",
            "password": "manager-password",
            "csrf_token": token,
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/ui/mailbox"


def _organization(app: Flask) -> str:
    actor = queries.Actor("manager", frozenset({"sales"}))
    org = organizations.create(
        actor,
        {
            "name": "ООО «Ромашка»",
            "short_name": "Ромашка",
            "inn": "7707083893",
            "phones": ["+7 495 000-00-00"],
        },
    )
    return str(org.id)


def test_log_a_call_then_fill_the_form(app: Flask, sign_in: SignIn) -> None:
    org_id = _organization(app)
    client = sign_in("manager")
    card = client.get(f"/ui/organizations/{org_id}").get_data(as_text=True)
    assert "Ромашка" in card and "7707083893" in card
    response = client.post(
        f"/ui/organizations/{org_id}/log-call", data={"csrf_token": csrf_of(card)}
    )
    assert response.status_code == 302 and "/ui/tasks/" in response.headers["Location"]
    task_url = response.headers["Location"]
    page = client.get(task_url).get_data(as_text=True)
    assert "Тема" in page and "Результат" in page
    # The server checks the form too: a missing required field is named next to it.
    response = client.post(
        task_url + "/complete", data={"csrf_token": csrf_of(page), "subject": "Цены"}
    )
    assert response.status_code == 422
    assert "обязательное поле" in response.get_data(as_text=True)
    response = client.post(
        task_url + "/complete",
        data={
            "csrf_token": csrf_of(page),
            "subject": "Цены",
            "result": "Выслали прайс",
            "follow_up": "on",
            "follow_up_on": "2030-01-10",
        },
    )
    assert response.status_code == 302
    mailbox = client.get("/ui/mailbox").get_data(as_text=True)
    assert "Follow-up call" in mailbox
    assert (
        client.get(
            "/ui/mailbox?view=overdue", headers={"HX-Request": "true", "HX-Target": "task-list"}
        )
        .get_data(as_text=True)
        .count("<tr")
        == 0
    )
    for tab in (
        "contacts",
        "actions",
        "executor",
        "customer",
        "invoices",
        "deliveries",
        "processes",
    ):
        assert client.get(f"/ui/organizations/{org_id}?tab={tab}").status_code == 200
    assert "incoming_call" in client.get(f"/ui/organizations/{org_id}?tab=processes").get_data(
        as_text=True
    )


def test_organization_search_and_create(app: Flask, sign_in: SignIn) -> None:
    _organization(app)
    client = sign_in("manager")
    found = client.get(
        "/ui/organizations?q=ромаш", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert "Ромашка" in found.get_data(as_text=True)
    page = client.get("/ui/organizations/new").get_data(as_text=True)
    bad = client.post(
        "/ui/organizations/new", data={"csrf_token": csrf_of(page), "name": "", "inn": "123"}
    )
    assert bad.status_code == 422
    good = client.post(
        "/ui/organizations/new", data={"csrf_token": csrf_of(page), "name": "ООО «Лютик»"}
    )
    assert good.status_code == 302


def test_designer_uploads_and_watches(app: Flask, sign_in: SignIn) -> None:
    client = sign_in("designer")
    page = client.get("/ui/procedures").get_data(as_text=True)
    response = client.post(
        "/ui/procedures/upload",
        data={
            "csrf_token": csrf_of(page),
            "file": (io.BytesIO(bpmn("approval.bpmn")), "approval.bpmn"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "data-diagram" in shown
    bad = client.post(
        "/ui/procedures/deploy",
        data=b"<nope",
        headers={"X-CSRF-Token": csrf_of(page), "Content-Type": "application/xml"},
    )
    assert bad.status_code == 422
    started = client.post(
        "/ui/procedures/bpmn/incoming_call/start", data={"csrf_token": csrf_of(page)}
    )
    assert started.status_code == 302
    monitor = client.get("/ui/monitor?zoom=day").get_data(as_text=True)
    assert "incoming_call" in monitor and 'class="bar' in monitor
    manager = sign_in("manager")
    assert manager.post(
        "/ui/procedures/upload", data={"csrf_token": csrf_of(page)}
    ).status_code in (400, 403)
