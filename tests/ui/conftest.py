"""Fixtures of the UI page tests: the app on the test database, users who sign in."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from mongoengine.connection import get_db

from accounts import service as accounts
from engine import definitions
from engine.models import ProcessDefinition
from webapi import create_app, documents_setup, mail_setup
from webapi.config import PROJECT_ROOT

BPMN_DIR = PROJECT_ROOT / "bpmn"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: the tests check behaviour, not hashing strength."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(scope="session")
def session_app(db_uri: str, db_name: str) -> Flask:
    """One app for the session's database: building one costs 1-2 s (flask-smorest's
    apispec copies every operation), and nothing a test changes lives in it."""
    return create_app(
        {"mongodb_uri": db_uri, "db_name": db_name, "testing": True, "secret_key": "test"}
    )


# The definition documents deploying bpmn/ stored, per (uri, database): each test puts
# copies back instead of deploying again (parsing and checking every diagram).
_DEPLOYED: dict[tuple[str, str], list[dict[str, Any]]] = {}


def _counts() -> dict[str, int]:
    db = get_db()
    return {name: db[name].count_documents({}) for name in db.list_collection_names()}


def deploy_bpmn_dir(db_uri: str, db_name: str) -> None:
    """Deploy every diagram of bpmn/ into the emptied database: for real the first time,
    then by inserting copies of the definition documents that deploy stored. Should a
    deploy ever store anything besides definitions (planned timer starts), every test
    deploys for real."""
    collection = get_db()[ProcessDefinition._get_collection_name()]
    stored = _DEPLOYED.get((db_uri, db_name))
    if stored:
        collection.insert_many(copy.deepcopy(stored))
        return
    before = _counts()
    definitions.deploy_directory(BPMN_DIR, "test")
    after = _counts()
    changed = {name for name in after if after[name] != before.get(name, 0)}
    if changed == {collection.name} and before.get(collection.name, 0) == 0:
        _DEPLOYED[(db_uri, db_name)] = list(collection.find())


@pytest.fixture()
def app(db: None, session_app: Flask, db_uri: str, db_name: str) -> Iterator[Flask]:
    """The session's app on emptied collections (`db`) with two users and bpmn/ deployed.
    The module-level wiring create_app does is redone: another test's own app may have
    changed it."""
    settings = session_app.config["SETTINGS"]
    assert (settings.mongodb_uri, settings.db_name) == (db_uri, db_name)
    mail_setup.configure(settings)
    documents_setup.configure(settings)
    accounts.create_user("manager", "manager-password", ["sales"], full_name="Мария Менеджер")
    accounts.create_user("designer", "designer-password", ["designers"], locale="en")
    deploy_bpmn_dir(db_uri, db_name)
    config = dict(session_app.config)
    yield session_app
    assert dict(session_app.config) == config, (
        "a test changed the shared app's config: give it an app of its own"
    )


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
