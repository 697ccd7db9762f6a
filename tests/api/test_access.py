"""Access in depth over HTTP: start rights per procedure, substitutes, departments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts import service as accounts
from accounts.models import Substitution
from engine import definitions
from tests.conftest import bpmn

RESTRICTED = bpmn("approval.bpmn").replace(
    b'id="approval" name="Approval with an exclusive gateway"',
    b'id="sales_only" name="Sales only" crm:startableBy="group:sales carol"'
    b' crm:subjectTypes="contract"',
)


def _start(client, headers, key):
    return client.post("/api/v1/instances", headers=headers, json={"process_key": key})


def _upload(client, headers, content, filename="p.bpmn"):
    return client.post(
        "/api/v1/definitions",
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (__import__("io").BytesIO(content), filename)},
    )


def _inbox(client, headers):
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _startable(client, headers, **query):
    response = client.get(
        "/api/v1/definitions", headers=headers, query_string={"startable_for": "me", **query}
    )
    assert response.status_code == 200, response.get_json()
    return sorted(d["key"] for d in response.get_json()["items"])


# ------------------------------------------------------------------------- start rights


def test_start_rights_matrix(client, users, deploy):
    deploy("approval.bpmn")  # deployed directly, no attribute: everyone
    definitions.deploy(RESTRICTED, "sales_only.bpmn", "test")  # group:sales and carol
    uploaded = bpmn("approval.bpmn").replace(b'id="approval"', b'id="uploaded"')
    assert _upload(client, users["designer"], uploaded).status_code == 201  # designers only
    expected = {
        # user: (approval, sales_only, uploaded)
        "admin": (201, 201, 201),
        "designer": (201, 201, 201),
        "alice": (201, 201, 403),
        "carol": (201, 201, 403),
        "robot": (201, 403, 403),
    }
    for user, statuses in expected.items():
        got = tuple(
            _start(client, users[user], key).status_code
            for key in ("approval", "sales_only", "uploaded")
        )
        assert got == statuses, user
        listed = _startable(client, users[user])
        assert listed == sorted(
            k
            for k, s in zip(("approval", "sales_only", "uploaded"), statuses, strict=True)
            if s == 201
        ), user
    refused = _start(client, users["robot"], "sales_only")
    assert refused.get_json()["code"] == "forbidden"
    # The per-type list names only the procedures declaring that object type.
    assert _startable(client, users["alice"], subject_type="contract") == ["sales_only"]
    assert _startable(client, users["robot"], subject_type="contract") == []
    assert _startable(client, users["alice"], subject_type="invoice") == []


def test_designers_change_start_rights_per_key(client, users, deploy):
    definitions.deploy(RESTRICTED, "sales_only.bpmn", "test")
    state = client.get("/api/v1/definitions/sales_only/start-rights", headers=users["alice"])
    assert state.get_json() == {
        "key": "sales_only",
        "principals": ["group:sales", "carol"],
        "source": "diagram",
        "subject_types": ["contract"],
    }
    body = {"principals": ["group:integrations"]}
    path = "/api/v1/definitions/sales_only/start-rights"
    assert client.put(path, headers=users["alice"], json=body).status_code == 403
    changed = client.put(path, headers=users["designer"], json=body)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["source"] == "setting"
    assert _start(client, users["alice"], "sales_only").status_code == 403
    assert _start(client, users["robot"], "sales_only").status_code == 201
    bad = client.put(path, headers=users["admin"], json={"principals": ["a b"]})
    assert bad.status_code == 422 and "principals" in bad.get_json()["errors"]
    missing = client.put(
        "/api/v1/definitions/nothing/start-rights", headers=users["admin"], json=body
    )
    assert missing.status_code == 404


def test_redeploying_an_uploaded_key_keeps_its_rights(client, users):
    uploaded = bpmn("approval.bpmn").replace(b'id="approval"', b'id="uploaded"')
    assert _upload(client, users["designer"], uploaded).status_code == 201
    definitions.deploy(uploaded.replace(b"Review the request", b"Review it"), "u.bpmn", "cli")
    assert _start(client, users["alice"], "uploaded").status_code == 403


def test_deploy_refuses_bad_start_declarations(client, users):
    for attribute, word in (
        (b'crm:startableBy="alice bad/name"', b"startableBy"),
        (b'crm:startableBy=" "', b"startableBy"),
        (b'crm:subjectTypes="contract group:x"', b"subjectTypes"),
    ):
        diagram = bpmn("approval.bpmn").replace(b'id="approval"', b'id="approval" ' + attribute)
        response = _upload(client, users["designer"], diagram)
        assert response.status_code == 422, attribute
        assert word.decode() in str(response.get_json()["errors"]), response.get_json()


# ---------------------------------------------------------------------------- substitutes


def _now():
    return datetime.now(UTC)


def test_a_substitute_sees_and_completes_the_absent_users_task(client, users, deploy):
    deploy("approval.bpmn")
    started = _start(client, users["alice"], "approval")
    iid = started.get_json()["id"]
    assert _inbox(client, users["bob"]) == []
    period = {
        "user": "bob",
        "from": (_now() - timedelta(hours=1)).isoformat(),
        "to": (_now() + timedelta(days=7)).isoformat(),
    }
    set_ = client.put("/api/v1/me/substitute", headers=users["alice"], json=period)
    assert set_.status_code == 200, set_.get_json()
    assert set_.get_json()["user"] == "bob"
    me = client.get("/api/v1/me/substitute", headers=users["bob"]).get_json()
    assert me["stands_in_for"] == ["alice"]
    tasks = _inbox(client, users["bob"])
    assert [(t["name"], t["assignee"]) for t in tasks] == [("Review the request", "alice")]
    assert _inbox(client, users["carol"]) == []  # nobody else
    done = client.post(
        f"/api/v1/tasks/{tasks[0]['id']}/complete",
        headers=users["bob"],
        json={"data": {"decision": "approve"}},
    )
    assert done.status_code == 200, done.get_json()
    detail = client.get(f"/api/v1/instances/{iid}", headers=users["alice"]).get_json()
    completed = [e for e in detail["events"] if e["type"] == "task_completed"]
    assert [(e["actor"], e["data"].get("on_behalf_of")) for e in completed] == [("bob", "alice")]
    # The absent user still sees and may do their own work.
    follow_up = _inbox(client, users["alice"])
    assert [t["name"] for t in follow_up] == ["Execute the request"]
    # The period ends: the substitute sees nothing of alice's any more.
    Substitution.objects(username="alice").update_one(
        set__ends_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    )
    assert _inbox(client, users["bob"]) == []
    guid = follow_up[0]["id"]
    late = client.post(f"/api/v1/tasks/{guid}/complete", headers=users["bob"], json={})
    assert late.status_code == 404
    deploy("approval.bpmn")
    _start(client, users["alice"], "approval")
    assert _inbox(client, users["bob"]) == []  # nothing new either


def test_substitute_input_is_checked(client, users):
    path = "/api/v1/me/substitute"
    base = {"from": _now().isoformat(), "to": (_now() + timedelta(days=1)).isoformat()}
    cases = [
        ({**base, "user": "alice"}, "user"),  # oneself
        ({**base, "user": "nobody"}, "user"),
        ({**base, "user": "bob", "to": base["from"]}, "to"),
        ({"user": "bob", "from": base["from"]}, "to"),
    ]
    for body, field in cases:
        response = client.put(path, headers=users["alice"], json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], response.get_json()
    assert client.put(path, headers=users["alice"], json={**base, "user": "bob"}).status_code == 200
    assert client.delete(path, headers=users["alice"]).status_code == 204
    assert client.get(path, headers=users["bob"]).get_json()["stands_in_for"] == []


# ---------------------------------------------------------------------------- departments


@pytest.fixture()
def org_structure(client, users):
    accounts.create_user("dora", "dora-password", ["lawyers"])
    accounts.create_user("ivan", "ivan-password", ["lawyers"])
    for name, body in (
        ("company", {"head": "carol", "members": []}),
        ("sales", {"head": "bob", "parent": "company", "members": ["alice"]}),
        ("legal", {"head": "dora", "parent": "company", "members": ["ivan"]}),
    ):
        response = client.put(f"/api/v1/departments/{name}", headers=users["admin"], json=body)
        assert response.status_code == 200, response.get_json()


def test_a_head_of_department_lane_resolves(client, users, org_structure):
    definitions.deploy(bpmn("head_approval.bpmn"), "head_approval.bpmn", "test")
    iid = _start(client, users["alice"], "head_approval").get_json()["id"]
    tasks = _inbox(client, users["bob"])  # bob heads alice's department
    assert [(t["name"], t["assignee"]) for t in tasks] == [("Approve", "bob")]
    assert _inbox(client, users["carol"]) == []
    done = client.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", headers=users["bob"], json={})
    assert done.status_code == 200
    dora = accounts.issue_token("dora", 600)[0]
    ivan = accounts.issue_token("ivan", 600)[0]
    for token in (dora, ivan):  # the members of the legal department
        legal = _inbox(client, {"Authorization": f"Bearer {token}"})
        assert [t["name"] for t in legal] == ["Legal check"]
    # bob's own head is the head of the parent department.
    iid = _start(client, users["bob"], "head_approval").get_json()["id"]
    assert iid
    assert [t["assignee"] for t in _inbox(client, users["carol"])] == ["carol"]


def test_departments_are_for_admins_and_refuse_cycles(client, users, org_structure):
    body = {"head": "bob", "members": []}
    assert client.put("/api/v1/departments/x", headers=users["bob"], json=body).status_code == 403
    cycle = client.put(
        "/api/v1/departments/company", headers=users["admin"], json={"parent": "sales"}
    )
    assert cycle.status_code == 422 and "parent" in cycle.get_json()["errors"]
    unknown = client.put(
        "/api/v1/departments/x", headers=users["admin"], json={"members": ["ghost"]}
    )
    assert unknown.status_code == 422 and "members" in unknown.get_json()["errors"]
    listed = client.get("/api/v1/departments", headers=users["alice"]).get_json()["items"]
    assert [d["name"] for d in listed] == ["company", "legal", "sales"]


def test_assignment_visibility_extends_to_the_substitute_only(client, users):
    from tests.mail_helpers import bearer, deploy_procedures, later, make_user

    deploy_procedures()
    make_user("dave", ("archive",))
    dave = bearer("dave")
    created = client.post(
        "/api/v1/assignments",
        headers=users["alice"],
        json={
            "title": "Count the zebras",
            "text": "<p>x</p>",
            "executor": "bob",
            "due_at": later(3600),
        },
    )
    assert created.status_code == 201, created.get_json()
    aid = created.get_json()["id"]

    def sees(headers):
        return client.get(f"/api/v1/assignments/{aid}", headers=headers).status_code == 200

    assert not sees(dave) and not sees(users["carol"])
    period = {
        "user": "dave",
        "from": _now().isoformat(),
        "to": (_now() + timedelta(days=1)).isoformat(),
    }
    assert client.put("/api/v1/me/substitute", headers=users["bob"], json=period).status_code == 200
    assert sees(dave) and not sees(users["carol"])
    Substitution.objects(username="bob").update_one(
        set__ends_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    )
    assert not sees(dave)


# ------------------------------------------------------------------------------ workpage


def test_workpage_layout_over_the_api(client, users):
    path = "/api/v1/me/workpage"
    assert client.get(path, headers=users["alice"]).get_json() == {
        "widgets": ["my_tasks", "my_processes"]
    }
    body = {"widgets": ["appeals_overdue", "my_tasks"]}
    assert client.put(path, headers=users["alice"], json=body).get_json() == body
    assert client.get(path, headers=users["alice"]).get_json() == body
    assert client.get(path, headers=users["bob"]).get_json()["widgets"] == [
        "my_tasks",
        "my_processes",
    ]
    for bad in (["nope"], ["my_tasks", "my_tasks"]):
        response = client.put(path, headers=users["alice"], json={"widgets": bad})
        assert response.status_code == 422 and "widgets" in response.get_json()["errors"]
