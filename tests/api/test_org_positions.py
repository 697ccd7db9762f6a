"""Positions in departments: "all lawyers" and "the head of the initiator's department"
as lanes of one procedure, the department API with positions, and who holds a position."""

from __future__ import annotations

from accounts import org
from accounts import service as accounts
from engine import definitions
from tests.conftest import bpmn


def _bearer(name):
    return {"Authorization": f"Bearer {accounts.issue_token(name, 600)[0]}"}


def _inbox(client, headers):
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _put(client, users, name, body):
    return client.put(f"/api/v1/departments/{name}", headers=users["admin"], json=body)


def test_lanes_all_lawyers_and_head_of_department(client, users):
    for name in ("dora", "ivan", "frank"):
        accounts.create_user(name, f"{name}-password", [])
    for name, body in (
        ("company", {"head": "carol", "members": []}),
        ("sales", {"head": "bob", "parent": "company", "members": ["alice"]}),
        (
            "legal",
            {
                "head": "dora",
                "parent": "company",
                "positions": [
                    {"user": "ivan", "position": "lawyer"},
                    {"user": "dora", "position": "chief_lawyer"},
                ],
            },
        ),
        ("branch", {"parent": "company", "positions": [{"user": "frank", "position": "lawyer"}]}),
    ):
        saved = _put(client, users, name, body)
        assert saved.status_code == 200, saved.get_json()
    legal = client.get("/api/v1/departments/legal", headers=users["alice"]).get_json()
    assert legal["members"] == ["dora", "ivan"]  # holders are members
    assert legal["positions"] == [
        {"user": "ivan", "position": "lawyer"},
        {"user": "dora", "position": "chief_lawyer"},
    ]
    held = client.get("/api/v1/positions/lawyer", headers=users["alice"]).get_json()
    assert held["holders"] == [
        {"user": "frank", "department": "branch"},
        {"user": "ivan", "department": "legal"},
    ]
    assert org.people_with("lawyer", "legal") == ["ivan"]

    definitions.deploy(bpmn("position_approval.bpmn"), "position_approval.bpmn", "test")
    started = client.post(
        "/api/v1/instances", headers=users["alice"], json={"process_key": "position_approval"}
    )
    assert started.status_code == 201, started.get_json()
    head_tasks = _inbox(client, users["bob"])  # bob heads alice's department
    assert [(t["name"], t["assignee"]) for t in head_tasks] == [("Approve", "bob")]
    assert _inbox(client, users["carol"]) == []
    done = client.post(
        f"/api/v1/tasks/{head_tasks[0]['id']}/complete", headers=users["bob"], json={}
    )
    assert done.status_code == 200, done.get_json()
    for lawyer in ("ivan", "frank"):  # all lawyers, in any department
        found = _inbox(client, _bearer(lawyer))
        assert [(t["name"], t["candidates"]) for t in found] == [("Legal check", ["frank", "ivan"])]
    assert _inbox(client, _bearer("dora")) == []  # the chief lawyer is not "a lawyer"


def test_positions_are_checked(client, users):
    accounts.create_user("ivan", "ivan-password", [])
    for positions, word in (
        ([{"user": "ivan", "position": "lawyer"}, {"user": "ivan", "position": "clerk"}], "two"),
        ([{"user": "ghost", "position": "lawyer"}], "ghost"),
        ([{"user": "ivan", "position": "law yer"}], "bad position"),
    ):
        refused = _put(client, users, "legal", {"positions": positions})
        assert refused.status_code == 422, positions
        assert word in str(refused.get_json()["errors"]["positions"]), refused.get_json()
    missing = _put(client, users, "legal", {"positions": [{"user": "ivan"}]})
    assert missing.status_code == 422 and "positions" in missing.get_json()["errors"]
