"""`crm serve` as a user runs it: the served process alone fires timers (embedded worker)."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from engine import instances
from engine.actor import Actor
from engine.models import HumanTask
from tests.conftest import DATA
from webapi.embedded_db import free_port

pytestmark = [pytest.mark.usefixtures("db"), pytest.mark.slow]


def test_served_process_fires_a_5_second_follow_up_timer(
    db_uri: str, db_name: str, tmp_path: Path, alice: Actor
) -> None:
    bpmn_dir = tmp_path / "bpmn"
    bpmn_dir.mkdir()
    shutil.copy(DATA / "delayed_follow_up.bpmn", bpmn_dir)
    port = free_port()
    env = {
        **os.environ,
        "MONGODB_URI": db_uri,
        "CRM_DB_NAME": db_name,
        "CRM_PORT": str(port),
        "CRM_BPMN_DIR": str(bpmn_dir),
        "CRM_DATA_DIR": str(tmp_path / "var"),
    }
    env.pop("REDIS_URL", None)
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed in finally
    server = subprocess.Popen(
        [sys.executable, "-m", "webapi.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "crm serve did not come up"
                time.sleep(0.2)
        doc = instances.start("delayed_follow_up", alice, {"delay": "PT5S"})
        assert doc["open_tasks"] == []
        started = time.monotonic()
        while not HumanTask.objects(instance_id=doc["_id"], bpmn_id="call_back").first():
            assert time.monotonic() - started < 12, "the follow-up did not appear"
            time.sleep(0.2)
        assert time.monotonic() - started >= 4.5
        task = HumanTask.objects.get(instance_id=doc["_id"], bpmn_id="call_back")
        assert task.assignee == "alice" and task.status == "open"
    finally:
        server.terminate()
        server.wait(20)
        log.close()
    assert server.returncode == 0
