"""The Celery path: real redis-server, real worker and beat processes, SIGKILL mid-job."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import definitions, instances
from engine.actor import Actor
from engine.models import HumanTask, ProcessEvent, ProcessInstance
from tests.conftest import bpmn
from tests.support import operators as test_ops

pytestmark = [pytest.mark.usefixtures("db"), pytest.mark.slow]
LEASE = 3
CELERY = [sys.executable, "-m", "celery", "-A", "tests.support.celery_app:celery_app"]


def wait_for(predicate: Callable[[], object], timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not reached within {timeout} s")


@pytest.fixture()
def celery(
    db_uri: str, db_name: str, redis_url: str, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start Celery processes (`worker` or `beat`) against the test database and Redis."""
    env = {
        **os.environ,
        "MONGODB_URI": db_uri,
        "CRM_DB_NAME": db_name,
        "REDIS_URL": redis_url,
        "CRM_DATA_DIR": str(tmp_path),
        "CRM_JOB_LEASE_SECONDS": str(LEASE),
    }
    started: list[subprocess.Popen] = []
    root = Path(__file__).parents[2]

    def start(role: str, name: str = "w") -> subprocess.Popen:
        args = (
            [
                "worker",
                "--pool=solo",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
            if role == "worker"
            else ["beat", "-s", str(tmp_path / "beat-schedule")]
        )
        log = open(tmp_path / f"{role}-{name}.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [*CELERY, *args, "--loglevel=INFO"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        proc.log = log  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
    for proc in started:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.log.close()  # type: ignore[attr-defined]


def test_worker_killed_mid_job_the_job_runs_again_and_the_effect_happens_once(
    celery: Callable[..., subprocess.Popen], alice: Actor
) -> None:
    test_ops.control(sleep=30)  # the first run hangs after its side effect
    definitions.deploy(bpmn("async_service.bpmn"), "a.bpmn", "d")
    doc = instances.start("async_call", alice, {"amount": 5})
    celery("beat")
    first = celery("worker", "first")
    wait_for(test_ops.side_effects, timeout=30)  # the first worker is inside the job
    first.send_signal(signal.SIGKILL)
    first.wait()
    test_ops.control()  # the second run is quick
    celery("worker", "second")
    wait_for(
        lambda: HumanTask.objects(instance_id=doc["_id"], bpmn_id="check").first(),
        timeout=LEASE + 30,
    )
    assert test_ops.calls() == 2  # the job really ran twice...
    assert test_ops.side_effects() == 1  # ...and its side effect happened once
    final = instances.get(doc["_id"])
    assert [t["bpmn_id"] for t in final["open_tasks"]] == ["check"]
    assert instances.variables(final)["receipt"]["receipt"].startswith("async:")


def test_100_timers_with_2_workers_each_fire_exactly_once(
    celery: Callable[..., subprocess.Popen], alice: Actor
) -> None:
    definitions.deploy(bpmn("short_timer.bpmn"), "t.bpmn", "d")
    ids = [instances.start("short_timer", alice, {"wait": "PT2S"})["_id"] for _ in range(100)]
    celery("beat")
    celery("worker", "one")
    celery("worker", "two")
    fired = ProcessEvent.objects(instance_id__in=ids, type="timer_fired")
    # An instance's events are copied to the history right after its own write: wait for
    # both, then give a timer fired twice the time to show.
    wait_for(
        lambda: (
            ProcessInstance.objects(id__in=ids, status="completed").count() == 100
            and fired.count() >= 100
        ),
        timeout=90,
    )
    time.sleep(2)
    assert fired.count() == 100
    assert len({e.instance_id for e in fired}) == 100
    assert all(instances.variables(instances.get(i))["fired"] for i in ids[:5])
