"""Linear procedures over HTTP: generated, run by several people, removed, prototypes."""

from __future__ import annotations

from typing import Any

from engine import jobs, linear_procedures

SUBJECT = {"type": "contract", "id": "c-1", "title": "Supply contract"}
URL = "/api/v1/linear-procedures"


def _five_steps() -> list[dict[str, Any]]:
    return [
        {"title": "Draft", "executor": "alice", "instructions": "Attach the draft"},
        {"title": "Legal review", "executor": "bob", "duration": "P2D"},
        {"title": "Support check", "executor": "group:support", "working_days": 1},
        {"title": "Approve", "executor": "designer", "on_reject": "back", "back_to": 2},
        {"title": "Archive", "executor": "alice"},
    ]


def _create(client, headers, steps, **extra):
    body = {"title": "Contract route", "subject": SUBJECT, "steps": steps, **extra}
    response = client.post(URL, headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _open_task(client, headers, instance_id):
    tasks = client.get("/api/v1/tasks", headers=headers).get_json()["items"]
    mine = [t for t in tasks if t["instance_id"] == instance_id]
    assert len(mine) == 1, tasks
    return mine[0]


def _decide(client, headers, instance_id, decision, claim=False):
    task = _open_task(client, headers, instance_id)
    if claim:
        assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).status_code == 200
    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=headers,
        json={"data": {"decision": decision, "comment": f"{decision} by me"}},
    )
    assert done.status_code == 200, done.get_json()
    return task, done.get_json()


def _keys(client, headers):
    response = client.get("/api/v1/definitions", headers=headers)
    assert response.status_code == 200
    return {d["key"] for d in response.get_json()["items"]}


def test_five_steps_with_a_rejection_run_to_the_end_and_the_definition_goes(client, users):
    created = _create(client, users["alice"], _five_steps())
    key, iid = created["procedure"]["key"], created["instance_id"]
    assert key.startswith("linear_") and created["instance_status"] == "active"
    xml = client.get(created["procedure"]["xml_url"], headers=users["alice"])
    assert xml.status_code == 200 and b"BPMNShape" in xml.data
    assert key in _keys(client, users["alice"]) and key in _keys(client, users["admin"])

    first, _ = _decide(client, users["alice"], iid, "approve")
    assert first["name"] == "Draft" and first["assignee"] == "alice"
    detail = client.get(f"/api/v1/tasks/{first['id']}", headers=users["alice"]).get_json()
    assert detail["form"]["text"] == "Attach the draft"
    _decide(client, users["bob"], iid, "approve")
    check, _ = _decide(client, users["carol"], iid, "approve", claim=True)
    assert check["candidates"] == ["group:support"] and check["due_at"]
    rejected, _ = _decide(client, users["designer"], iid, "reject")
    assert rejected["name"] == "Approve"
    again, _ = _decide(client, users["bob"], iid, "approve")  # back at step 2
    assert again["name"] == "Legal review"
    _decide(client, users["carol"], iid, "approve", claim=True)
    _decide(client, users["designer"], iid, "approve")
    _, last = _decide(client, users["alice"], iid, "approve")
    assert last["status"] == "completed"

    assert jobs.run_due("test") >= 1  # the cleanup scheduled by the completion
    assert linear_procedures.cleanup(iid) is True  # again: nothing changes, no error
    for who in ("alice", "admin"):
        assert client.get(f"/api/v1/definitions/{key}", headers=users[who]).status_code == 404
        assert key not in _keys(client, users[who])
    assert client.get(created["procedure"]["xml_url"], headers=users["alice"]).status_code == 404
    restart = client.post("/api/v1/instances", headers=users["alice"], json={"process_key": key})
    assert restart.status_code == 404
    # The finished run's history still reads: the timeline and the diagram state.
    timeline = client.get(f"/api/v1/monitor/instances/{iid}/timeline", headers=users["alice"])
    assert timeline.status_code == 200
    completed = [e for e in timeline.get_json()["events"] if e["type"] == "task_completed"]
    assert len(completed) == 8
    state = client.get(f"/api/v1/monitor/instances/{iid}/diagram-state", headers=users["alice"])
    assert state.status_code == 200, state.get_json()


def test_a_stranger_cannot_see_a_private_definition(client, users, deploy):
    deploy("approval.bpmn")
    created = _create(client, users["alice"], [{"title": "Only", "executor": "bob"}])
    key = created["procedure"]["key"]
    assert _keys(client, users["carol"]) == {"approval"}  # ordinary ones stay public
    assert key not in _keys(client, users["designer"])  # designers are not admins
    assert client.get(f"/api/v1/definitions/{key}", headers=users["carol"]).status_code == 404
    xml_url = created["procedure"]["xml_url"]
    assert client.get(xml_url, headers=users["carol"]).status_code == 404
    start = client.post("/api/v1/instances", headers=users["carol"], json={"process_key": key})
    assert start.status_code == 404
    # bob works on its task without seeing the definition itself
    assert _open_task(client, users["bob"], created["instance_id"])["name"] == "Only"
    assert key not in _keys(client, users["bob"])
    mine = f"{URL}/{created['procedure']['id']}"
    assert client.get(mine, headers=users["carol"]).status_code == 404
    assert client.get(mine, headers=users["alice"]).status_code == 200


def test_terminating_the_run_removes_the_definition(client, users):
    created = _create(client, users["alice"], [{"title": "Only", "executor": "bob"}])
    iid, key = created["instance_id"], created["procedure"]["key"]
    ended = client.post(f"/api/v1/instances/{iid}/terminate", headers=users["alice"])
    assert ended.status_code == 200, ended.get_json()
    jobs.run_due("test")
    assert client.get(f"/api/v1/definitions/{key}", headers=users["admin"]).status_code == 404


def test_a_saved_prototype_is_kept_started_again_and_shared(client, users):
    steps = [
        {"title": "Prepare", "executor": "bob"},
        {"title": "Sign", "executor": "alice", "on_reject": "back", "back_to": 1},
    ]
    created = _create(client, users["alice"], steps, save_as_prototype=True)
    proto, key = created["procedure"]["id"], created["procedure"]["key"]
    assert created["procedure"]["prototype"] is True
    _decide(client, users["bob"], created["instance_id"], "approve")
    _, done = _decide(client, users["alice"], created["instance_id"], "approve")
    assert done["status"] == "completed"
    jobs.run_due("test")
    assert client.get(f"/api/v1/definitions/{key}", headers=users["alice"]).status_code == 200

    listed = client.get(f"{URL}/prototypes", headers=users["alice"]).get_json()["items"]
    assert [p["id"] for p in listed] == [proto]
    assert client.get(f"{URL}/prototypes", headers=users["bob"]).get_json()["items"] == []
    # Again, with carol in bob's place this time.
    again = client.post(
        f"{URL}/prototypes/{proto}/start",
        headers=users["alice"],
        json={"subject": {"type": "contract", "id": "c-2"}, "replace_executors": {"bob": "carol"}},
    )
    assert again.status_code == 201, again.get_json()
    second = again.get_json()["instance_id"]
    assert second != created["instance_id"]
    _decide(client, users["carol"], second, "approve")
    _decide(client, users["alice"], second, "reject")  # back to step 1
    _decide(client, users["carol"], second, "approve")
    _, finished = _decide(client, users["alice"], second, "approve")
    assert finished["status"] == "completed"
    jobs.run_due("test")
    assert client.get(f"/api/v1/definitions/{key}", headers=users["alice"]).status_code == 200

    # Shared with bob (and the sales group): he sees and starts it; carol does not.
    not_owner = client.put(f"{URL}/prototypes/{proto}/share", headers=users["carol"], json={})
    assert not_owner.status_code == 404
    shared = client.put(
        f"{URL}/prototypes/{proto}/share", headers=users["alice"], json={"users": ["bob"]}
    )
    assert shared.status_code == 200 and shared.get_json()["shared_with"] == ["bob"]
    assert [
        p["id"] for p in client.get(f"{URL}/prototypes", headers=users["bob"]).get_json()["items"]
    ] == [proto]
    assert client.get(f"{URL}/prototypes", headers=users["carol"]).get_json()["items"] == []
    assert key in _keys(client, users["bob"]) and key not in _keys(client, users["carol"])
    assert client.get(f"/api/v1/definitions/{key}", headers=users["carol"]).status_code == 404
    by_carol = client.post(
        f"{URL}/prototypes/{proto}/start", headers=users["carol"], json={"subject": SUBJECT}
    )
    assert by_carol.status_code == 404
    by_bob = client.post(
        f"{URL}/prototypes/{proto}/start", headers=users["bob"], json={"subject": SUBJECT}
    )
    assert by_bob.status_code == 201, by_bob.get_json()
    unknown = client.put(
        f"{URL}/prototypes/{proto}/share", headers=users["alice"], json={"users": ["ghost"]}
    )
    assert unknown.status_code == 422 and "users" in unknown.get_json()["errors"]
    bob_reshares = client.put(
        f"{URL}/prototypes/{proto}/share", headers=users["bob"], json={"users": ["carol"]}
    )
    assert bob_reshares.status_code == 403

    # Discarded while bob's run goes on: kept until that run ends, then removed.
    assert client.delete(f"{URL}/prototypes/{proto}", headers=users["bob"]).status_code == 403
    assert client.delete(f"{URL}/prototypes/{proto}", headers=users["alice"]).status_code == 204
    assert client.get(f"{URL}/prototypes", headers=users["alice"]).get_json()["items"] == []
    assert client.get(f"/api/v1/definitions/{key}", headers=users["alice"]).status_code == 200
    bobs_run = by_bob.get_json()["instance_id"]
    _decide(client, users["bob"], bobs_run, "approve")
    _decide(client, users["alice"], bobs_run, "reject")
    _decide(client, users["bob"], bobs_run, "reject")  # step 1 stops the run
    jobs.run_due("test")
    assert client.get(f"/api/v1/definitions/{key}", headers=users["alice"]).status_code == 404


def test_validation_errors_name_the_field(client, users):
    steps = _five_steps()
    steps[2] = {"title": "No one"}
    steps[3]["back_to"] = 5
    response = client.post(
        URL, headers=users["alice"], json={"title": "X", "subject": SUBJECT, "steps": steps}
    )
    assert response.status_code == 422
    assert "steps[2].executor" in response.get_json()["errors"]

    steps = _five_steps()
    steps[3]["back_to"] = 5
    steps[1]["duration"] = "two days"
    response = client.post(
        URL, headers=users["alice"], json={"title": "X", "subject": SUBJECT, "steps": steps}
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"steps[3].back_to", "steps[1].duration"}

    many = [{"title": f"S{i}", "executor": "alice"} for i in range(51)]
    response = client.post(
        URL, headers=users["alice"], json={"title": "X", "subject": SUBJECT, "steps": many}
    )
    assert response.status_code == 422 and "steps" in response.get_json()["errors"]
    response = client.post(URL, headers=users["alice"], json={"title": "X", "steps": many[:1]})
    assert response.status_code == 422 and "subject" in response.get_json()["errors"]
    assert client.post(URL, json={}).status_code == 401

    nobody = [{"title": "Lost", "executor": "nobody"}, {"title": "Ok", "executor": "group:x"}]
    response = client.post(
        URL, headers=users["alice"], json={"title": "X", "subject": SUBJECT, "steps": nobody}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"steps[0].executor": ["no such user"]}
