"""The monitor's timeline: the copy of the instances it keeps for designers and admins
answers exactly as the database query does, and follows every write."""

from datetime import timedelta
from typing import Any

import pytest

from engine import definitions, instances, jobs, monitor, repair, repository
from engine.actor import Actor
from engine.models import utcnow
from tests.conftest import bpmn
from tests.support import operators as test_ops

pytestmark = pytest.mark.usefixtures("db")
ADMIN = Actor("root", is_admin=True)


def _window(back: timedelta = timedelta(hours=1), **filters: Any) -> monitor.TimelineWindow:
    now = utcnow()
    return monitor.TimelineWindow(now - back, now + timedelta(hours=2), **filters)


def _from_database(window: monitor.TimelineWindow) -> dict[str, Any]:
    # A window starting before the reach of the held copy goes to the database.
    reach, monitor.HELD_REACH = monitor.HELD_REACH, timedelta(0)
    try:
        return monitor.timeline(window, ADMIN)
    finally:
        monitor.HELD_REACH = reach


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def shape(t: dict[str, Any]) -> list[Any]:
        return [
            {**r, "end": None, "bars": [{**x, "start": None, "end": None} for x in r["bars"]]}
            for r in t["rows"]
        ]

    return shape(a) == shape(b)


def test_the_held_copy_follows_every_write(alice: Actor, bob: Actor) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    first = instances.start("approval", alice)
    assert [r["instance_id"] for r in monitor.timeline(_window(), ADMIN)["rows"]] == [
        str(first["_id"])
    ]
    # Started, completed, ended, suspended after the copy was read: all seen at once.
    second = instances.start("approval", bob, subject={"type": "contract", "id": "c-1"})
    instances.complete_task(first["open_tasks"][0]["guid"], alice, {"decision": "approve"})
    third = instances.start("approval", alice)
    instances.complete_task(third["open_tasks"][0]["guid"], alice, {"decision": "reject"})
    instances.suspend(second["_id"], ADMIN)
    held = monitor.timeline(_window(), ADMIN)
    rows = {r["instance_id"]: r for r in held["rows"]}
    assert [r["instance_id"] for r in held["rows"]] == [
        str(d["_id"]) for d in (first, second, third)
    ]
    assert [b["element"] for b in rows[str(first["_id"])]["bars"]] == ["review", "execute"]
    assert rows[str(third["_id"])]["running"] is False
    assert rows[str(second["_id"])]["status"] == "suspended"
    assert _same(held, _from_database(_window()))
    # Filters give what the database query gives.
    for filters in (
        {"process_key": "approval"},
        {"process_key": "other"},
        {"subject_type": "contract", "subject_id": "c-1"},
        {"user": "bob"},
    ):
        window = _window(**filters)
        assert _same(monitor.timeline(window, ADMIN), _from_database(window))
    assert len(monitor.timeline(_window(user="bob"), ADMIN)["rows"]) == 1


def test_a_new_database_is_read_anew(alice: Actor, db_uri: str) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    instances.start("approval", alice)
    assert len(monitor.timeline(_window(), ADMIN)["rows"]) == 1
    repository.instances().delete_many({})  # behind the engine's back
    monitor.HELD_MAX_AGE, age = timedelta(0), monitor.HELD_MAX_AGE
    try:
        assert monitor.timeline(_window(), ADMIN)["rows"] == []
    finally:
        monitor.HELD_MAX_AGE = age


def test_others_are_answered_by_the_database_query(alice: Actor, bob: Actor) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    mine = instances.start("approval", alice)
    instances.start("approval", Actor("carol"))
    monitor.timeline(_window(), ADMIN)  # the copy holds both
    assert [r["instance_id"] for r in monitor.timeline(_window(), alice)["rows"]] == [
        str(mine["_id"])
    ]
    assert monitor.timeline(_window(), bob)["rows"] == []


def test_an_incident_shows_on_its_row_as_soon_as_it_opens(alice: Actor) -> None:
    test_ops.control(fail=True)
    definitions.deploy(bpmn("async_service.bpmn"), "a.bpmn", "d")
    doc = instances.start("async_call", alice, {"amount": 1})
    [row] = monitor.timeline(_window(), ADMIN)["rows"]
    assert row["has_incident"] is False and row["incidents"] == []
    jobs.Job.objects(kind="async_service").update(set__max_attempts=1)
    jobs.run_due("test")  # the failure is written by a job, not by the engine
    [row] = monitor.timeline(_window(), ADMIN)["rows"]
    assert row["has_incident"] is True and row["incidents"][0]["error"]
    repair.skip_task(str(doc["_id"]), ADMIN, "call", {"receipt": "r"}, reason="by hand")
    [row] = monitor.timeline(_window(), ADMIN)["rows"]
    assert row["has_incident"] is False


def test_an_earlier_window_reads_the_instances_that_ended_before_once(alice: Actor) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    old = instances.start("approval", alice)
    instances.complete_task(old["open_tasks"][0]["guid"], alice, {"decision": "reject"})
    now = utcnow()
    repository.instances().update_one(
        {"_id": old["_id"]},
        {"$set": {"started_at": now - timedelta(days=3), "ended_at": now - timedelta(days=2)}},
    )
    running = instances.start("approval", alice)
    assert [r["instance_id"] for r in monitor.timeline(_window(), ADMIN)["rows"]] == [
        str(running["_id"])
    ]
    week = _window(back=timedelta(days=7))
    assert [r["instance_id"] for r in monitor.timeline(week, ADMIN)["rows"]] == [
        str(old["_id"]),
        str(running["_id"]),
    ]
    assert _same(monitor.timeline(week, ADMIN), _from_database(week))
    assert len(monitor.timeline(_window(), ADMIN)["rows"]) == 1


def test_the_keeper_reads_the_copy_anew_off_the_request_path(alice: Actor) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    instances.start("approval", alice)
    assert len(monitor.timeline(_window(), ADMIN)["rows"]) == 1
    repository.instances().delete_many({})  # behind the engine's back: only a full read sees it
    assert len(monitor.timeline(_window(), ADMIN)["rows"]) == 1
    keeper = monitor.HeldInstancesKeeper(every=timedelta(hours=1))
    keeper.start()  # its first round reads at once
    keeper.stop()
    assert monitor.timeline(_window(), ADMIN)["rows"] == []
    later = instances.start("approval", alice)  # written after the keeper's read: looked back
    assert [r["instance_id"] for r in monitor.timeline(_window(), ADMIN)["rows"]] == [
        str(later["_id"])
    ]
