"""Process operations: timeline, diagram state, repairs, migration, statistics, audit."""

from datetime import timedelta

import pytest

from engine import definitions, instances, jobs, monitor, repair, retention
from engine.actor import Actor
from engine.errors import InvalidInput, NotAllowed
from engine.models import HumanTask, ProcessEvent, utcnow
from tests.conftest import bpmn
from tests.support import operators as test_ops

pytestmark = pytest.mark.usefixtures("db")
ADMIN = Actor("root", is_admin=True)


def window() -> monitor.TimelineWindow:
    now = utcnow()
    return monitor.TimelineWindow(now - timedelta(hours=1), now + timedelta(hours=2))


def test_timeline_bars_of_a_parallel_process_with_a_subprocess_and_a_timer(alice: Actor) -> None:
    definitions.deploy(bpmn("parallel_sub_timer.bpmn"), "p.bpmn", "d")
    doc = instances.start("deal_review", alice)
    quote = next(t for t in doc["open_tasks"] if t["bpmn_id"] == "quote")
    instances.complete_task(quote["guid"], alice, {})
    [row] = monitor.timeline(window(), alice)["rows"]
    bars = {b["element"]: b for b in row["bars"]}
    assert set(bars) == {"quote", "credit_check", "cool_off"}
    assert bars["quote"]["status"] == "completed" and bars["quote"]["performer"] == "alice"
    assert bars["credit_check"]["status"] == "open"  # inside the subprocess
    assert bars["cool_off"]["kind"] == "timer"
    assert timedelta(minutes=59) < bars["cool_off"]["end"] - row["start"] < timedelta(hours=2)
    assert row["running"] and row["status"] == "active"
    # Someone who has nothing to do with it sees no rows.
    assert monitor.timeline(window(), Actor("outsider"))["rows"] == []
    state = repair.diagram_state(str(doc["_id"]), ADMIN)["elements"]
    assert state["quote"] == {"completed": 1}
    assert state["credit_check"] == {"active": 1} and state["cool_off"] == {"active": 1}


def test_move_token_brings_an_instance_forward_and_is_audited(alice: Actor) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    doc = instances.start("approval", alice)
    with pytest.raises(InvalidInput):
        repair.move_token(str(doc["_id"]), ADMIN, "review", "execute", reason=" ")
    with pytest.raises(NotAllowed):
        repair.move_token(str(doc["_id"]), alice, "review", "execute", reason="stuck")
    repair.move_token(str(doc["_id"]), ADMIN, "review", "execute", reason="the reviewer left")
    doc = instances.get(doc["_id"])
    assert [t["bpmn_id"] for t in doc["open_tasks"]] == ["execute"]
    assert HumanTask.objects(instance_id=doc["_id"], bpmn_id="review").first().status == "cancelled"
    doc = instances.complete_task(doc["open_tasks"][0]["guid"], alice, {})
    assert doc["status"] == "completed"
    [entry] = monitor.audit(monitor.AuditFilter(type="repair_move_token"), ADMIN)
    assert entry["actor"] == "root" and entry["data"]["reason"] == "the reviewer left"


def test_skip_a_failed_task_with_output_data_resolves_its_incident(alice: Actor) -> None:
    test_ops.control(fail=True)
    definitions.deploy(bpmn("async_service.bpmn"), "a.bpmn", "d")
    doc = instances.start("async_call", alice, {"amount": 1})
    jobs.Job.objects(kind="async_service").update(set__max_attempts=1)
    jobs.run_due("test")
    assert jobs.list_incidents()
    repair.skip_task(
        str(doc["_id"]), ADMIN, "call", {"receipt": "manual-42"}, reason="booked by hand"
    )
    doc = instances.get(doc["_id"])
    assert [t["bpmn_id"] for t in doc["open_tasks"]] == ["check"]
    assert instances.variables(doc)["receipt"] == "manual-42"
    assert doc["incident"] is None and jobs.list_incidents() == []
    assert test_ops.side_effects() == 0
    # The stuck instance goes on to its end.
    doc = instances.complete_task(doc["open_tasks"][0]["guid"], alice, {})
    assert doc["status"] == "completed"
    [entry] = monitor.audit(monitor.AuditFilter(type="repair_skip_task"), ADMIN)
    assert entry["actor"] == "root" and entry["data"]["reason"] == "booked by hand"


def test_cancel_activity_set_variables_and_reassign(alice: Actor, bob: Actor) -> None:
    definitions.deploy(bpmn("parallel.bpmn"), "p.bpmn", "d")
    doc = instances.start("parallel", alice)
    iid = str(doc["_id"])
    repair.set_variables(iid, ADMIN, {"priority": "high"}, reason="customer called")
    check = next(t for t in doc["open_tasks"] if t["bpmn_id"] == "check")
    repair.reassign_task(iid, ADMIN, check["guid"], "dora", None, reason="vacation")
    assert HumanTask.objects.get(task_guid=check["guid"]).assignee == "dora"
    instances.get_task(check["guid"], Actor("dora"))
    repair.cancel_activity(iid, ADMIN, "quote", reason="not needed")
    doc = instances.get(iid)
    assert [t["bpmn_id"] for t in doc["open_tasks"]] == ["check"]
    doc = instances.complete_task(check["guid"], Actor("dora"), {})
    assert instances.variables(doc)["priority"] == "high"
    types = {e["type"] for e in monitor.audit(monitor.AuditFilter(instance_id=iid), ADMIN)}
    assert {"repair_set_variables", "repair_reassign_task", "repair_cancel_activity"} <= types


def test_migrate_50_instances_to_a_version_with_a_renamed_task(alice: Actor) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    ids = [instances.start("approval", alice)["_id"] for _ in range(50)]
    renamed = (
        bpmn("approval.bpmn")
        .replace(b'"review"', b'"review_request"')
        .replace(b'sourceRef="review"', b'sourceRef="review_request"')
        .replace(b'targetRef="review"', b'targetRef="review_request"')
    )
    assert definitions.deploy(renamed, "a.bpmn", "d")[0].version == 2
    wrong = repair.migrate("approval", 1, 2, ADMIN, {"review": "no_such_task"})
    assert len(wrong.blocked) == 50 and "no_such_task" in wrong.blocked[0]["reasons"][0]
    # By position in the flow, the renamed task is found without a mapping too.
    plan = repair.migrate("approval", 1, 2, ADMIN)
    assert len(plan.movable) == 50 and plan.migrated == 0
    assert plan.movable[0]["mapping"] == {"review": "review_request"}
    assert all(d["definition_version"] == 1 for d in map(instances.get, ids))
    done = repair.migrate(
        "approval", 1, 2, ADMIN, {"review": "review_request"}, dry_run=False, reason="new form"
    )
    assert done.migrated == 50
    for iid in ids:
        doc = instances.get(iid)
        assert doc["definition_version"] == 2
        [task] = doc["open_tasks"]
        assert task["bpmn_id"] == "review_request"
        doc = instances.complete_task(task["guid"], alice, {"decision": "reject"})
        assert doc["status"] == "completed"
    assert ProcessEvent.objects(type="repair_migrate").count() == 50


def test_statistics(alice: Actor) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    for decision in ("reject", "reject"):
        doc = instances.start("approval", alice)
        instances.complete_task(doc["open_tasks"][0]["guid"], alice, {"decision": decision})
    instances.start("approval", alice)
    [row] = monitor.process_statistics(ADMIN, "approval")
    assert (row["started"], row["completed"], row["running"]) == (3, 2, 1)
    assert row["avg_duration_seconds"] is not None
    assert monitor.user_statistics("alice")["completed_this_week"] == 2
    assert monitor.user_statistics("alice")["open"] == 1


def test_retention_archives_old_instances_except_under_legal_hold(alice: Actor) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    ended = []
    for _ in range(3):
        doc = instances.start("approval", alice)
        ended.append(
            instances.complete_task(doc["open_tasks"][0]["guid"], alice, {"decision": "reject"})[
                "_id"
            ]
        )
    running = instances.start("approval", alice)["_id"]
    retention.set_legal_hold(str(ended[0]), ADMIN, True, "court case 12/34")
    with pytest.raises(NotAllowed):
        retention.set_legal_hold(str(ended[1]), alice, True, "mine")
    assert retention.archive_completed(utcnow() + timedelta(seconds=1)) == 2
    held, archived = instances.get(ended[0]), instances.get(ended[1])
    assert held["state"] and not held.get("archived")
    assert archived["archived"] and archived["state"] == ""
    assert instances.variables(archived) == {"decision": "reject"}  # still readable
    assert repair.diagram_state(str(ended[1]), ADMIN)["elements"]["review"] == {"completed": 1}
    assert instances.get(running)["state"]  # running instances are never archived
    assert retention.archive_completed(utcnow() + timedelta(seconds=1)) == 0
    assert ProcessEvent.objects(type="legal_hold_set").count() == 1


def test_every_repair_is_in_the_audit_log_with_who_and_why(alice: Actor) -> None:
    definitions.deploy(bpmn("parallel.bpmn"), "p.bpmn", "d")
    definitions.deploy(bpmn("approval.bpmn"), "a.bpmn", "d")
    parallel = str(instances.start("parallel", alice)["_id"])
    approval = instances.start("approval", alice)
    check = next(t for t in instances.get(parallel)["open_tasks"] if t["bpmn_id"] == "check")
    repair.set_variables(parallel, ADMIN, {"priority": "high"}, reason="r1")
    repair.reassign_task(parallel, ADMIN, check["guid"], "dora", None, reason="r2")
    repair.cancel_activity(parallel, ADMIN, "quote", reason="r3")
    repair.move_token(str(approval["_id"]), ADMIN, "review", "execute", reason="r4")
    repair.move_token(str(approval["_id"]), ADMIN, "execute", "review", reason="r5")
    definitions.deploy(
        bpmn("approval.bpmn").replace(b"Review the request", b"Review v2"), "a.bpmn", "d"
    )
    assert repair.migrate("approval", 1, 2, ADMIN, dry_run=False, reason="r6").migrated == 1
    instances.suspend(parallel, ADMIN)
    instances.resume(parallel, ADMIN)
    test_ops.control(fail=True)
    definitions.deploy(bpmn("async_service.bpmn"), "s.bpmn", "d")
    failing = str(instances.start("async_call", alice, {"amount": 1})["_id"])
    jobs.Job.objects(kind="async_service").update(set__max_attempts=1)
    jobs.run_due("test")
    repair.skip_task(failing, ADMIN, "call", {"receipt": "r"}, reason="r7")
    done = instances.complete_task(instances.get(failing)["open_tasks"][0]["guid"], alice, {})
    retention.set_legal_hold(str(done["_id"]), ADMIN, True, "r8")

    logged = monitor.audit(monitor.AuditFilter(actor="root"), ADMIN)
    reasons: dict[str, list[str | None]] = {}
    for entry in logged:
        if not entry["type"].startswith("task_"):  # the tasks a repair opened or closed
            reasons.setdefault(entry["type"], []).append((entry["data"] or {}).get("reason"))
    assert {t: sorted(r, key=str) for t, r in reasons.items()} == {
        "repair_set_variables": ["r1"],
        "repair_reassign_task": ["r2"],
        "repair_cancel_activity": ["r3"],
        "repair_move_token": ["r4", "r5"],
        "repair_migrate": ["r6"],
        "instance_suspended": [None],  # suspend and resume take no reason (yet)
        "instance_resumed": [None],
        "repair_skip_task": ["r7"],
        "legal_hold_set": ["r8"],
    }
    assert all(e["at"] and e["actor"] == "root" for e in logged)
    # Alice sees the repairs of her instances too; the log has no way to change them.
    assert len(monitor.audit(monitor.AuditFilter(instance_id=parallel), alice)) > 3
