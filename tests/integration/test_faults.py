"""Races, crashes between writes, and a database restart: nothing is lost or doubled."""

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import definitions, instances, repository, runtime
from engine.actor import Actor
from engine.errors import TaskNotActive, VersionConflict
from engine.models import HumanTask, ProcessEvent, ProcessInstance
from tests.conftest import bpmn
from webapi import database
from webapi.cli import main
from webapi.embedded_db import EmbeddedDatabase, EmbeddedDatabaseError


def _race(monkeypatch: pytest.MonkeyPatch, calls: list, parties: int) -> list:
    """Run `calls` in threads that all load the instance before any of them writes."""
    barrier = threading.Barrier(parties, timeout=10)
    original = runtime.Runner.complete
    waited: set[int] = set()

    def complete_after_everyone_loaded(self, guid, data):  # type: ignore[no-untyped-def]
        if threading.get_ident() not in waited:  # a retry after the race does not wait
            waited.add(threading.get_ident())
            barrier.wait()
        return original(self, guid, data)

    monkeypatch.setattr(runtime.Runner, "complete", complete_after_everyone_loaded)
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except Exception as exc:  # collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.usefixtures("db")
def test_two_threads_completing_one_task_exactly_one_succeeds(
    monkeypatch: pytest.MonkeyPatch, alice: Actor
) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "d")
    doc = instances.start("approval", alice)
    guid = doc["open_tasks"][0]["guid"]
    results = _race(
        monkeypatch,
        [
            lambda: instances.complete_task(guid, alice, {"decision": "approve"}),
            lambda: instances.complete_task(guid, alice, {"decision": "reject"}),
        ],
        parties=2,
    )
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, TaskNotActive | VersionConflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    stored = ProcessInstance.objects.get(id=doc["_id"])
    assert stored.version == 2  # one write after the start, not two
    completions = ProcessEvent.objects(instance_id=doc["_id"], type="task_completed")
    assert completions.count() == 1


@pytest.mark.usefixtures("db")
def test_parallel_tasks_completed_at_once_both_count(
    monkeypatch: pytest.MonkeyPatch, alice: Actor, bob: Actor
) -> None:
    definitions.deploy(bpmn("parallel.bpmn"), "parallel.bpmn", "d")
    doc = instances.start("parallel", alice)
    tasks = {t["bpmn_id"]: t["guid"] for t in doc["open_tasks"]}
    results = _race(
        monkeypatch,
        [
            lambda: instances.complete_task(tasks["quote"], alice, {"q": 1}),
            lambda: instances.complete_task(tasks["check"], bob, {"c": 1}),
        ],
        parties=2,
    )
    assert all(isinstance(r, dict) for r in results), results
    final = instances.get(doc["_id"])
    assert final["status"] == "completed"


@pytest.mark.usefixtures("db")
def test_crash_between_instance_write_and_projection_is_repaired(
    monkeypatch: pytest.MonkeyPatch, alice: Actor
) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "d")
    doc = instances.start("approval", alice)
    review = doc["open_tasks"][0]["guid"]

    def crash(doc: dict) -> None:
        raise RuntimeError("process killed after the instance write")

    monkeypatch.setattr(repository, "project", crash)
    with pytest.raises(RuntimeError, match="killed"):
        instances.complete_task(review, alice, {"decision": "approve"})
    monkeypatch.undo()

    # The instance moved on, but the inbox still shows the old state.
    stored = ProcessInstance.objects.get(id=doc["_id"])
    assert stored.projection_pending and [t["bpmn_id"] for t in stored.open_tasks] == ["execute"]
    assert HumanTask.objects.get(task_guid=review).status == "open"
    assert HumanTask.objects(bpmn_id="execute").count() == 0

    assert instances.repair_pending() == 1

    assert HumanTask.objects.get(task_guid=review).status == "completed"
    assert HumanTask.objects.get(task_guid=review).completed_by == "alice"
    assert HumanTask.objects(bpmn_id="execute", status="open").count() == 1
    types = [e.type for e in ProcessEvent.objects(instance_id=doc["_id"])]
    assert types.count("task_completed") == 1 and types.count("task_created") == 2
    assert not ProcessInstance.objects.get(id=doc["_id"]).projection_pending
    assert instances.repair_pending() == 0


@pytest.mark.usefixtures("db")
def test_stale_task_completion_repairs_on_touch(
    monkeypatch: pytest.MonkeyPatch, alice: Actor
) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "d")
    doc = instances.start("approval", alice)
    review = doc["open_tasks"][0]["guid"]
    monkeypatch.setattr(
        repository, "project", lambda doc: (_ for _ in ()).throw(RuntimeError("killed"))
    )
    with pytest.raises(RuntimeError):
        instances.complete_task(review, alice, {"decision": "reject"})
    monkeypatch.undo()
    with pytest.raises(TaskNotActive):  # the inbox said open; the instance knows better
        instances.complete_task(review, alice, {"decision": "reject"})
    assert HumanTask.objects.get(task_guid=review).status == "completed"


def test_database_restart_loses_nothing(tmp_path: Path, alice: Actor) -> None:
    server = EmbeddedDatabase(tmp_path / "db", log_path=tmp_path / "db.log").start()
    try:
        database.connect(server.uri, "restart")
        definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "d")
        doc = instances.start("approval", alice, {"amount": 3})
        guid = doc["open_tasks"][0]["guid"]
        server.stop()
        server = EmbeddedDatabase(
            tmp_path / "db", port=server.port, log_path=tmp_path / "db.log"
        ).start()
        database.connect(server.uri, "restart")
        assert HumanTask.objects.get(task_guid=guid).status == "open"
        doc = instances.complete_task(guid, alice, {"decision": "approve"})
        assert doc["open_tasks"][0]["bpmn_id"] == "execute"
        assert instances.variables(doc)["amount"] == 3
        assert ProcessEvent.objects(instance_id=doc["_id"]).count() == 4
    finally:
        database.disconnect()
        server.stop()


def test_a_bad_embedded_database_cache_size_is_a_clear_error(tmp_path: Path) -> None:
    for size in ("lots", "8M", "-1G"):
        with pytest.raises(EmbeddedDatabaseError, match="256M"):
            EmbeddedDatabase(tmp_path / "db", cache_size=size)
    assert EmbeddedDatabase(tmp_path / "db", cache_size="64m").cache_size == "64M"
    diagram = tmp_path / "approval.bpmn"
    diagram.write_bytes(bpmn("approval.bpmn"))
    env = {"MONGODB_URI": "", "CRM_DATA_DIR": str(tmp_path), "CRM_EMBEDDED_DB_CACHE": "lots"}
    result = CliRunner().invoke(main, ["deploy", str(diagram)], env=env)
    assert result.exit_code == 2
    assert "crm: error: CRM_EMBEDDED_DB_CACHE='lots'" in result.output
