"""SIGKILL of the web process (`crm serve`) while 8 clients complete tasks: every completion
that got a 2xx is in the database after the restart, no instance is half-applied (its state
and its inbox task agree), and clients that got no answer retry safely (200, or 409 when
their first attempt had in fact landed) — one effect per task either way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts import service as accounts
from engine import definitions, instances
from engine.actor import Actor
from engine.models import HumanTask, ProcessEvent, ProcessInstance
from tests.conftest import DATA, bpmn
from webapi.embedded_db import free_port

pytestmark = pytest.mark.skipif(
    not os.environ.get("CRM_CRASH_TESTS"),
    reason="kills and restarts `crm serve` (~15 s): run with CRM_CRASH_TESTS=1",
)
TASKS = 40
CLIENTS = 8


class Server:
    """`crm serve` in its own process, on one port across restarts."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "webapi.cli", "serve"],
                env={**self.env, "CRM_PORT": str(self.port)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if _post(self.base + "/api/v1/health", None, method="GET")[0] == 200:
                    return
            except OSError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the server did not answer in 60 s"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def _post(
    url: str, token: str | None, body: Any = None, method: str = "POST"
) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


@pytest.fixture()
def server(db: None, db_uri: str, db_name: str, tmp_path: Path) -> Iterator[Server]:
    bpmn_dir = tmp_path / "bpmn"
    bpmn_dir.mkdir()
    (bpmn_dir / "approval.bpmn").write_bytes((DATA / "approval.bpmn").read_bytes())
    env = {
        **os.environ,
        "MONGODB_URI": db_uri,
        "CRM_DB_NAME": db_name,
        "CRM_BPMN_DIR": str(bpmn_dir),
        "CRM_DATA_DIR": str(tmp_path / "var"),
        "CRM_SECRET_KEY": "crash-test-" + "k" * 20,
    }
    env.pop("REDIS_URL", None)
    found = Server(env, free_port(), tmp_path / "serve.log")
    try:
        yield found
    finally:
        found.stop()


def test_sigkill_under_load_loses_no_acknowledged_completion(server: Server) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "test")
    accounts.create_user("alice", None, ["sales"], is_machine=True)
    token, _ = accounts.issue_token("alice", 3600)
    alice = Actor("alice", frozenset({"sales"}))
    guids = [instances.start("approval", alice)["open_tasks"][0]["guid"] for _ in range(TASKS)]
    server.start()

    answers: dict[str, int | None] = {}  # None: no answer (the process died)
    lock = threading.Lock()
    queue = list(guids)

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                guid = queue.pop()
            url = f"{server.base}/api/v1/tasks/{guid}/complete"
            try:
                status: int | None = _post(url, token, {"data": {"decision": "reject"}})[0]
            except OSError:
                status = None
            with lock:
                answers[guid] = status

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    # Kill once some completions went through, while others are in flight.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            done = sum(1 for s in answers.values() if s == 200)
        if done >= TASKS // 4:
            break
        time.sleep(0.01)
    server.kill()
    for t in threads:
        t.join(60)
    acknowledged = [g for g, s in answers.items() if s == 200]
    unanswered = [g for g in guids if answers.get(g) != 200]
    assert acknowledged and unanswered, answers  # the kill really landed mid-load
    assert all(s in (200, None) for s in answers.values()), answers
    print(f"\nkilled after {len(acknowledged)} acknowledged, {len(unanswered)} not")

    server.start()
    # Every acknowledged completion is there.
    for guid in acknowledged:
        assert HumanTask.objects(task_guid=guid).get().status == "completed"
    # Those without an answer retry: 200, or 409 when the first attempt had landed.
    retried: dict[int, int] = {}
    for guid in unanswered:
        url = f"{server.base}/api/v1/tasks/{guid}/complete"
        status, body = _post(url, token, {"data": {"decision": "reject"}})
        assert status == 200 or (status == 409 and body["code"] == "task_not_active"), body
        retried[status] = retried.get(status, 0) + 1
    print(f"retried after the restart: {retried}")
    # Nothing half-applied, one effect per task.
    for instance in ProcessInstance.objects():
        assert instance.status == "completed"
        events = [e.type for e in ProcessEvent.objects(instance_id=instance.id)]
        assert events.count("task_completed") == 1 and events.count("instance_completed") == 1
    assert HumanTask.objects(status="completed").count() == TASKS
    assert HumanTask.objects(status__ne="completed").count() == 0
