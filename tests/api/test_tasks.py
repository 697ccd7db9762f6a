"""The inbox over HTTP: list, read, claim, unclaim, complete."""

from __future__ import annotations


def _start(client, headers, process_key, **body):
    response = client.post(
        "/api/v1/instances", headers=headers, json={"process_key": process_key, **body}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _inbox(client, headers, **query):
    response = client.get("/api/v1/tasks", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_group_tasks_reach_the_group_and_nobody_else(client, users, deploy):
    deploy("parallel.bpmn")
    _start(client, users["alice"], "parallel")
    assert [t["name"] for t in _inbox(client, users["bob"])] == ["Prepare a quote"]
    assert [t["name"] for t in _inbox(client, users["carol"])] == ["Check feasibility"]
    assert _inbox(client, users["designer"]) == []
    task = _inbox(client, users["bob"])[0]
    assert task["assignee"] is None and task["candidates"] == ["group:sales"]
    assert task["status"] == "open" and task["process_key"] == "parallel"


def test_claim_unclaim_and_another_users_task(client, users, deploy):
    deploy("parallel.bpmn")
    iid = _start(client, users["alice"], "parallel")
    quote = _inbox(client, users["bob"])[0]["id"]
    claimed = client.post(f"/api/v1/tasks/{quote}/claim", headers=users["bob"])
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "bob"
    assert _inbox(client, users["alice"]) == []  # claimed: out of the group's inbox
    taken = client.post(f"/api/v1/tasks/{quote}/claim", headers=users["alice"])
    assert taken.status_code == 409 and taken.get_json()["code"] == "task_not_claimable"
    not_hers = client.post(f"/api/v1/tasks/{quote}/complete", headers=users["alice"], json={})
    assert not_hers.status_code == 409
    for method, path in (
        ("get", ""),
        ("post", "/claim"),
        ("post", "/unclaim"),
        ("post", "/complete"),
    ):
        response = getattr(client, method)(
            f"/api/v1/tasks/{quote}{path}", headers=users["carol"], json={}
        )
        assert response.status_code == 404, path
        assert response.get_json()["code"] == "task_not_found"
    released = client.post(f"/api/v1/tasks/{quote}/unclaim", headers=users["bob"])
    assert released.status_code == 200 and released.get_json()["assignee"] is None
    assert [t["id"] for t in _inbox(client, users["alice"])] == [quote]
    # A member of the task's group sees the instance too (they have a task in it).
    assert client.get(f"/api/v1/instances/{iid}", headers=users["carol"]).status_code == 200


def test_complete_then_second_completion_is_409(client, users, deploy):
    deploy("approval.bpmn")
    iid = _start(client, users["alice"], "approval")
    task = _inbox(client, users["alice"])[0]
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=users["alice"]).get_json()
    assert [f["id"] for f in detail["form"]["fields"]] == ["decision", "comment", "amount"]
    assert detail["due_at"].endswith("+00:00")
    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=users["alice"],
        json={"data": {"decision": "reject", "comment": "too dear"}},
    )
    assert done.status_code == 200
    assert done.get_json()["id"] == iid and done.get_json()["status"] == "completed"
    second = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=users["alice"],
        json={"data": {"decision": "reject"}},
    )
    assert second.status_code == 409 and second.get_json()["code"] == "task_not_active"
    completed = _inbox(client, users["alice"], status="completed")
    assert [t["id"] for t in completed] == [task["id"]]
    assert completed[0]["completed_by"] == "alice"


def test_completion_data_is_checked_against_the_form_and_the_schema(client, users, deploy):
    deploy("approval.bpmn")
    _start(client, users["alice"], "approval")
    task = _inbox(client, users["alice"])[0]["id"]
    url = f"/api/v1/tasks/{task}/complete"
    bad_value = client.post(url, headers=users["alice"], json={"data": {"decision": "maybe"}})
    assert bad_value.status_code == 422 and "decision" in bad_value.get_json()["errors"]
    unknown = client.post(url, headers=users["alice"], json={"data": {}, "note": 1})
    assert unknown.status_code == 422 and "note" in unknown.get_json()["errors"]
    not_object = client.post(url, headers=users["alice"], json={"data": [1, 2]})
    assert not_object.status_code == 422 and "data" in not_object.get_json()["errors"]
    dollar = client.post(url, headers=users["alice"], json={"data": {"$inc": {"x": 1}}})
    assert dollar.status_code == 422 and "data.$inc" in dollar.get_json()["errors"]
    assert _inbox(client, users["alice"])[0]["status"] == "open"


def test_inbox_sorts_by_due_date_and_pages(client, users, deploy):
    deploy("approval.bpmn")
    deploy("parallel.bpmn")
    _start(client, users["alice"], "parallel")  # a group task without a due date
    for _ in range(3):
        _start(client, users["alice"], "approval")  # due in two days, assigned to alice
    everything = _inbox(client, users["alice"])
    assert [t["name"] for t in everything] == ["Review the request"] * 3 + ["Prepare a quote"]
    dues = [t["due_at"] for t in everything[:3]]
    assert dues == sorted(dues)
    paged, cursor = [], None
    while True:
        response = client.get(
            "/api/v1/tasks",
            headers=users["alice"],
            query_string={"limit": 1, **({"cursor": cursor} if cursor else {})},
        )
        body = response.get_json()
        paged += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert paged == [t["id"] for t in everything]
    assert _inbox(client, users["alice"], process_key="parallel")[0]["name"] == "Prepare a quote"


def test_everyones_tasks_are_for_admins_only(client, users, deploy):
    deploy("parallel.bpmn")
    _start(client, users["alice"], "parallel")
    refused = client.get("/api/v1/tasks?all=true", headers=users["alice"])
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    assert _inbox(client, users["admin"]) == []  # the admin's own inbox is empty
    assert len(_inbox(client, users["admin"], all="true")) == 2


def test_inbox_input_is_strict_and_needs_a_token(client, users):
    for query in (
        {"status": "done"},
        {"limit": 500},
        {"all": "maybe"},
        {"owner": "x"},
        {"cursor": "!!"},
    ):
        response = client.get("/api/v1/tasks", headers=users["alice"], query_string=query)
        assert response.status_code == 422, query
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/tasks/x", headers={"Authorization": "Bearer x"}).status_code == 401
