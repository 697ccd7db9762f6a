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
from webapi import create_app


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
    yield application


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
