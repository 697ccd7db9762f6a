"""Macros (`run_macro`) in their worker process, and the sandbox on every expression kind.

Macros run through the real job runner against the real database: a macro stopped by a
limit opens an incident at once (no retries), and the worker goes on with the next job.
"""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mongoengine.connection import get_db

from engine import definitions, instances, jobs, macros, subjects
from engine.actor import Actor
from engine.background import EmbeddedWorker
from engine.errors import DefinitionInvalid, ProcessError
from engine.models import ProcessInstance
from tests.conftest import bpmn

pytestmark = pytest.mark.usefixtures("db")


def wait_for(predicate, timeout: float = 15.0, step: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not reached within {timeout} s")


@pytest.fixture()
def macro_process(db: None) -> None:
    definitions.deploy(bpmn("macro.bpmn"), "macro.bpmn", "designer")


@pytest.fixture()
def short_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(macros, "TIME_LIMIT_SECONDS", 0.5)


def start_macro(actor: Actor, script: str, **data: Any) -> dict[str, Any]:
    return instances.start("macro", actor, {"script": script, **data})


def run_jobs() -> list[jobs.Outcome]:
    outcomes = []
    for job_id in jobs.due_job_ids():
        job = jobs.claim(job_id, "test-worker")
        if job is not None:
            outcomes.append(jobs.run(job, "test-worker"))
    return outcomes


@pytest.mark.usefixtures("macro_process")
def test_a_macro_changes_the_task_data_and_the_instance_goes_on(alice: Actor) -> None:
    script = (
        "total = sum(i['price'] * i['qty'] for i in items)\n"
        "vip = total > 1000\n"
        "items = [i['name'] for i in items]\n"
        "del draft\n"
        "def helper():\n"
        "    return 1\n"
    )
    items = [{"name": "desk", "price": 700, "qty": 2}, {"name": "lamp", "price": 50, "qty": 1}]
    doc = start_macro(alice, script, items=items, draft="x", kept=1)
    assert doc["open_tasks"] == [] and doc["async_calls"][0]["operator"] == "run_macro"
    assert [o.status for o in run_jobs()] == ["done"]
    doc = instances.get(doc["_id"])
    data = instances.variables(doc)
    assert data["total"] == 1450 and data["vip"] is True and data["kept"] == 1
    assert data["items"] == ["desk", "lamp"] and "draft" not in data and "helper" not in data
    assert data["macro"] == {"changed": ["items", "total", "vip"], "removed": ["draft"]}
    assert [t["bpmn_id"] for t in doc["open_tasks"]] == ["check"]


class _Card(subjects.SubjectType):
    """A subject type over a test collection, as a domain package would register one."""

    name = "test_card"

    def values(self, object_id: str) -> dict[str, Any]:
        found = get_db().test_cards.find_one({"_id": object_id}, {"_id": 0})
        if found is None:
            raise ProcessError(f"no card {object_id}")
        return dict(found)


@pytest.fixture()
def card_type() -> Iterator[None]:
    subjects.register(_Card())
    yield
    subjects._TYPES.pop("test_card", None)


@pytest.mark.usefixtures("macro_process", "card_type")
def test_a_macro_reads_the_subjects_values(alice: Actor) -> None:
    get_db().test_cards.insert_one({"_id": "c1", "title": "Lease", "amount": 1200})
    script = "label = subject['title'] + ' / ' + str(subject['amount'] * 2)"
    doc = instances.start(
        "macro", alice, {"script": script}, subject={"type": "test_card", "id": "c1"}
    )
    run_jobs()
    assert instances.variables(instances.get(doc["_id"]))["label"] == "Lease / 2400"
    # Without a subject the macro sees None rather than failing.
    doc = start_macro(alice, "has_subject = subject is not None")
    run_jobs()
    assert instances.variables(instances.get(doc["_id"]))["has_subject"] is False


@pytest.mark.usefixtures("macro_process", "short_limit")
def test_a_cpu_burning_macro_becomes_an_incident_and_the_worker_goes_on(alice: Actor) -> None:
    worker = EmbeddedWorker(poll_seconds=0.05)
    worker.start()
    try:
        started = time.monotonic()
        burning = start_macro(alice, "while True:\n    pass")
        # The incident is stored first, then the job and the instance are marked: wait for all.
        wait_for(lambda: ProcessInstance.objects.get(id=burning["_id"]).incident)
        incident = jobs.list_incidents()[0]
        assert time.monotonic() - started < 5  # one attempt, no backoff
        assert "time limit" in incident.error and incident.task == "Run the macro"
        job = jobs.Job.objects.get(id=incident.job_id)
        assert job.status == "failed" and job.attempts == 1
        stored = ProcessInstance.objects.get(id=burning["_id"])
        assert stored.incident["id"] == incident.id and stored.status == "active"
        # The same worker thread runs the next macro.
        after = start_macro(alice, "x = 40 + 2")
        done = wait_for(lambda: instances.get(after["_id"])["open_tasks"])
        assert [t["bpmn_id"] for t in done] == ["check"]
    finally:
        worker.stop()
    assert not worker.is_alive()


@pytest.mark.usefixtures("short_limit")
def test_a_macro_stuck_in_one_c_call_is_killed_at_its_wall_clock_limit() -> None:
    # One sort of a million long lists: seconds in C, where the tracer never runs.
    script = "x = [[0] * 1000 + [i % 7] for i in range(999)] * 1000\nx.sort()"
    started = time.monotonic()
    with pytest.raises(macros.MacroTimeout):
        macros.run(script, {})
    assert time.monotonic() - started < macros.TIME_LIMIT_SECONDS + macros.GRACE_SECONDS + 1
    assert macros.run("x = 1", {}) == {"x": 1}  # a fresh worker takes over


MEMORY_HOGS = {
    "string repeat": "x = 'a' * 10**10",
    "list repeat": "x = [0] * 10**9",
    "growing list": "x = []\nwhile True:\n    x.append('a' * 900000)",
    "many allowed lists": "x = [[0] * 900000 for i in range(999)]",
    "doubling": "x = 'ab'\nwhile True:\n    x = x + x",
}


@pytest.mark.parametrize("script", list(MEMORY_HOGS.values()), ids=list(MEMORY_HOGS))
def test_memory_hogs_are_stopped(script: str) -> None:
    started = time.monotonic()
    with pytest.raises(macros.MacroMemoryLimit):
        macros.run(script, {}, time_limit=10)
    assert time.monotonic() - started < 5
    assert macros.run("x = 1", {}) == {"x": 1}


def test_a_macro_cannot_hand_back_more_data_than_the_limit() -> None:
    with pytest.raises(macros.MacroMemoryLimit, match="bytes"):
        macros.run("x = ['a' * 999999 for i in range(20)]", {})
    assert macros.run("x = 'a' * 999999", {})["x"] == "a" * 999999


def test_bytearray_is_not_even_available() -> None:
    with pytest.raises(macros.MacroError, match="bytearray"):
        macros.run("x = bytearray(10**10)", {})


@pytest.mark.usefixtures("macro_process")
def test_a_memory_hog_in_a_diagram_becomes_an_incident(alice: Actor) -> None:
    start_macro(alice, "x = []\nwhile True:\n    x.append('a' * 900000)")
    assert [o.status for o in run_jobs()] == ["failed"]
    assert "memory" in jobs.list_incidents()[0].error


@pytest.mark.usefixtures("macro_process")
@pytest.mark.parametrize(
    "script",
    [
        "x = ().__class__.__base__.__subclasses__()",
        "import os\nos.system('touch /tmp/pwned')",
        "x = open('/etc/passwd').read()",
        "x = getattr(subject, '__class__')",
        "g = (i for i in [1])\nx = g.gi_frame.f_back",
    ],
)
def test_escapes_in_a_macro_become_incidents(alice: Actor, script: str) -> None:
    start_macro(alice, script)
    assert [o.status for o in run_jobs()] == ["failed"]
    assert jobs.list_incidents()[0].error


def test_the_worker_runs_with_its_limits() -> None:
    macros.shutdown()
    macros.run("x = 1", {})
    worker = macros._idle[0]
    limits = Path(f"/proc/{worker.proc.pid}/limits").read_text()
    address_space = next(line for line in limits.splitlines() if "address space" in line)
    assert "unlimited" not in address_space
    macros.shutdown()
    assert worker.proc.poll() is not None  # idle workers end with their caller


def test_the_macro_worker_does_not_see_the_callers_environment() -> None:
    # Isolated mode (-I) and a fresh interpreter: nothing of the engine is imported there.
    assert macros.run("x = 1 if subject is None else 2", {}, {"subject": None}) == {"x": 1}
    with pytest.raises(macros.MacroError, match="NameError"):
        macros.run("x = instances", {})


# ------------------------------------------------------- every expression in the sandbox

WHY = "SandboxError|SandboxMemoryLimit|NameError"  # the refusal the error names


def deploy_gateway(condition: str) -> None:
    definitions.deploy(
        bpmn("sandbox_gateway.bpmn").replace(b"CONDITION", condition.encode()),
        "g.bpmn",
        "designer",
    )


def test_a_gateway_condition_runs_in_the_sandbox(alice: Actor) -> None:
    deploy_gateway("amount &gt; 1000")
    doc = instances.start("sandbox_gateway", alice, {"amount": 5000})
    assert [t["bpmn_id"] for t in doc["open_tasks"]] == ["big_task"]


@pytest.mark.parametrize(
    "condition",
    [
        "().__class__.__base__.__subclasses__()",
        "getattr(amount, '__class__') is not None",
        "__import__('os').system('true') == 0",
        "len('a' * 10**10) &gt; 0",
    ],
)
def test_a_gateway_condition_attempting_an_escape_is_refused(alice: Actor, condition: str) -> None:
    try:
        deploy_gateway(condition)
    except DefinitionInvalid:
        return  # refused at deploy: even better
    with pytest.raises(ProcessError, match=WHY):
        instances.start("sandbox_gateway", alice, {"amount": 5000})
    assert ProcessInstance.objects(process_key="sandbox_gateway").count() == 0


def deploy_decision(input_entry: str, output_entry: str) -> None:
    dmn = bpmn("sandbox_decision.dmn")
    dmn = dmn.replace(b"INPUT_ENTRY", input_entry.encode())
    dmn = dmn.replace(b"OUTPUT_ENTRY", output_entry.encode())
    definitions.deploy(dmn, "approver.dmn", "designer")
    definitions.deploy(bpmn("sandbox_decision.bpmn"), "decision.bpmn", "designer")


def test_a_decision_table_runs_in_the_sandbox(alice: Actor) -> None:
    deploy_decision("&gt; 1000", '"cfo"')
    doc = instances.start("sandbox_decision", alice, {"amount": 5000})
    assert instances.variables(doc)["approver"] == "cfo"


@pytest.mark.parametrize(
    ("input_entry", "output_entry"),
    [
        ("&gt; 1000", "().__class__.__base__.__subclasses__()"),
        ("&gt; 1000", "[c for c in getattr(1, '__class__').mro()]"),
        ("? &gt; len('a' * 10**10)", '"cfo"'),
        ("__import__('os') is not None", '"cfo"'),
    ],
)
def test_a_decision_cell_attempting_an_escape_is_refused(
    alice: Actor, input_entry: str, output_entry: str
) -> None:
    try:
        deploy_decision(input_entry, output_entry)
    except DefinitionInvalid:
        return
    with pytest.raises(ProcessError, match=WHY):
        instances.start("sandbox_decision", alice, {"amount": 5000})


ESCAPE = "().__class__.__base__.__subclasses__()"


def test_a_timer_expression_attempting_an_escape_is_refused(alice: Actor) -> None:
    diagram = bpmn("boundary_timer.bpmn")
    diagram = diagram.replace(
        b"<bpmn:timeDuration>timeout<", f"<bpmn:timeDuration>{ESCAPE}<".encode()
    )
    try:
        definitions.deploy(diagram, "b.bpmn", "designer")
    except DefinitionInvalid:
        return
    with pytest.raises(ProcessError, match=WHY):
        instances.start("answer_or_escalate", alice, {"timeout": "PT1H"})


def test_a_message_payload_attempting_an_escape_is_refused(alice: Actor) -> None:
    diagram = bpmn("message_throw.bpmn").replace(b'{"amount": amount}', ESCAPE.encode())
    try:
        definitions.deploy(diagram, "t.bpmn", "designer")
    except DefinitionInvalid:
        return
    with pytest.raises(ProcessError, match=WHY):
        instances.start("payment", alice, {"order_id": "B-2", "amount": 7})


def test_an_operator_parameter_attempting_an_escape_is_refused(alice: Actor) -> None:
    diagram = bpmn("macro.bpmn").replace(b'value="script"', b"value=\"len('a' * 10**10)\"")
    try:
        definitions.deploy(diagram, "m.bpmn", "designer")
    except DefinitionInvalid:
        return
    with pytest.raises(ProcessError, match=WHY):
        instances.start("macro", alice, {})
