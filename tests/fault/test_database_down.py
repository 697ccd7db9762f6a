"""The database process stops under the app: answers are 503 with a clear code (never a
500 with a traceback); once it is back, the app reconnects by itself and nothing is lost."""

from __future__ import annotations

import time
from pathlib import Path

from accounts import service as accounts
from webapi import create_app
from webapi.embedded_db import EmbeddedDatabase


def test_database_down_is_503_and_the_app_reconnects_by_itself(
    own_database: list[EmbeddedDatabase], tmp_path: Path
) -> None:
    first = own_database[0]
    app = create_app(
        {"mongodb_uri": first.uri, "db_name": "down", "testing": True, "secret_key": "d"}
    )
    client = app.test_client()
    accounts.create_user("alice", None, ["sales"], is_machine=True)
    token, _ = accounts.issue_token("alice", 3600)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200

    first.stop()
    started = time.monotonic()
    down = client.get("/api/v1/tasks", headers=headers)
    assert down.status_code == 503
    assert down.get_json()["code"] == "database_unavailable"
    assert down.headers["Retry-After"] == "5"
    assert "Traceback" not in down.get_data(as_text=True)
    assert time.monotonic() - started < 15  # the driver's server-selection timeout, not a hang

    # Same port, same files: the token written before the stop still opens the API.
    again = EmbeddedDatabase(tmp_path / "db", port=first.port, log_path=tmp_path / "again.log")
    own_database.append(again.start())
    back = client.get("/api/v1/tasks", headers=headers)
    assert back.status_code == 200, back.get_json()
