"""The API as a client sees it: `crm serve` in its own process, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts import service as accounts
from tests.api.test_definitions import multipart
from tests.conftest import DATA, bpmn
from webapi.embedded_db import free_port

pytestmark = pytest.mark.usefixtures("db")


def _call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, str], Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            status, headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        text, status, headers = error.read(), error.code, dict(error.headers)
        error.close()
    is_json = headers.get("Content-Type", "").startswith("application/json")
    return status, headers, json.loads(text) if is_json and text else text


@pytest.fixture()
def served(db_uri: str, db_name: str, tmp_path: Path) -> Iterator[str]:
    bpmn_dir = tmp_path / "bpmn"
    bpmn_dir.mkdir()
    shutil.copy(DATA / "approval.bpmn", bpmn_dir)
    port = free_port()
    env = {
        **os.environ,
        "MONGODB_URI": db_uri,
        "CRM_DB_NAME": db_name,
        "CRM_PORT": str(port),
        "CRM_BPMN_DIR": str(bpmn_dir),
        "CRM_DATA_DIR": str(tmp_path / "var"),
        "CRM_SECRET_KEY": "served-test-" + "k" * 24,
    }
    env.pop("REDIS_URL", None)
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "webapi.cli", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _call(base, "GET", "/api/v1/health")[0] == 200:
                        break
                except OSError:
                    pass
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "the server did not answer in 60 s"
                time.sleep(0.2)
            yield base
        finally:
            server.terminate()
            server.wait(30)


def test_a_client_session_over_http(served: str) -> None:
    accounts.create_user("dina", "dina-password", ["designers"])
    accounts.create_user("alice", "alice-password", ["sales"])
    status, _, body = _call(
        served, "POST", "/api/v1/auth/token", {"username": "dina", "password": "dina-password"}
    )
    assert status == 200
    designer = body["token"]
    alice = _call(
        served, "POST", "/api/v1/auth/token", {"username": "alice", "password": "alice-password"}
    )[2]["token"]

    changed = bpmn("approval.bpmn").replace(b"Review the request", b"Review it, please")
    raw, content_type = multipart(changed, "approval.bpmn")
    status, _, deployed = _call(
        served, "POST", "/api/v1/definitions", token=designer, raw=raw, content_type=content_type
    )
    assert status == 201 and deployed["key"] == "approval" and deployed["version"] == 2

    status, _, started = _call(
        served,
        "POST",
        "/api/v1/instances",
        {"process_key": "approval", "variables": {"amount": 10}},
        token=alice,
    )
    assert status == 201 and started["version"] == 2
    status, _, inbox = _call(served, "GET", "/api/v1/tasks", token=alice)
    assert status == 200 and [t["name"] for t in inbox["items"]] == ["Review it, please"]
    task = inbox["items"][0]["id"]
    status, _, done = _call(
        served,
        "POST",
        f"/api/v1/tasks/{task}/complete",
        {"data": {"decision": "reject"}},
        token=alice,
    )
    assert status == 200 and done["status"] == "completed"
    status, _, again = _call(
        served,
        "POST",
        f"/api/v1/tasks/{task}/complete",
        {"data": {"decision": "reject"}},
        token=alice,
    )
    assert status == 409 and again["code"] == "task_not_active"


def test_errors_over_http_have_the_one_body(served: str) -> None:
    accounts.create_user("dina", "dina-password", ["designers"])
    token, _ = accounts.issue_token("dina", 600)
    cases = [
        _call(served, "GET", "/api/v1/tasks"),
        _call(served, "POST", "/api/v1/instances", raw=b"{not json", token=token),
        _call(
            served, "POST", "/api/v1/instances", {"process_key": "approval", "x": 1}, token=token
        ),
        _call(
            served,
            "POST",
            "/api/v1/definitions",
            token=token,
            raw=multipart(b"x" * (3 * 1024 * 1024), "big.bpmn")[0],
            content_type=multipart(b"", "big.bpmn")[1],
        ),
        _call(served, "GET", "/api/v1/no-such-thing", token=token),
    ]
    assert [status for status, _, _ in cases] == [401, 400, 422, 413, 404]
    for _, headers, body in cases:
        assert headers["Content-Type"].startswith("application/json")
        assert set(body) == {"code", "message", "errors"}
    status, headers, page = _call(served, "GET", "/api/v1/docs")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"<script" not in page
