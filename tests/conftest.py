"""Fixtures: one real database process for the session (SecantusDB in memory, or the
MongoDB that MONGODB_URI names), emptied between tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.actor import Actor
from webapi import database
from webapi.embedded_db import EmbeddedDatabase

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def db_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    log = tmp_path_factory.mktemp("db") / "secantusd.log"
    server = EmbeddedDatabase(":memory:", log_path=log).start()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def db_name() -> str:
    return f"crm_test_{os.getpid()}"


@pytest.fixture()
def db(db_uri: str, db_name: str) -> Iterator[None]:
    database.connect(db_uri, db_name)
    database.drop_all()
    yield
    database.disconnect()


@pytest.fixture()
def alice() -> Actor:
    return Actor("alice", frozenset({"sales"}))


@pytest.fixture()
def bob() -> Actor:
    return Actor("bob", frozenset({"sales", "support"}))


def bpmn(name: str) -> bytes:
    """The bytes of a test diagram under tests/data/."""
    return (DATA / name).read_bytes()
