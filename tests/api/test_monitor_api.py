"""The monitor's endpoints: timeline, statistics, audit, diagram state, repairs, migration."""

from datetime import UTC, datetime, timedelta
from typing import Any

import marshmallow as ma
from flask.testing import FlaskClient

from engine import definitions, instances, jobs, monitor
from engine.actor import Actor
from tests.conftest import bpmn
from webapi.api.monitor import TimelineSchema


def _window() -> str:
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    end = (now + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    return f"from={start}&to={end}"


def test_timeline_and_instance_views(client: FlaskClient, users: dict, deploy: Any) -> None:
    deploy("parallel_sub_timer.bpmn")
    doc = instances.start("deal_review", Actor("alice", frozenset({"sales"})))
    response = client.get(f"/api/v1/monitor/timeline?{_window()}", headers=users["alice"])
    assert response.status_code == 200
    [row] = response.json["rows"]
    assert {b["element"] for b in row["bars"]} == {"quote", "credit_check", "cool_off"}
    assert row["start"].endswith("+00:00")
    empty = client.get(f"/api/v1/monitor/timeline?{_window()}", headers=users["carol"])
    assert empty.json["rows"] == []
    iid = str(doc["_id"])
    one = client.get(f"/api/v1/monitor/instances/{iid}/timeline", headers=users["alice"])
    assert one.status_code == 200 and one.json["events"][0]["type"] == "instance_started"
    state = client.get(f"/api/v1/monitor/instances/{iid}/diagram-state", headers=users["designer"])
    assert state.json["elements"]["quote"] == {"active": 1}
    hidden = client.get(f"/api/v1/monitor/instances/{iid}/diagram-state", headers=users["carol"])
    assert hidden.status_code == 404
    backwards = client.get(
        "/api/v1/monitor/timeline?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        headers=users["alice"],
    )
    assert backwards.status_code == 422 and "to" in backwards.json["errors"]


def test_repairs_need_a_reason_and_the_right_person(
    client: FlaskClient, users: dict, deploy: Any
) -> None:
    deploy("approval.bpmn")
    doc = instances.start("approval", Actor("alice", frozenset({"sales"})))
    url = f"/api/v1/monitor/instances/{doc['_id']}/move-token"
    body = {"from": "review", "to": "execute", "reason": "reviewer left"}
    assert client.post(url, json=body, headers=users["alice"]).status_code == 403
    missing = client.post(url, json={"from": "review", "to": "execute"}, headers=users["designer"])
    assert missing.status_code == 422 and "reason" in missing.json["errors"]
    wrong = client.post(url, json={**body, "from": "nowhere"}, headers=users["designer"])
    assert wrong.status_code == 422 and wrong.json["code"] == "repair_refused"
    moved = client.post(url, json=body, headers=users["designer"])
    assert moved.status_code == 200
    assert [t["name"] for t in moved.json["tasks"]] == ["Execute the request"]
    audit = client.get(
        f"/api/v1/monitor/audit?instance_id={doc['_id']}&type=repair_move_token",
        headers=users["admin"],
    )
    assert audit.json["items"][0]["data"]["reason"] == "reviewer left"


def test_migration_dry_run_then_run(client: FlaskClient, users: dict, deploy: Any) -> None:
    deploy("approval.bpmn")
    for _ in range(3):
        instances.start("approval", Actor("alice"))
    definitions.deploy(
        bpmn("approval.bpmn").replace(b"Review the request", b"Review v2"), "a.bpmn", "designer"
    )
    url = "/api/v1/monitor/definitions/approval/migrations"
    dry = client.post(url, json={"from_version": 1, "to_version": 2}, headers=users["designer"])
    assert dry.status_code == 200 and len(dry.json["movable"]) == 3
    assert dry.json["migrated"] == 0
    run = client.post(
        url,
        json={"from_version": 1, "to_version": 2, "dry_run": False, "reason": "new wording"},
        headers=users["designer"],
    )
    assert run.json["job_id"].startswith("migration:") and run.json["migrated"] == 0
    assert jobs.run_due("test") == 1
    stats = client.get("/api/v1/monitor/statistics?process_key=approval", headers=users["admin"])
    assert [(r["version"], r["running"]) for r in stats.json["items"]] == [(2, 3)]
    assert (
        client.post(
            url, json={"from_version": 1, "to_version": 2}, headers=users["alice"]
        ).status_code
        == 403
    )


def test_the_timeline_is_written_as_its_schema_says(deploy: Any) -> None:
    deploy("parallel_sub_timer.bpmn")
    alice = Actor("alice", frozenset({"sales"}))
    subject = {"type": "contract", "id": "c-1", "title": "Supply"}
    doc = instances.start("deal_review", alice, subject=subject)
    quote = next(t for t in doc["open_tasks"] if t["bpmn_id"] == "quote")
    instances.complete_task(quote["guid"], alice, {})
    now = datetime.now(UTC).replace(tzinfo=None)
    window = monitor.TimelineWindow(now - timedelta(hours=1), now + timedelta(hours=2))
    result = monitor.timeline(window, Actor("root", is_admin=True))
    [row] = result["rows"]
    assert {b["kind"] for b in row["bars"]} == {"user_task", "timer"}
    assert any(b["status"] == "completed" for b in row["bars"])
    incident = {"id": "i1", "error": "boom", "task": None, "at": now}
    bare = {**row["bars"][0], "candidates": None, "performer": None, "due": None}
    result["rows"].append(
        {**row, "subject": None, "incidents": [incident], "has_incident": True, "bars": [bare]}
    )
    result["rows"].append({**row, "subject": {"type": "contract", "id": "c-2", "more": 1}})
    schema = TimelineSchema()
    assert schema.dump(result) == ma.Schema.dump(schema, result)
    assert schema.dump(result)["rows"][0]["subject"] == {
        "type": "contract",
        "id": "c-1",
        "title": "Supply",
    }
