"""Delegating a task from its page: delegate with acceptance, submit, reject, accept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from accounts import service as accounts
from accounts import substitutes
from engine import definitions
from engine.actor import Actor
from engine.models import HumanTask, ProcessEvent
from tests.conftest import bpmn
from tests.ui.conftest import csrf_of


def test_delegation_round_trip_on_the_task_page(app: Flask, sign_in) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "cli")
    manager, designer = sign_in("manager"), sign_in("designer")
    page = manager.get("/ui/procedures").get_data(as_text=True)
    token = csrf_of(page)
    assert (
        manager.post("/ui/procedures/bpmn/approval/start", data={"csrf_token": token}).status_code
        == 302
    )
    task = HumanTask.objects(status="open", assignee="manager").get()
    path = f"/ui/tasks/{task.task_guid}"
    own = manager.get(path).get_data(as_text=True)
    assert f'action="{path}/delegate"' in own and f'action="{path}/complete"' in own
    unknown = manager.post(f"{path}/delegate", data={"csrf_token": token, "user": "ghost"})
    assert unknown.status_code == 302 and unknown.headers["Location"].endswith(path)
    given = manager.post(
        f"{path}/delegate",
        data={
            "csrf_token": token,
            "user": "designer",
            "return_for_acceptance": "1",
            "comment": "pls",
        },
    )
    assert given.status_code == 302
    assert manager.get(path).status_code == 404  # not the manager's task while delegated
    theirs = designer.get(path).get_data(as_text=True)
    assert f'action="{path}/delegation/submit"' in theirs and "pls" in theirs
    assert f'action="{path}/complete"' not in theirs
    bad = designer.post(f"{path}/delegation/submit", data={"csrf_token": csrf_of(theirs)})
    assert bad.status_code == 422  # the decision is required
    sent = designer.post(
        f"{path}/delegation/submit", data={"csrf_token": csrf_of(theirs), "decision": "approve"}
    )
    assert sent.status_code == 302
    manager.post(
        "/ui/workpage",
        data={"csrf_token": token, "order": ["delegated_tasks"], "show": ["delegated_tasks"]},
    )
    workpage = manager.get("/ui/workpage").get_data(as_text=True)
    assert f'<a href="{path}">Review the request</a> · <strong>' in workpage  # to accept
    review = manager.get(path).get_data(as_text=True)
    assert f'action="{path}/delegation/accept"' in review and "approve" in review
    rejected = manager.post(
        f"{path}/delegation/reject", data={"csrf_token": token, "comment": "add the amount"}
    )
    assert rejected.status_code == 302
    assert "add the amount" in designer.get(path).get_data(as_text=True)
    designer.post(
        f"{path}/delegation/submit",
        data={"csrf_token": csrf_of(theirs), "decision": "approve", "amount": "7"},
    )
    assert manager.post(f"{path}/delegation/accept", data={"csrf_token": token}).status_code == 302
    task.reload()
    assert (task.status, task.completed_by) == ("completed", "manager")
    actions = [
        (e.actor, e.data["action"], e.data.get("on_behalf_of"))
        for e in ProcessEvent.objects(
            instance_id=task.instance_id, type="task_reassigned"
        ).order_by("at")
    ]
    assert actions == [
        ("manager", "delegated", None),
        ("designer", "returned_for_acceptance", "manager"),
        ("manager", "delegation_rejected", None),
        ("designer", "returned_for_acceptance", "manager"),
    ]


def test_a_substitute_sees_on_whose_behalf_and_may_delegate(app: Flask, sign_in) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "cli")
    manager = sign_in("manager")
    token = csrf_of(manager.get("/ui/procedures").get_data(as_text=True))
    manager.post("/ui/procedures/bpmn/approval/start", data={"csrf_token": token})
    task = HumanTask.objects(status="open", assignee="manager").get()
    now = datetime.now(UTC)
    substitutes.set_substitute(
        Actor("manager"), "designer", now - timedelta(hours=1), now + timedelta(days=1)
    )
    designer = sign_in("designer")
    page = designer.get(f"/ui/tasks/{task.task_guid}").get_data(as_text=True)
    assert 'data-on-behalf-of="manager"' in page
    assert f'action="/ui/tasks/{task.task_guid}/delegate"' in page
    given = designer.post(
        f"/ui/tasks/{task.task_guid}/delegate",
        data={"csrf_token": csrf_of(page), "user": "carol"},
    )
    assert given.status_code == 302  # carol does not exist: back to the task with the error
    accounts.create_user("carol", "carol-password", [])
    designer.post(
        f"/ui/tasks/{task.task_guid}/delegate",
        data={"csrf_token": csrf_of(page), "user": "carol"},
    )
    [event] = ProcessEvent.objects(instance_id=task.instance_id, type="task_reassigned")
    assert (event.actor, event.data["delegator"], event.data["on_behalf_of"]) == (
        "designer",
        "manager",
        "manager",
    )
    own = manager.get(f"/ui/tasks/{task.task_guid}")
    assert own.status_code == 404  # with carol now
