"""The server side of the modeler's properties panel and of the monitor's commands: the
operators list, deploy problems tied to their elements, the timeline's context menu and
the instance page's repairs, each refused without the session's CSRF token."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import definitions, instances, jobs, queries
from engine.actor import Actor
from tests.conftest import bpmn
from tests.support import operators as test_ops

from .conftest import csrf_of

SignIn = Callable[[str], FlaskClient]
DATA = Path(__file__).parents[1] / "browser" / "data"


def test_operators_are_listed_with_their_parameters(app: Flask, sign_in: SignIn) -> None:
    designer = sign_in("designer")
    found = designer.get("/ui/procedures/operators").get_json()["operators"]
    by_name = {op["name"]: op for op in found}
    assert by_name["set_stage"]["params"] == [
        {"name": "stage", "required": True, "kind": "str", "doc": ""}
    ]
    # Required parameters come first, then the optional ones by name.
    approval = [p["name"] for p in by_name["request_approval"]["params"]]
    assert approval[0] == "approvers" and approval[1:] == sorted(approval[1:])
    assert by_name["notify"]["asynchronous"] is True
    assert sign_in("manager").get("/ui/procedures/operators").status_code == 403


def test_deploy_problems_name_their_elements(app: Flask, sign_in: SignIn) -> None:
    designer = sign_in("designer")
    token = csrf_of(designer.get("/ui/procedures").get_data(as_text=True))
    source = (DATA / "stage_review.bpmn").read_text()
    broken = source.replace('id="instance_info"', 'id="set_stage"').replace(
        'crm:dueIn="P1D"', 'crm:dueIn="soon"'
    )
    headers = {"X-CSRF-Token": token, "Content-Type": "application/xml"}
    answer = designer.post("/ui/procedures/deploy", data=broken.encode(), headers=headers)
    assert answer.status_code == 422
    marks = answer.get_json()["marks"]
    assert {m["element"] for m in marks} == {"load_info", "review"}
    assert any("parameter 'stage' is required" in m["problem"] for m in marks)
    refused = designer.post(
        "/ui/procedures/deploy",
        data=source.encode(),
        headers={"Content-Type": "application/xml"},
    )
    assert refused.status_code == 400
    good = designer.post("/ui/procedures/deploy", data=source.encode(), headers=headers)
    assert good.status_code == 200 and good.get_json()["version"] == 1


DESIGNER = Actor("designer", frozenset({"designers"}))


def _started(by: Actor = DESIGNER) -> tuple[str, str]:
    """A call_back instance: its id and its open task's guid."""
    definitions.deploy((DATA / "call_back.bpmn").read_bytes(), "call_back.bpmn", "designer")
    doc = instances.start("call_back", by)
    return str(doc["_id"]), doc["open_tasks"][0]["guid"]


def _menus(page: str, what: str = "label") -> list[list[str]]:
    """The labels (or URLs) of every context menu of a timeline page, row buttons first."""
    found = re.findall(r'data-commands="([^"]*)"', page)
    return [[c[what] for c in json.loads(html.unescape(m))] for m in found]


def test_timeline_menus_offer_what_state_and_rights_allow(app: Flask, sign_in: SignIn) -> None:
    iid, _ = _started()
    designer = sign_in("designer")
    row, bar = _menus(designer.get("/ui/monitor?zoom=day").get_data(as_text=True))
    assert row == [
        "Open the instance",
        "Reassign “Call the customer”…",
        "Suspend",
        "Cancel the instance…",
    ]
    assert bar == ["Open the instance", "Reassign…", "Suspend", "Cancel the instance…"]
    instances.suspend(iid, DESIGNER)
    _, bar = _menus(designer.get("/ui/monitor?zoom=day").get_data(as_text=True))
    assert bar == ["Open the instance", "Reassign…", "Resume", "Cancel the instance…"]
    instances.terminate(iid, DESIGNER)
    _, bar = _menus(designer.get("/ui/monitor?zoom=day").get_data(as_text=True))
    assert bar == ["Open the instance"]
    # The starter controls the instance but may not repair it: no reassign.
    mine, _ = _started(Actor("manager", frozenset({"sales"})))
    page = sign_in("manager").get("/ui/monitor?zoom=day").get_data(as_text=True)
    assert (
        _menus(page, "url")
        == [
            [
                f"/ui/monitor/instances/{mine}",
                f"/ui/monitor/instances/{mine}/suspend",
                f"/ui/monitor/instances/{mine}/terminate",
            ]
        ]
        * 2
    )


def test_the_reassign_dialog_lists_people_and_groups(app: Flask, sign_in: SignIn) -> None:
    found = sign_in("designer").get("/ui/monitor/principals").get_json()
    values = {p["value"] for p in found}
    assert {"manager", "designer", "group:sales", "group:designers"} <= values


def test_suspend_from_the_timeline_needs_the_csrf_token(app: Flask, sign_in: SignIn) -> None:
    iid, _ = _started()
    designer = sign_in("designer")
    token = csrf_of(designer.get("/ui/monitor").get_data(as_text=True))
    url = f"/ui/monitor/instances/{iid}/suspend"
    assert designer.post(url, data={"next": "/ui/monitor?zoom=day"}).status_code == 400
    assert instances.get(iid)["status"] == "active"
    done = designer.post(url, data={"csrf_token": token, "next": "/ui/monitor?zoom=day"})
    assert done.status_code == 303 and done.headers["Location"] == "/ui/monitor?zoom=day"
    assert instances.get(iid)["status"] == "suspended"
    # A foreign `next` is not followed; a second suspend is a conflict shown, not a crash.
    again = designer.post(url, data={"csrf_token": token, "next": "https://evil.example/"})
    assert again.headers["Location"] == f"/ui/monitor/instances/{iid}"
    assert "suspended" in designer.get(again.headers["Location"]).get_data(as_text=True)
    resumed = designer.post(f"/ui/monitor/instances/{iid}/resume", data={"csrf_token": token})
    assert resumed.status_code == 303 and instances.get(iid)["status"] == "active"
    # Someone else's instance: the manager does not see it.
    manager = sign_in("manager")
    other = csrf_of(manager.get("/ui/monitor").get_data(as_text=True))
    assert manager.post(url, data={"csrf_token": other}).status_code == 404


def test_reassign_needs_a_reason_and_the_right(app: Flask, sign_in: SignIn) -> None:
    iid, guid = _started()
    designer = sign_in("designer")
    token = csrf_of(designer.get(f"/ui/monitor/instances/{iid}").get_data(as_text=True))
    url = f"/ui/monitor/instances/{iid}/tasks/{guid}/reassign"
    assert designer.post(url, data={"to": "manager", "reason": "away"}).status_code == 400
    missing = designer.post(url, data={"csrf_token": token, "to": "manager"})
    assert missing.status_code == 303
    page = designer.get(missing.headers["Location"]).get_data(as_text=True)
    assert "reason" in page and "is required for a repair" in page
    assert instances.get(iid)["open_tasks"][0]["assignee"] == "designer"
    done = designer.post(url, data={"csrf_token": token, "to": "manager", "reason": "on leave"})
    assert done.status_code == 303
    assert instances.get(iid)["open_tasks"][0]["assignee"] == "manager"
    page = designer.get(f"/ui/monitor/instances/{iid}").get_data(as_text=True)
    assert "task reassigned" in page and "on leave" in page
    to_group = designer.post(
        url, data={"csrf_token": token, "to": "group:sales", "reason": "the team takes it"}
    )
    assert to_group.status_code == 303
    task = instances.get(iid)["open_tasks"][0]
    assert task["assignee"] is None and task["candidates"] == ["group:sales"]


def test_repairs_from_the_instance_page(app: Flask, sign_in: SignIn) -> None:
    iid, _ = _started()
    designer = sign_in("designer")
    page = designer.get(f"/ui/monitor/instances/{iid}").get_data(as_text=True)
    assert "data-tokens=" in page and "Repairs" in page
    token = csrf_of(page)
    base = f"/ui/monitor/instances/{iid}/repair"
    assert (
        designer.post(
            f"{base}/set-variables", data={"variables": '{"a": 1}', "reason": "x"}
        ).status_code
        == 400
    )
    bad = designer.post(
        f"{base}/set-variables", data={"csrf_token": token, "variables": "[1]", "reason": "x"}
    )
    assert "must be a JSON object" in designer.get(bad.headers["Location"]).get_data(as_text=True)
    designer.post(
        f"{base}/set-variables",
        data={"csrf_token": token, "variables": '{"priority": "high"}', "reason": "asked by boss"},
    )
    detail = queries.instance_detail(iid, DESIGNER)
    reasons = {e["type"]: e["data"].get("reason") for e in detail["events"]}
    assert reasons["repair_set_variables"] == "asked by boss"
    designer.post(
        f"{base}/skip-task",
        data={
            "csrf_token": token,
            "element": "call_customer",
            "data": '{"outcome": "reached by e-mail"}',
            "reason": "done outside",
        },
    )
    doc = instances.get(iid)
    assert doc["status"] == "completed"
    # The variables set are in the data from the step that held the token on.
    assert instances.variables(doc)["priority"] == "high"
    assert instances.variables(doc)["outcome"] == "reached by e-mail"
    assert "repair_skip_task" in {
        e["type"] for e in queries.instance_detail(iid, DESIGNER)["events"]
    }
    assert designer.post(f"{base}/unknown", data={"csrf_token": token}).status_code == 404
    # A finished instance offers no repairs.
    assert "Repairs" not in designer.get(f"/ui/monitor/instances/{iid}").get_data(as_text=True)


def test_move_token_and_cancel_activity(app: Flask, sign_in: SignIn) -> None:
    iid, _ = _started()
    designer = sign_in("designer")
    token = csrf_of(designer.get(f"/ui/monitor/instances/{iid}").get_data(as_text=True))
    base = f"/ui/monitor/instances/{iid}/repair"
    moved = designer.post(
        f"{base}/move-token",
        data={"csrf_token": token, "from": "call_customer", "to": "called", "reason": "no need"},
    )
    assert moved.status_code == 303
    assert instances.get(iid)["status"] == "completed"
    second, _ = _started()
    designer.post(
        f"{base.replace(iid, second)}/cancel-activity",
        data={"csrf_token": token, "element": "call_customer", "reason": "wrong step"},
    )
    events = {e["type"] for e in queries.instance_detail(second, DESIGNER)["events"]}
    assert "repair_cancel_activity" in events


def test_only_repairers_retry_incidents(app: Flask, sign_in: SignIn) -> None:
    iid, _ = _started(Actor("manager", frozenset({"sales"})))
    manager = sign_in("manager")
    token = csrf_of(manager.get(f"/ui/monitor/instances/{iid}").get_data(as_text=True))
    url = f"/ui/monitor/instances/{iid}/incidents/{'0' * 24}/retry"
    assert manager.post(url).status_code == 400
    assert manager.post(url, data={"csrf_token": token}).status_code == 403
    designer = sign_in("designer")
    other = csrf_of(designer.get("/ui/monitor").get_data(as_text=True))
    assert designer.post(url, data={"csrf_token": other}).status_code == 404


def test_retry_an_incident_from_the_timeline(
    app: Flask, sign_in: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "BACKOFF_BASE_SECONDS", 0)
    test_ops.control(fail=True)
    definitions.deploy(bpmn("async_service.bpmn"), "a.bpmn", "designer")
    iid = str(instances.start("async_call", DESIGNER, {"amount": 5})["_id"])
    for _ in range(jobs.DEFAULT_MAX_ATTEMPTS):
        jobs.run_due("test-worker")
    incident = jobs.list_incidents("open", instances.get(iid)["_id"])[0]
    designer = sign_in("designer")
    page = designer.get("/ui/monitor?zoom=day").get_data(as_text=True)
    retry = f"/ui/monitor/instances/{iid}/incidents/{incident.id}/retry"
    assert retry in _menus(page, "url")[0]
    assert 'class="tl-incident"' in page  # a mark with the menu, though the row has no bar
    shown = designer.get(f"/ui/monitor/instances/{iid}").get_data(as_text=True)
    assert "ledger is offline" in shown and retry in shown
    test_ops.control()  # the ledger is back
    token = csrf_of(page)
    assert designer.post(retry, data={"next": "/ui/monitor"}).status_code == 400
    done = designer.post(retry, data={"csrf_token": token, "next": "/ui/monitor"})
    assert done.status_code == 303 and done.headers["Location"] == "/ui/monitor"
    assert jobs.get_incident(incident.id).status == "retrying"
    assert jobs.run_due("test-worker") == 1
    assert jobs.get_incident(incident.id).status == "resolved"
    assert instances.get(iid)["incident"] is None
    # Retrying again is a conflict shown on the page, not an error page.
    again = designer.post(retry, data={"csrf_token": token, "next": "/ui/monitor"})
    assert again.status_code == 303
    assert "is resolved" in designer.get("/ui/monitor").get_data(as_text=True)
