"""Fixtures of the fault tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from webapi import database
from webapi.embedded_db import EmbeddedDatabase


@pytest.fixture()
def own_database(tmp_path: Path) -> Iterator[list[EmbeddedDatabase]]:
    """The database process of this test, and the one it is restarted as (both stopped)."""
    servers = [EmbeddedDatabase(tmp_path / "db", log_path=tmp_path / "secantusd.log").start()]
    try:
        yield servers
    finally:
        database.disconnect()
        for server in servers:
            server.stop()
