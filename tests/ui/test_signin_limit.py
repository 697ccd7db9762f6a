"""The sign-in form's limit on failures: per user name and per client address, shared
through the database, with a clear message."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from accounts import signin_limit
from accounts.login import LoginWindow
from engine.models import utcnow

from .conftest import csrf_of


def _try(client: FlaskClient, username: str, password: str, address: str = "10.0.0.1") -> int:
    token = csrf_of(client.get("/ui/login").get_data(as_text=True))
    response = client.post(
        "/ui/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


def test_five_failures_lock_the_name_even_for_the_right_password(app: Flask) -> None:
    client = app.test_client()
    for _ in range(signin_limit.USER_LIMIT):
        assert _try(client, "manager", "wrong") == 401
    token = csrf_of(client.get("/ui/login").get_data(as_text=True))
    response = client.post(
        "/ui/login",
        data={"username": "Manager", "password": "manager-password", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},  # another address: the name still counts
    )
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True) or (
        "Слишком много неудачных попыток" in response.get_data(as_text=True)
    )
    assert _try(app.test_client(), "designer", "designer-password") == 302  # others may


def test_the_lock_ends_with_the_window(app: Flask) -> None:
    now = utcnow()
    later = now + timedelta(seconds=signin_limit.WINDOW_SECONDS)
    for _ in range(signin_limit.USER_LIMIT):
        signin_limit.record_failure("manager", "10.0.0.1", now=now)
    assert signin_limit.blocked("manager", "10.0.0.9", now=now) is not None
    assert signin_limit.blocked("manager", "10.0.0.9", now=later) is None
    # The counters expire by the TTL index, not by hand.
    assert all(doc.expires_at > utcnow() for doc in LoginWindow.objects())


def test_one_address_guessing_many_names_is_locked(app: Flask) -> None:
    for i in range(signin_limit.ADDRESS_LIMIT):
        signin_limit.record_failure(f"user{i}", "10.0.0.7")
    assert _try(app.test_client(), "designer", "designer-password", "10.0.0.7") == 429
    assert _try(app.test_client(), "designer", "designer-password", "10.0.0.8") == 302
