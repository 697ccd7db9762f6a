"""The server side of the modeler's properties panel and of the monitor's commands: the
operators list, deploy problems tied to their elements, the timeline's context menu and
the instance page's repairs, each refused without the session's CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

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
