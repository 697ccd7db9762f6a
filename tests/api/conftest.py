"""Fixtures of the API tests: the app on the test database, users and their tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from accounts import service as accounts
from engine import definitions
from tests.conftest import bpmn
from webapi import create_app, documents_setup, mail_setup


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: the tests check behaviour, not hashing strength."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def app_config(db_uri: str, db_name: str, **overrides: Any) -> dict[str, Any]:
    """The settings of a test app on the test database."""
    return {
        "mongodb_uri": db_uri,
        "db_name": db_name,
        "testing": True,
        "secret_key": "test",
        **overrides,
    }


@pytest.fixture(scope="session")
def session_app(db_uri: str, db_name: str) -> Flask:
    """One app for the session's database: building one costs 1-2 s (flask-smorest's
    apispec copies every operation), and nothing a test changes lives in it."""
    return create_app(app_config(db_uri, db_name))


@pytest.fixture()
def app(db: None, session_app: Flask, db_uri: str, db_name: str) -> Iterator[Flask]:
    """The session's app on emptied collections (`db`). The module-level wiring
    create_app does is redone: a test's own app (`fresh_app`) may have changed it."""
    settings = session_app.config["SETTINGS"]
    assert (settings.mongodb_uri, settings.db_name) == (db_uri, db_name)
    mail_setup.configure(settings)
    documents_setup.configure(settings)
    config = dict(session_app.config)
    yield session_app
    assert dict(session_app.config) == config, (
        "a test changed the shared app's config: give it its own app (fresh_app)"
    )


@pytest.fixture()
def fresh_app(db: None, db_uri: str, db_name: str) -> Callable[..., Flask]:
    """A new app of its own with settings overridden (`fresh_app(max_file_bytes=1000)`),
    for a test that needs other settings or changes the app."""

    def make(**overrides: Any) -> Flask:
        return create_app(app_config(db_uri, db_name, **overrides))

    return make


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _token(username: str) -> str:
    value, _ = accounts.issue_token(username, 3600)
    return value


@pytest.fixture()
def users(app: Flask) -> dict[str, dict[str, str]]:
    """Users of every kind, each with a bearer header: admin, designer, alice and bob
    (sales), carol (support), a machine client in integrations."""
    made = {}
    for name, groups, admin, machine in (
        ("admin", [], True, False),
        ("designer", ["designers"], False, False),
        ("alice", ["sales"], False, False),
        ("bob", ["sales"], False, False),
        ("carol", ["support"], False, False),
        ("robot", ["integrations"], False, True),
    ):
        accounts.create_user(
            name,
            None if machine else f"{name}-password",
            groups,
            is_admin=admin,
            is_machine=machine,
        )
        made[name] = {"Authorization": f"Bearer {_token(name)}"}
    return made


@pytest.fixture()
def deploy(app: Flask) -> Callable[[str], Any]:
    """Deploy a test diagram by file name (directly, as the CLI does)."""

    def run(name: str) -> Any:
        return definitions.deploy(bpmn(name), name, "test")

    return run
