"""Background work with the embedded worker: timers, async steps, retries, incidents."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engine import definitions, instances, jobs
from engine.actor import Actor
from engine.background import EmbeddedWorker
from engine.models import HumanTask, ProcessEvent, ProcessInstance
from tests.conftest import bpmn
from tests.support import operators as test_ops

pytestmark = pytest.mark.usefixtures("db")


def wait_for(predicate, timeout: float = 10.0, step: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not reached within {timeout} s")


@pytest.fixture()
def worker() -> Iterator[EmbeddedWorker]:
    thread = EmbeddedWorker(poll_seconds=0.1)
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture()
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "BACKOFF_BASE_SECONDS", 0.05)


def test_boundary_timer_takes_the_escalation_path_on_time(
    worker: EmbeddedWorker, alice: Actor
) -> None:
    definitions.deploy(bpmn("boundary_timer.bpmn"), "b.bpmn", "d")
    doc = instances.start("answer_or_escalate", alice, {"timeout": "PT1S"})
    due: datetime = doc["next_timer_at"]
    escalation = wait_for(
        lambda: HumanTask.objects(
            instance_id=doc["_id"], bpmn_id="escalate", status="open"
        ).first(),
        timeout=5,
    )
    fired = ProcessEvent.objects.get(instance_id=doc["_id"], type="timer_fired")
    assert (fired.at - due).total_seconds() < 2.0
    assert HumanTask.objects.get(instance_id=doc["_id"], bpmn_id="answer").status == "cancelled"
    assert escalation.assignee == "alice"


def test_answered_in_time_cancels_the_timer_job(alice: Actor) -> None:
    definitions.deploy(bpmn("boundary_timer.bpmn"), "b.bpmn", "d")
    doc = instances.start("answer_or_escalate", alice, {"timeout": "PT1H"})
    assert jobs.Job.objects(instance_id=doc["_id"], kind="timer", status="pending").count() == 1
    instances.complete_task(doc["open_tasks"][0]["guid"], alice, {})
    assert jobs.Job.objects(instance_id=doc["_id"], kind="timer", status="pending").count() == 0


def test_async_service_task_runs_in_a_job_and_the_instance_waits(
    worker: EmbeddedWorker, alice: Actor
) -> None:
    test_ops.control()
    definitions.deploy(bpmn("async_service.bpmn"), "a.bpmn", "d")
    worker.stop()  # look at the waiting state first
    doc = instances.start("async_call", alice, {"amount": 5})
    assert doc["open_tasks"] == [] and len(doc["async_calls"]) == 1
    assert test_ops.calls() == 0
    assert jobs.run_due("test-worker") == 1
    doc = instances.get(doc["_id"])
    assert [t["bpmn_id"] for t in doc["open_tasks"]] == ["check"]
    assert instances.variables(doc)["receipt"]["receipt"].startswith("async:")
    assert test_ops.side_effects() == 1


def test_failing_job_opens_an_incident_and_retry_after_the_fix_completes(
    fast_retries: None, alice: Actor
) -> None:
    test_ops.control(fail=True)
    definitions.deploy(bpmn("async_service.bpmn"), "a.bpmn", "d")
    doc = instances.start("async_call", alice, {"amount": 5})
    for _ in range(3):
        wait_for(lambda: jobs.due_job_ids(), timeout=2)
        jobs.run_due("test-worker")
    assert test_ops.calls() == 3
    incident = jobs.list_incidents()[0]
    assert "ledger is offline" in incident.error and incident.task == "Send to the ledger"
    stored = ProcessInstance.objects.get(id=doc["_id"])
    assert stored.incident["id"] == incident.id and stored.status == "active"
    assert jobs.run_due("test-worker") == 0  # a failed job waits for a person

    test_ops.control()  # the ledger is back
    jobs.retry_incident(incident.id, "admin")
    assert jobs.run_due("test-worker") == 1
    doc = instances.get(doc["_id"])
    assert [t["bpmn_id"] for t in doc["open_tasks"]] == ["check"]
    assert doc["incident"] is None
    assert jobs.get_incident(incident.id).status == "resolved"


def test_expired_lease_lets_another_worker_take_the_job(alice: Actor) -> None:
    test_ops.control()
    definitions.deploy(bpmn("async_service.bpmn"), "a.bpmn", "d")
    instances.start("async_call", alice, {"amount": 5})
    job_id = jobs.due_job_ids()[0]
    assert jobs.claim(job_id, "worker-a", lease_seconds=0.3) is not None
    assert jobs.claim(job_id, "worker-b") is None  # leased
    time.sleep(0.4)
    job = jobs.claim(job_id, "worker-b")
    assert job is not None and job.attempts == 2
    assert jobs.run(job, "worker-b").status == "done"


def test_enqueue_is_idempotent(alice: Actor) -> None:
    jobs.enqueue("timer", "k1")
    jobs.enqueue("timer", "k1")
    assert jobs.Job.objects(key="k1").count() == 1


def test_timer_start_event_starts_an_instance_per_cycle(alice: Actor) -> None:
    definitions.deploy(bpmn("timer_start.bpmn"), "ts.bpmn", "d")  # "R3/PT1S"
    started = []
    for _ in range(3):
        wait_for(lambda: jobs.due_job_ids(), timeout=3)
        jobs.run_due("test-worker")
        started = list(ProcessInstance.objects(process_key="every_second"))
    assert len(started) == 3
    assert {len(i.open_tasks) for i in started} == {1}
    assert jobs.Job.objects(kind="timer_start", status="pending").count() == 0
    # Re-deploying the same content plans nothing new.
    definitions.deploy(bpmn("timer_start.bpmn"), "ts.bpmn", "d")
    assert jobs.Job.objects(kind="timer_start").count() == 3


def test_a_new_version_replaces_the_old_schedule(alice: Actor) -> None:
    slow = bpmn("timer_start.bpmn").replace(b'"R3/PT1S"', b'"R/PT1S"')
    definitions.deploy(slow, "ts.bpmn", "d")
    definitions.deploy(slow.replace(b"daily report", b"weekly report"), "ts.bpmn", "d")
    wait_for(lambda: len(jobs.due_job_ids()) == 2, timeout=3)
    jobs.run_due("test-worker")
    started = list(ProcessInstance.objects(process_key="every_second"))
    assert [i.definition_version for i in started] == [2]


def test_message_thrown_by_one_instance_reaches_the_matching_one_only(alice: Actor) -> None:
    definitions.deploy(bpmn("message_wait.bpmn"), "w.bpmn", "d")
    definitions.deploy(bpmn("message_throw.bpmn"), "t.bpmn", "d")
    waiting = {
        key: instances.start("order_payment", alice, {"order_id": key})["_id"]
        for key in ("A-1", "B-2")
    }
    sender = instances.start("payment", alice, {"order_id": "B-2", "amount": 7})
    assert sender["status"] == "completed"
    assert jobs.run_due("test-worker") == 1
    assert jobs.run_due("test-worker") == 0  # routed once
    b = instances.get(waiting["B-2"])
    assert [t["bpmn_id"] for t in b["open_tasks"]] == ["ship"]
    assert instances.variables(b)["payment"] == {"amount": 7}
    a = instances.get(waiting["A-1"])
    assert a["open_tasks"] == [] and a["waiting_messages"]


def test_a_time_date_timer_is_scheduled_and_fires(alice: Actor) -> None:
    definitions.deploy(bpmn("date_timer.bpmn"), "d.bpmn", "d")
    when = datetime.now(UTC) + timedelta(seconds=1)
    doc = instances.start("wait_until", alice, {"when": when.isoformat()})
    assert doc["next_timer_at"] is not None
    assert abs((doc["next_timer_at"] - when.replace(tzinfo=None)).total_seconds()) < 0.01
    wait_for(lambda: jobs.due_job_ids(), timeout=3)
    jobs.run_due("test-worker")
    assert [t["bpmn_id"] for t in instances.get(doc["_id"])["open_tasks"]] == ["call"]
