"""Delegating one task (with and without acceptance) and a head reassigning a member's
task, over HTTP; every step is in the instance's audit log with on whose behalf."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from accounts import delegation
from accounts import service as accounts
from accounts.models import TaskDelegation
from engine.actor import Actor
from engine.errors import Conflict


def _start(client, headers, key="approval"):
    response = client.post("/api/v1/instances", headers=headers, json={"process_key": key})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _inbox(client, headers):
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [(t["name"], t["assignee"]) for t in response.get_json()["items"]]


def _task_id(client, headers):
    return client.get("/api/v1/tasks", headers=headers).get_json()["items"][0]["id"]


def _post(client, headers, path, body=None):
    return client.post(path, headers=headers, json=body if body is not None else {})


def _events(client, headers, iid, *types):
    detail = client.get(f"/api/v1/instances/{iid}", headers=headers).get_json()
    return [e for e in detail["events"] if e["type"] in types]


def _bearer(name):
    return {"Authorization": f"Bearer {accounts.issue_token(name, 600)[0]}"}


def test_a_delegated_task_returns_for_acceptance(client, users, deploy):
    deploy("approval.bpmn")
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    iid = _start(client, alice)
    guid = _task_id(client, alice)
    base = f"/api/v1/tasks/{guid}"
    body = {"user": "bob", "return_for_acceptance": True, "comment": "please check"}
    assert _post(client, carol, f"{base}/delegate", body).status_code == 403
    for bad, field in (({"user": "alice"}, "user"), ({"user": "ghost"}, "user")):
        refused = _post(client, alice, f"{base}/delegate", bad)
        assert refused.status_code == 422 and field in refused.get_json()["errors"], bad
    given = _post(client, alice, f"{base}/delegate", body)
    assert given.status_code == 200, given.get_json()
    assert given.get_json()["state"] == "delegated"
    assert _inbox(client, alice) == []
    assert _inbox(client, bob) == [("Review the request", "bob")]
    assert client.get(f"{base}/delegation", headers=carol).status_code == 404
    # The delegate may not complete it: it returns for acceptance.
    direct = _post(client, bob, f"{base}/complete", {"data": {"decision": "approve"}})
    assert direct.status_code == 409 and direct.get_json()["code"] == "acceptance_required"
    assert _post(client, bob, f"{base}/delegate", {"user": "carol"}).status_code == 409
    invalid = _post(client, bob, f"{base}/delegation/submit", {"data": {"decision": "maybe"}})
    assert invalid.status_code == 422 and "decision" in invalid.get_json()["errors"]
    assert _post(client, alice, f"{base}/delegation/submit", {"data": {}}).status_code == 403
    sent = _post(client, bob, f"{base}/delegation/submit", {"data": {"decision": "approve"}})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["state"] == "awaiting_acceptance"
    assert _inbox(client, alice) == [("Review the request", "alice")]
    assert _inbox(client, bob) == []
    # Rejected with a comment: back to the delegate, who sees the comment and their data.
    no_reason = _post(client, alice, f"{base}/delegation/reject", {"comment": ""})
    assert no_reason.status_code == 422 and "comment" in no_reason.get_json()["errors"]
    assert _post(client, bob, f"{base}/delegation/accept").status_code == 403
    back = _post(client, alice, f"{base}/delegation/reject", {"comment": "say how much"})
    assert back.status_code == 200, back.get_json()
    seen = client.get(f"{base}/delegation", headers=bob).get_json()
    assert (seen["state"], seen["comment"], seen["data"]) == (
        "delegated",
        "say how much",
        {"decision": "approve"},
    )
    assert _inbox(client, bob) == [("Review the request", "bob")]
    again = {"data": {"decision": "approve", "amount": 5}}
    assert _post(client, bob, f"{base}/delegation/submit", again).status_code == 200
    accepted = _post(client, alice, f"{base}/delegation/accept")
    assert accepted.status_code == 200, accepted.get_json()
    assert _inbox(client, alice) == [("Execute the request", "alice")]
    assert client.get(f"{base}/delegation", headers=alice).status_code == 404  # done
    moves = _events(client, alice, iid, "task_reassigned")
    assert [
        (e["actor"], e["data"]["action"], e["data"]["assignee"], e["data"].get("on_behalf_of"))
        for e in moves
    ] == [
        ("alice", "delegated", "bob", None),
        ("bob", "returned_for_acceptance", "alice", "alice"),
        ("alice", "delegation_rejected", "bob", None),
        ("bob", "returned_for_acceptance", "alice", "alice"),
    ]
    assert moves[2]["data"]["comment"] == "say how much"
    completed = _events(client, alice, iid, "task_completed")
    assert [(e["actor"], e["data"].get("delegate")) for e in completed] == [("alice", "bob")]
    variables = client.get(f"/api/v1/instances/{iid}", headers=alice).get_json()["variables"]
    assert (variables["decision"], variables["amount"]) == ("approve", 5)


def test_a_delegate_completes_on_behalf_of_the_delegator(client, users, deploy):
    deploy("approval.bpmn")
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    iid = _start(client, alice)
    guid = _task_id(client, alice)
    given = _post(client, alice, f"/api/v1/tasks/{guid}/delegate", {"user": "bob"})
    assert given.status_code == 200
    submit = _post(client, bob, f"/api/v1/tasks/{guid}/delegation/submit", {"data": {}})
    assert submit.status_code == 409  # nothing to accept: the delegate completes
    done = _post(client, bob, f"/api/v1/tasks/{guid}/complete", {"data": {"decision": "approve"}})
    assert done.status_code == 200, done.get_json()
    completed = _events(client, alice, iid, "task_completed")
    assert [(e["actor"], e["data"].get("on_behalf_of")) for e in completed] == [("bob", "alice")]
    mine = client.get("/api/v1/me/delegations", headers=alice).get_json()["items"]
    assert [(d["delegation"]["delegate"], d["task_status"]) for d in mine] == [("bob", "completed")]
    theirs = client.get("/api/v1/me/delegations?role=delegate", headers=bob).get_json()["items"]
    assert [d["delegation"]["delegator"] for d in theirs] == ["alice"]
    # The next task: delegated, then recalled before the delegate acts.
    follow = _task_id(client, alice)
    given = _post(client, alice, f"/api/v1/tasks/{follow}/delegate", {"user": "carol"})
    assert given.status_code == 200
    assert _inbox(client, carol) == [("Execute the request", "carol")]
    assert _post(client, carol, f"/api/v1/tasks/{follow}/delegation/recall").status_code == 403
    assert _post(client, alice, f"/api/v1/tasks/{follow}/delegation/recall").status_code == 204
    assert _inbox(client, carol) == []
    assert _inbox(client, alice) == [("Execute the request", "alice")]
    actions = [e["data"]["action"] for e in _events(client, alice, iid, "task_reassigned")]
    assert actions == ["delegated", "delegated", "delegation_recalled"]


@pytest.fixture()
def departments(client, users):
    for name, groups in (("dave", ["sales"]), ("dora", ["legal"]), ("ivan", ["legal"])):
        accounts.create_user(name, f"{name}-password", groups)
    for name, body in (
        ("sales", {"head": "bob", "members": ["alice", "dave"]}),
        ("legal", {"head": "dora", "members": ["ivan"]}),
    ):
        saved = client.put(f"/api/v1/departments/{name}", headers=users["admin"], json=body)
        assert saved.status_code == 200, saved.get_json()


def test_the_head_reassigns_a_members_task(client, users, deploy, departments):
    deploy("approval.bpmn")
    alice, bob = users["alice"], users["bob"]
    iid = _start(client, alice)
    guid = _task_id(client, alice)
    listed = client.get("/api/v1/departments/sales/tasks", headers=bob)
    assert [(t["id"], t["assignee"]) for t in listed.get_json()["items"]] == [(guid, "alice")]
    assert client.get("/api/v1/departments/sales/tasks", headers=alice).status_code == 403
    assert client.get("/api/v1/departments/nope/tasks", headers=bob).status_code == 404
    path = f"/api/v1/tasks/{guid}/reassign"
    body = {"user": "dave", "reason": "alice is overloaded"}
    for outsider in (users["carol"], alice, _bearer("dora"), _bearer("dave")):
        refused = _post(client, outsider, path, body)
        assert refused.status_code == 403, refused.get_json()
    no_reason = _post(client, bob, path, {"user": "dave", "reason": ""})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    outside = _post(client, bob, path, {"user": "ivan", "reason": "x"})
    assert outside.status_code == 422 and "user" in outside.get_json()["errors"]
    moved = _post(client, bob, path, body)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["assignee"] == "dave"
    assert _inbox(client, alice) == []
    assert _inbox(client, _bearer("dave")) == [("Review the request", "dave")]
    [event] = _events(client, alice, iid, "task_reassigned")
    assert (event["actor"], event["data"]["previous"], event["data"]["reason"]) == (
        "bob",
        "alice",
        "alice is overloaded",
    )
    assert _post(client, bob, "/api/v1/tasks/nope/reassign", body).status_code == 404


def _race(fn, n=2):
    """Run `fn` in n threads at once; the results or the exceptions they raised."""
    barrier = threading.Barrier(n)
    outcomes = []

    def run():
        barrier.wait()
        try:
            outcomes.append(fn())
        except Exception as exc:  # the test looks at which ones failed
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_concurrent_answers_give_one_success(client, users, deploy):
    deploy("approval.bpmn")
    alice, bob = Actor("alice", frozenset({"sales"})), Actor("bob", frozenset({"sales"}))
    iid = _start(client, users["alice"])
    guid = _task_id(client, users["alice"])
    given = _race(lambda: delegation.delegate(alice, guid, "bob", return_for_acceptance=True))
    assert sum(isinstance(o, TaskDelegation) for o in given) == 1, given
    assert all(isinstance(o, (TaskDelegation, Conflict)) for o in given), given
    sent = _race(lambda: delegation.submit(bob, guid, {"decision": "approve"}))
    assert sum(isinstance(o, TaskDelegation) for o in sent) == 1, sent
    assert all(isinstance(o, (TaskDelegation, Conflict)) for o in sent), sent
    accepted = _race(lambda: delegation.accept(alice, guid))
    assert sum(isinstance(o, dict) for o in accepted) == 1, accepted
    assert all(isinstance(o, (dict, Conflict)) for o in accepted), accepted
    returned = [
        e
        for e in _events(client, users["alice"], iid, "task_reassigned")
        if e["data"]["action"] == "returned_for_acceptance"
    ]
    assert len(returned) == 1
    assert len(_events(client, users["alice"], iid, "task_completed")) == 1
    assert TaskDelegation.objects(task_guid=guid).count() == 0


def test_the_delegates_substitute_may_not_skip_acceptance(client, users, deploy):
    deploy("approval.bpmn")
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    iid = _start(client, alice)
    guid = _task_id(client, alice)
    body = {"user": "bob", "return_for_acceptance": True}
    assert _post(client, alice, f"/api/v1/tasks/{guid}/delegate", body).status_code == 200
    now = datetime.now(UTC)
    period = {"user": "carol", "from": (now - timedelta(hours=1)).isoformat()}
    period["to"] = (now + timedelta(days=1)).isoformat()
    assert client.put("/api/v1/me/substitute", headers=bob, json=period).status_code == 200
    assert _inbox(client, carol) == [("Review the request", "bob")]
    direct = _post(
        client, carol, f"/api/v1/tasks/{guid}/complete", {"data": {"decision": "approve"}}
    )
    assert direct.status_code == 409 and direct.get_json()["code"] == "acceptance_required"
    sent = _post(
        client, carol, f"/api/v1/tasks/{guid}/delegation/submit", {"data": {"decision": "approve"}}
    )
    assert sent.status_code == 200, sent.get_json()
    [event] = [
        e
        for e in _events(client, alice, iid, "task_reassigned")
        if e["data"]["action"] == "returned_for_acceptance"
    ]
    assert (event["actor"], event["data"]["delegate"], event["data"]["on_behalf_of"]) == (
        "carol",
        "bob",
        "alice",
    )
