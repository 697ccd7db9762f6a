"""Fixtures of the UI page tests: the app on the test database, users who sign in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from accounts import service as accounts
from engine import definitions
from webapi import create_app
from webapi.config import PROJECT_ROOT

BPMN_DIR = PROJECT_ROOT / "bpmn"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: the tests check behaviour, not hashing strength."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture()
def app(db: None, db_uri: str, db_name: str) -> Iterator[Flask]:
    application = create_app(
        {"mongodb_uri": db_uri, "db_name": db_name, "testing": True, "secret_key": "test"}
    )
    accounts.create_user("manager", "manager-password", ["sales"], full_name="Мария Менеджер")
    accounts.create_user("designer", "designer-password", ["designers"], locale="en")
    definitions.deploy_directory(BPMN_DIR, "test")
    yield application


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture()
def sign_in(app: Flask) -> Callable[[str], FlaskClient]:
    """A test client signed in as the given user (password: NAME-password)."""

    def run(username: str) -> FlaskClient:
        client = app.test_client()
        page = client.get("/ui/login").get_data(as_text=True)
        response = client.post(
            "/ui/login",
            data={
                "username": username,
                "password": f"{username}-password",
                "csrf_token": csrf_of(page),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return run
