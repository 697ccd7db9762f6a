"""Instances against the real database: start, advance, gateways, timers, the inbox."""

from datetime import datetime, timedelta

import pytest

from engine import definitions, instances, operators
from engine.actor import Actor
from engine.errors import (
    DataInvalid,
    FormInvalid,
    InstanceNotActive,
    ProcessError,
    TaskNotActive,
    TaskNotClaimable,
    TaskNotFound,
)
from engine.models import HumanTask, ProcessEvent, ProcessInstance
from registry import organizations
from registry.models import Action
from tests.conftest import bpmn

pytestmark = pytest.mark.usefixtures("db")


def deploy(name: str) -> None:
    definitions.deploy(bpmn(name), name, "designer")


def only_task(doc: dict) -> dict:
    assert len(doc["open_tasks"]) == 1, doc["open_tasks"]
    return doc["open_tasks"][0]


def event_types(instance_id) -> list[str]:
    return [e.type for e in ProcessEvent.objects(instance_id=instance_id).order_by("at", "id")]


def test_start_runs_to_the_first_user_task_assigned_to_the_initiator(alice: Actor) -> None:
    deploy("approval.bpmn")
    doc = instances.start(
        "approval",
        alice,
        {"amount": 5},
        subject={"type": "organization", "id": "42", "title": "Acme"},
    )
    task = only_task(doc)
    assert doc["status"] == "active" and task["bpmn_id"] == "review"
    assert task["assignee"] == "alice"
    stored = HumanTask.objects.get(task_guid=task["guid"])
    assert stored.status == "open" and stored.subject["id"] == "42"
    assert stored.due_at - stored.created_at == timedelta(days=2)
    assert event_types(doc["_id"]) == ["instance_started", "task_created"]


def test_exclusive_gateway_approve_branch(alice: Actor) -> None:
    deploy("approval.bpmn")
    doc = instances.start("approval", alice)
    doc = instances.complete_task(
        only_task(doc)["guid"], alice, {"decision": "approve", "amount": 10}
    )
    assert only_task(doc)["bpmn_id"] == "execute"
    doc = instances.complete_task(only_task(doc)["guid"], alice, {})
    assert doc["status"] == "completed" and doc["ended_at"] is not None
    assert instances.variables(doc) == {"decision": "approve", "amount": 10}
    assert HumanTask.objects(instance_id=doc["_id"], status="completed").count() == 2
    assert event_types(doc["_id"])[-1] == "instance_completed"


def test_exclusive_gateway_default_branch_ends_at_once(alice: Actor) -> None:
    deploy("approval.bpmn")
    doc = instances.start("approval", alice)
    doc = instances.complete_task(only_task(doc)["guid"], alice, {"decision": "reject"})
    assert doc["status"] == "completed" and doc["open_tasks"] == []


def test_form_errors_name_the_fields_and_change_nothing(alice: Actor) -> None:
    deploy("approval.bpmn")
    doc = instances.start("approval", alice)
    guid = only_task(doc)["guid"]
    with pytest.raises(FormInvalid) as caught:
        instances.complete_task(guid, alice, {"decision": "maybe", "amount": -1, "x": 1})
    assert set(caught.value.errors) == {"decision", "amount", "x"}
    assert ProcessInstance.objects.get(id=doc["_id"]).version == doc["version"]


@pytest.mark.parametrize("bad", [{"$where": 1}, {"typename": "x"}, {"a": {"$gt": 1}}])
def test_reserved_and_operator_keys_are_refused(alice: Actor, bad: dict) -> None:
    deploy("approval.bpmn")
    with pytest.raises(DataInvalid):
        instances.start("approval", alice, bad)
    assert ProcessInstance.objects.count() == 0


def test_parallel_gateway_waits_for_both_lanes(alice: Actor, bob: Actor) -> None:
    deploy("parallel.bpmn")
    doc = instances.start("parallel", alice)
    tasks = {t["bpmn_id"]: t for t in doc["open_tasks"]}
    assert set(tasks) == {"quote", "check"}
    assert tasks["quote"]["candidates"] == ["group:sales"] and tasks["quote"]["assignee"] is None
    assert tasks["check"]["candidates"] == ["group:support"]
    # alice is in sales only: she may not see the support task.
    with pytest.raises(TaskNotFound):
        instances.get_task(tasks["check"]["guid"], alice)
    instances.claim_task(tasks["quote"]["guid"], alice)
    with pytest.raises(TaskNotClaimable):
        instances.complete_task(tasks["quote"]["guid"], bob, {})
    doc = instances.complete_task(tasks["quote"]["guid"], alice, {"q": 1})
    assert [t["bpmn_id"] for t in doc["open_tasks"]] == ["check"]
    assert doc["status"] == "active"
    doc = instances.complete_task(tasks["check"]["guid"], bob, {"c": 2})
    assert doc["status"] == "completed"


def test_lane_owners_in_task_data_override_the_lane(alice: Actor) -> None:
    deploy("parallel.bpmn")
    doc = instances.start(
        "parallel", alice, {"lane_owners": {"support": ["carol"], "sales": ["group:vip", "dan"]}}
    )
    tasks = {t["bpmn_id"]: t for t in doc["open_tasks"]}
    assert tasks["check"]["assignee"] == "carol"
    assert tasks["quote"]["assignee"] is None
    assert tasks["quote"]["candidates"] == ["group:vip", "dan"]
    instances.get_task(tasks["quote"]["guid"], Actor("dan"))
    with pytest.raises(TaskNotFound):
        instances.get_task(tasks["check"]["guid"], Actor("bob", frozenset({"support"})))


def test_unclaim_gives_a_group_task_back(alice: Actor, bob: Actor) -> None:
    deploy("parallel.bpmn")
    doc = instances.start("parallel", alice)
    quote = next(t for t in doc["open_tasks"] if t["bpmn_id"] == "quote")
    instances.claim_task(quote["guid"], bob)
    assert instances.get_task(quote["guid"], alice).assignee == "bob"
    with pytest.raises(TaskNotClaimable):
        instances.claim_task(quote["guid"], alice)
    with pytest.raises(TaskNotClaimable):
        instances.unclaim_task(quote["guid"], alice)
    instances.unclaim_task(quote["guid"], bob)
    assert instances.claim_task(quote["guid"], alice).assignee == "alice"


def test_timer_is_stored_with_its_due_time(alice: Actor) -> None:
    deploy("timer.bpmn")
    before = datetime.utcnow()
    doc = instances.start("timer_wait", alice)
    assert doc["open_tasks"] == []
    stored = ProcessInstance.objects.get(id=doc["_id"])
    assert len(stored.timers) == 1 and stored.timers[0]["name"] == "wait"
    due = stored.next_timer_at
    assert timedelta(minutes=59) < due - before < timedelta(minutes=61)


def test_gateway_loop_of_2000_rounds_completes(alice: Actor) -> None:
    deploy("loop.bpmn")
    doc = instances.start("counting_loop", alice, {"n": 2000})
    assert instances.variables(doc)["i"] == 2000
    assert only_task(doc)["bpmn_id"] == "confirm"
    doc = instances.complete_task(only_task(doc)["guid"], alice, {})
    assert doc["status"] == "completed"


def test_service_operator_result_lands_in_the_data(alice: Actor) -> None:
    seen = []

    @operators.register("test_multiply")
    def multiply(call: operators.OperatorCall) -> int:
        seen.append(call.instance)
        return call.params["a"] * call.params["b"]

    try:
        deploy("service.bpmn")
        doc = instances.start("service_call", alice, {"x": 7})
        assert instances.variables(doc)["product"] == 21
        assert seen[0].started_by == "alice"
        assert "service_task_completed" in event_types(doc["_id"])
    finally:
        operators.unregister("test_multiply")


def test_failing_operator_stores_nothing_and_names_the_cause(alice: Actor) -> None:
    @operators.register("test_multiply")
    def broken(call: operators.OperatorCall) -> int:
        raise RuntimeError("the ledger is offline")

    try:
        deploy("service.bpmn")
        with pytest.raises(ProcessError, match="ledger is offline"):
            instances.start("service_call", alice, {"x": 7})
        assert ProcessInstance.objects.count() == 0
    finally:
        operators.unregister("test_multiply")


def test_completed_task_cannot_be_completed_again(alice: Actor) -> None:
    deploy("approval.bpmn")
    doc = instances.start("approval", alice)
    guid = only_task(doc)["guid"]
    instances.complete_task(guid, alice, {"decision": "reject"})
    with pytest.raises(TaskNotActive):
        instances.complete_task(guid, alice, {"decision": "reject"})


def test_suspend_blocks_completion_and_terminate_cancels_tasks(alice: Actor) -> None:
    deploy("approval.bpmn")
    doc = instances.start("approval", alice)
    guid = only_task(doc)["guid"]
    instances.suspend(doc["_id"], alice)
    assert HumanTask.objects.get(task_guid=guid).instance_suspended
    with pytest.raises(InstanceNotActive):
        instances.complete_task(guid, alice, {"decision": "approve"})
    instances.resume(doc["_id"], alice)
    doc = instances.terminate(doc["_id"], alice)
    assert doc["status"] == "terminated"
    assert HumanTask.objects.get(task_guid=guid).status == "cancelled"
    with pytest.raises(InstanceNotActive):
        instances.resume(doc["_id"], alice)


def test_start_of_a_given_version(alice: Actor) -> None:
    deploy("approval.bpmn")
    definitions.deploy(
        bpmn("approval.bpmn").replace(b"Review the request", b"Review v2"),
        "approval.bpmn",
        "designer",
    )
    assert only_task(instances.start("approval", alice))["name"] == "Review v2"
    old = instances.start("approval", alice, version=1)
    assert only_task(old)["name"] == "Review the request"
    assert old["definition_version"] == 1


def test_incoming_call_logs_the_call_and_takes_the_follow_up_branch(alice: Actor) -> None:
    definitions.deploy_directory(definitions.Path(__file__).parents[2] / "bpmn")
    org = organizations.create(alice, {"name": "ООО «Ромашка»"})
    doc = instances.start(
        "incoming_call", alice, subject={"type": "organization", "id": str(org.id)}
    )
    record = only_task(doc)
    assert record["bpmn_id"] == "record_call"
    with pytest.raises(FormInvalid) as caught:
        instances.complete_task(record["guid"], alice, {"subject": "Prices"})
    assert set(caught.value.errors) == {"result", "follow_up"}
    doc = instances.complete_task(
        record["guid"],
        alice,
        {
            "subject": "Prices",
            "result": "Sent the price list",
            "follow_up": True,
            "follow_up_on": "2026-12-01",
        },
    )
    follow = only_task(doc)
    assert follow["bpmn_id"] == "follow_up_call"
    [action] = Action.objects(organization=org.id)
    assert (action.kind, action.subject, action.result) == (
        "call_in",
        "Prices",
        "Sent the price list",
    )
    doc = instances.complete_task(follow["guid"], alice, {"follow_up_result": "Ordered"})
    assert doc["status"] == "completed"
