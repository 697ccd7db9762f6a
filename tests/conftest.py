"""Fixtures: one real database process for the session (SecantusDB in memory, or the
MongoDB that MONGODB_URI names), emptied between tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.actor import Actor
from webapi import database
from webapi.embedded_db import EmbeddedDatabase, free_port

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
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port for the session (installed by `make test`)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `make test`, which installs it")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


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
