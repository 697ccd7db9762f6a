"""Instances over HTTP: start with an idempotency key, list, read, control, visibility."""

from __future__ import annotations

from engine.models import ProcessInstance


def _start(client, headers, key=None, **body):
    body.setdefault("process_key", "approval")
    if key:
        headers = {**headers, "Idempotency-Key": key}
    return client.post("/api/v1/instances", headers=headers, json=body)


def test_start_answers_201_with_id_status_key_version(client, users, deploy):
    deploy("approval.bpmn")
    response = _start(
        client,
        users["alice"],
        variables={"amount": 5},
        subject={"type": "organization", "id": "org-1", "title": "Ромашка"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "status", "process_key", "version"}
    assert (body["status"], body["process_key"], body["version"]) == ("active", "approval", 1)


def test_same_idempotency_key_returns_the_same_instance_and_starts_nothing(client, users, deploy):
    deploy("approval.bpmn")
    first = _start(client, users["alice"], key="order-77", variables={"n": 1})
    again = _start(client, users["alice"], key="order-77", variables={"n": 1})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert ProcessInstance.objects.count() == 1
    other_request = _start(client, users["alice"], key="order-77", variables={"n": 2})
    assert other_request.status_code == 409
    assert other_request.get_json()["code"] == "idempotency_key_reused"
    # Keys belong to their caller: bob's "order-77" is another request.
    assert _start(client, users["bob"], key="order-77", variables={"n": 1}).status_code == 201
    assert ProcessInstance.objects.count() == 2


def test_a_failed_start_does_not_use_up_the_key(client, users, deploy):
    assert _start(client, users["alice"], key="k1").status_code == 404  # nothing deployed
    deploy("approval.bpmn")
    assert _start(client, users["alice"], key="k1").status_code == 201


def test_start_input_is_strict(client, users, deploy):
    deploy("approval.bpmn")
    unknown = _start(client, users["alice"], colour="red")
    assert unknown.status_code == 422 and "colour" in unknown.get_json()["errors"]
    wrong = client.post(
        "/api/v1/instances",
        headers=users["alice"],
        json={"process_key": 5, "version": "one", "variables": [], "subject": {"type": "x"}},
    )
    assert wrong.status_code == 422
    errors = wrong.get_json()["errors"]
    assert {"process_key", "version", "variables", "subject"} <= set(errors)
    malformed = client.post(
        "/api/v1/instances",
        headers=users["alice"],
        data='{"process_key": "approval",',
        content_type="application/json",
    )
    assert malformed.status_code == 400
    assert set(malformed.get_json()) == {"code", "message", "errors"}
    assert _start(client, users["alice"], process_key="nope").status_code == 404


def test_dollar_keys_are_refused_anywhere_in_the_body(client, users, deploy):
    deploy("approval.bpmn")
    for body in (
        {"process_key": "approval", "variables": {"$where": "1"}},
        {"process_key": "approval", "variables": {"a": [{"b": {"$gt": ""}}]}},
        {"process_key": {"$ne": None}},
        {"$set": {"status": "active"}},
    ):
        response = client.post("/api/v1/instances", headers=users["alice"], json=body)
        assert response.status_code == 422, body
        assert any(
            "$" in message
            for messages in response.get_json()["errors"].values()
            for message in messages
        )
    assert ProcessInstance.objects.count() == 0


def test_unstorable_json_values_are_422_not_500(client, users, deploy):
    deploy("approval.bpmn")
    for raw in (
        '{"process_key": "approval", "variables": {"n": 1e999}}',
        '{"process_key": "approval", "variables": {"n": 99999999999999999999999}}',
        '{"process_key": "approval", "variables": {"s": "\\ud800"}}',
    ):
        response = client.post(
            "/api/v1/instances", headers=users["alice"], data=raw, content_type="application/json"
        )
        assert response.status_code == 422, raw


def test_list_filters_and_pages_with_a_cursor(client, users, deploy):
    deploy("approval.bpmn")
    deploy("message_wait.bpmn")
    ids = [
        _start(
            client, users["alice"], subject={"type": "organization", "id": f"o{i % 2}"}
        ).get_json()["id"]
        for i in range(5)
    ]
    _start(client, users["alice"], process_key="order_payment", variables={"order_id": 1})
    seen, cursor = [], None
    while True:
        query = {"process_key": "approval", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/instances", headers=users["alice"], query_string=query)
        assert page.status_code == 200
        body = page.get_json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each exactly once
    by_subject = client.get(
        "/api/v1/instances",
        headers=users["alice"],
        query_string={"subject_type": "organization", "subject_id": "o1"},
    ).get_json()["items"]
    assert sorted(i["id"] for i in by_subject) == sorted([ids[1], ids[3]])
    started = by_subject[0]["started_at"]
    window = client.get(
        "/api/v1/instances",
        headers=users["alice"],
        query_string={
            "started_after": started,
            "process_key": "approval",
            "started_before": "2999-01-01T00:00:00Z",
        },
    ).get_json()["items"]
    assert by_subject[0]["id"] in [i["id"] for i in window]
    assert client.get(
        "/api/v1/instances", headers=users["alice"], query_string={"status": "completed"}
    ).get_json() == {"items": [], "next_cursor": None}
    mine = client.get(
        "/api/v1/instances", headers=users["alice"], query_string={"started_by": "alice"}
    ).get_json()["items"]
    assert len(mine) == 6


def test_list_rejects_bad_filters_and_cursors(client, users):
    for query in (
        {"limit": 201},
        {"limit": 0},
        {"status": "paused"},
        {"sort": "x"},
        {"started_after": "yesterday"},
        {"cursor": "not-a-cursor"},
    ):
        response = client.get("/api/v1/instances", headers=users["alice"], query_string=query)
        assert response.status_code == 422, query
        assert response.get_json()["errors"], query


def test_cursor_is_bound_to_its_query(client, users, deploy):
    deploy("approval.bpmn")
    for _ in range(3):
        _start(client, users["alice"])
    cursor = client.get("/api/v1/instances?limit=1", headers=users["alice"]).get_json()[
        "next_cursor"
    ]
    other = client.get(
        "/api/v1/instances",
        headers=users["alice"],
        query_string={"limit": 1, "cursor": cursor, "status": "active"},
    )
    assert other.status_code == 422 and other.get_json()["code"] == "invalid_cursor"


def test_visibility_is_applied_in_the_query(client, users, deploy):
    deploy("approval.bpmn")
    alices = _start(client, users["alice"]).get_json()["id"]
    carols = _start(client, users["carol"]).get_json()["id"]

    def visible(user: str) -> set[str]:
        items = client.get("/api/v1/instances", headers=users[user]).get_json()["items"]
        return {i["id"] for i in items}

    assert visible("alice") == {alices}
    assert visible("carol") == {carols}
    assert visible("bob") == set()  # same group as alice, but no task of hers
    assert visible("designer") == visible("admin") == {alices, carols}
    assert client.get(f"/api/v1/instances/{alices}", headers=users["carol"]).status_code == 404
    assert client.get(f"/api/v1/instances/{alices}", headers=users["designer"]).status_code == 200


def test_detail_has_status_variables_tasks_and_events(client, users, deploy):
    deploy("approval.bpmn")
    iid = _start(client, users["alice"], variables={"amount": 5}).get_json()["id"]
    body = client.get(f"/api/v1/instances/{iid}", headers=users["alice"]).get_json()
    assert body["status"] == "active" and body["has_incident"] is False
    assert body["variables"] == {"amount": 5}
    assert [t["name"] for t in body["tasks"]] == ["Review the request"]
    assert [e["type"] for e in body["events"]] == ["instance_started", "task_created"]
    assert body["started_at"].endswith("+00:00")
    for bad in ("nope", "0" * 24):
        missing = client.get(f"/api/v1/instances/{bad}", headers=users["alice"])
        assert missing.status_code == 404
        assert missing.get_json()["code"] == "instance_not_found"


def test_suspend_resume_terminate_by_starter_designer_admin_only(client, users, deploy):
    deploy("approval.bpmn")
    iid = _start(client, users["alice"]).get_json()["id"]
    base = f"/api/v1/instances/{iid}"
    suspended = client.post(f"{base}/suspend", headers=users["alice"])
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    again = client.post(f"{base}/suspend", headers=users["alice"])
    assert again.status_code == 200 and again.get_json()["status"] == "suspended"
    assert client.post(f"{base}/resume", headers=users["designer"]).get_json()["status"] == "active"
    assert client.post(f"{base}/resume", headers=users["alice"]).status_code == 200  # no-op
    # carol cannot see it at all; a participant who did not start it may not control it.
    assert client.post(f"{base}/suspend", headers=users["carol"]).status_code == 404
    task = client.get("/api/v1/tasks", headers=users["alice"]).get_json()["items"][0]
    assert (
        client.post(
            f"/api/v1/tasks/{task['id']}/complete",
            headers=users["alice"],
            json={"data": {"decision": "approve"}},
        ).status_code
        == 200
    )
    ProcessInstance.objects(id=iid).update_one(push__participants="bob")
    forbidden = client.post(f"{base}/terminate", headers=users["bob"])
    assert forbidden.status_code == 403 and forbidden.get_json()["code"] == "forbidden"
    done = client.post(f"{base}/terminate", headers=users["admin"])
    assert done.status_code == 200 and done.get_json()["status"] == "terminated"
    assert done.get_json()["ended_at"] is not None
    conflict = client.post(f"{base}/resume", headers=users["admin"])
    assert conflict.status_code == 409 and conflict.get_json()["code"] == "instance_not_active"


def test_suspend_and_resume_record_why_in_the_audit_log(client, users, deploy):
    deploy("approval.bpmn")
    iid = _start(client, users["alice"]).get_json()["id"]
    base = f"/api/v1/instances/{iid}"
    why = {"reason": "waiting for the signed original"}
    assert client.post(f"{base}/suspend", headers=users["alice"], json=why).status_code == 200
    assert client.post(f"{base}/resume", headers=users["alice"]).status_code == 200  # no reason
    long = client.post(f"{base}/terminate", headers=users["alice"], json={"reason": "x" * 1001})
    assert long.status_code == 422 and "reason" in long.get_json()["errors"]
    events = {
        e["type"]: e
        for e in client.get(
            f"/api/v1/monitor/audit?instance_id={iid}", headers=users["admin"]
        ).get_json()["items"]
    }
    assert events["instance_suspended"]["actor"] == "alice"
    assert events["instance_suspended"]["data"] == why
    assert events["instance_resumed"]["data"] == {}
    assert "instance_terminated" not in events


def test_instance_endpoints_need_a_token(client, users):
    for method, path in (
        ("get", "/api/v1/instances"),
        ("post", "/api/v1/instances"),
        ("get", "/api/v1/instances/x"),
        ("post", "/api/v1/instances/x/suspend"),
        ("post", "/api/v1/instances/x/resume"),
        ("post", "/api/v1/instances/x/terminate"),
    ):
        response = getattr(client, method)(path, json={"process_key": "approval"})
        assert response.status_code == 401, path
        assert response.get_json()["code"] == "invalid_token"
