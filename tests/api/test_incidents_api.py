"""GET /api/v1/incidents and POST /api/v1/incidents/{id}/retry."""

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine import instances, jobs
from engine.actor import Actor
from tests.support import operators as test_ops


@pytest.fixture()
def incident(deploy: Any) -> jobs.Incident:
    test_ops.control(fail=True)
    deploy("async_service.bpmn")
    instances.start("async_call", Actor("alice"), {"amount": 1})
    job = jobs.Job.objects.get(kind="async_service")
    job.update(set__max_attempts=1)
    jobs.run_due("test")
    return jobs.list_incidents()[0]


def test_designers_list_and_retry_incidents(
    client: FlaskClient, users: dict, incident: jobs.Incident
) -> None:
    listed = client.get("/api/v1/incidents", headers=users["designer"])
    assert listed.status_code == 200
    [item] = listed.json["items"]
    assert item["id"] == str(incident.id) and "ledger is offline" in item["error"]
    detail = client.get(f"/api/v1/instances/{item['instance_id']}", headers=users["admin"])
    assert detail.json["has_incident"] is True

    test_ops.control()
    retried = client.post(f"/api/v1/incidents/{incident.id}/retry", headers=users["designer"])
    assert retried.status_code == 202 and retried.json["status"] == "retrying"
    again = client.post(f"/api/v1/incidents/{incident.id}/retry", headers=users["designer"])
    assert again.status_code == 409 and again.json["code"] == "incident_not_open"
    jobs.run_due("test")
    assert client.get("/api/v1/incidents?status=resolved", headers=users["designer"]).json["items"][
        0
    ]["id"] == str(incident.id)
    detail = client.get(f"/api/v1/instances/{item['instance_id']}", headers=users["admin"])
    assert detail.json["has_incident"] is False


def test_staff_may_not_see_incidents(
    client: FlaskClient, users: dict, incident: jobs.Incident
) -> None:
    assert client.get("/api/v1/incidents", headers=users["alice"]).status_code == 403
    assert (
        client.post(f"/api/v1/incidents/{incident.id}/retry", headers=users["alice"]).status_code
        == 403
    )
    assert client.get("/api/v1/incidents").status_code == 401


def test_unknown_incident_and_bad_filters(client: FlaskClient, users: dict) -> None:
    missing = client.post(
        "/api/v1/incidents/6b0a5979ba5ed6fbb83ada26/retry", headers=users["admin"]
    )
    assert missing.status_code == 404 and missing.json["code"] == "incident_not_found"
    bad = client.get("/api/v1/incidents?status=sideways", headers=users["admin"])
    assert bad.status_code == 422 and "status" in bad.json["errors"]
    unknown = client.get("/api/v1/incidents?colour=red", headers=users["admin"])
    assert unknown.status_code == 422 and "colour" in unknown.json["errors"]
