"""Security headers on pages and API answers, the session cookie's flags, and the refusal
to start with a placeholder secret key outside testing and debug."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from accounts import service as accounts
from webapi import create_app
from webapi.config import Settings
from webapi.hardening import InsecureSecretKey, check_secret, secure_cookies

STRONG = "k3y-" + "x" * 40


def _settings(db_uri: str, db_name: str, **extra: Any) -> dict[str, Any]:
    return {"mongodb_uri": db_uri, "db_name": db_name, **extra}


@pytest.mark.parametrize("path", ["/ui/login", "/api/v1/health", "/api/v1/openapi.json"])
def test_every_answer_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "default-src 'self'" in csp and "form-action 'self'" in csp


def test_errors_carry_them_too(client: FlaskClient) -> None:
    response = client.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers


def test_a_stricter_policy_of_a_view_is_kept(client: FlaskClient) -> None:
    reference = client.get("/api/v1/docs")
    if reference.status_code == 200:
        assert reference.headers["Content-Security-Policy"].startswith("default-src 'none'")


def _sign_in(client: FlaskClient) -> str:
    page = client.get("/ui/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    form = {"username": "alice", "password": "alice-password"}
    if token:
        form["csrf_token"] = token.group(1)
    response = client.post("/ui/login", data=form)
    assert response.status_code in (302, 303), response.status_code
    return ";".join(response.headers.getlist("Set-Cookie"))


def test_session_cookie_is_httponly_samesite_and_secure_in_production(
    db: None, db_uri: str, db_name: str
) -> None:
    app: Flask = create_app(
        _settings(db_uri, db_name, secret_key=STRONG, base_url="https://crm.example.org")
    )
    accounts.create_user("alice", "alice-password", ["sales"])
    cookie = _sign_in(app.test_client())
    assert cookie.startswith("crm_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_plain_http_on_this_machine_and_tests_get_no_secure_flag(
    db: None, db_uri: str, db_name: str
) -> None:
    local = create_app(_settings(db_uri, db_name, secret_key=STRONG))  # http://127.0.0.1
    assert local.config["SESSION_COOKIE_SECURE"] is False
    assert secure_cookies(Settings(base_url="http://localhost:8000")) is False
    assert secure_cookies(Settings(base_url="https://x.org", testing=True)) is False
    assert secure_cookies(Settings(base_url="https://x.org", debug=True)) is False
    assert secure_cookies(Settings(base_url="http://crm.lan")) is True  # http over a network
    assert secure_cookies(Settings(base_url="https://crm.example.org")) is True


@pytest.mark.parametrize("placeholder", ["changeme", "CHANGE-ME", "secret", " dev ", "test"])
def test_placeholder_secrets_are_refused_outside_testing_and_debug(placeholder: str) -> None:
    with pytest.raises(InsecureSecretKey):
        check_secret(Settings(), placeholder)
    check_secret(Settings(debug=True), placeholder)
    check_secret(Settings(testing=True), placeholder)
    check_secret(Settings(), STRONG)


def test_the_app_refuses_to_start_with_a_placeholder_secret(
    db: None, db_uri: str, db_name: str
) -> None:
    with pytest.raises(InsecureSecretKey):
        create_app(_settings(db_uri, db_name, secret_key="changeme"))
    assert create_app(_settings(db_uri, db_name, secret_key="changeme", debug=True))


def test_debug_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DEBUG", "1")
    assert Settings.from_env().debug is True
    monkeypatch.setenv("CRM_DEBUG", "0")
    assert Settings.from_env().debug is False


def test_scripts_are_allowed_from_this_site_only(client: FlaskClient) -> None:
    csp = client.get("/ui/login").headers["Content-Security-Policy"]
    script_src = next(p for p in csp.split("; ") if p.startswith("script-src"))
    assert script_src == "script-src 'self'"
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src


def test_a_page_that_asks_for_a_nonce_gets_it_named_in_its_policy(
    fresh_app: Callable[..., Flask],
) -> None:
    app = fresh_app()  # the test adds a page: not to the app the other tests share

    def inline() -> str:
        return render_template_string('<script nonce="{{ csp_nonce() }}">run()</script>')

    app.add_url_rule("/nonce-test", "nonce_test", inline)
    client = app.test_client()
    first, second = client.get("/nonce-test"), client.get("/nonce-test")
    nonces = []
    for response in (first, second):
        nonce = re.search(r'nonce="([^"]+)"', response.get_data(as_text=True))
        assert nonce
        assert (
            f"script-src 'self' 'nonce-{nonce.group(1)}'"
            in response.headers["Content-Security-Policy"]
        )
        nonces.append(nonce.group(1))
    assert nonces[0] != nonces[1]  # one per response, never reused
    assert "nonce-" not in client.get("/ui/login").headers["Content-Security-Policy"]
