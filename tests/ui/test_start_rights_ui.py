"""Start rights in the UI: the Start button shows exactly where the API lets one start."""

from __future__ import annotations

import io
import re

from flask import Flask

from engine import definitions
from tests.conftest import bpmn
from tests.ui.conftest import csrf_of


def _start_buttons(html: str) -> set[str]:
    return set(re.findall(r"/ui/procedures/bpmn/([A-Za-z0-9_.-]+)/start", html))


def test_start_buttons_follow_start_rights(app: Flask, sign_in) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "cli")  # everyone
    designer = sign_in("designer")
    page = designer.get("/ui/procedures").get_data(as_text=True)
    uploaded = bpmn("approval.bpmn").replace(b'id="approval"', b'id="uploaded"')
    response = designer.post(
        "/ui/procedures/upload",
        data={"csrf_token": csrf_of(page), "file": (io.BytesIO(uploaded), "uploaded.bpmn")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    designer_page = designer.get("/ui/procedures").get_data(as_text=True)
    assert {"approval", "uploaded", "contract_approval"} <= _start_buttons(designer_page)
    manager = sign_in("manager")
    listed = manager.get("/ui/procedures").get_data(as_text=True)
    assert {"approval", "contract_approval"} <= _start_buttons(listed)  # shipped: everyone
    assert "uploaded" not in _start_buttons(listed)
    shown = manager.get("/ui/procedures/bpmn/uploaded").get_data(as_text=True)
    assert _start_buttons(shown) == set()
    assert _start_buttons(manager.get("/ui/procedures/bpmn/approval").get_data(as_text=True))
    refused = manager.post(
        "/ui/procedures/bpmn/uploaded/start", data={"csrf_token": csrf_of(listed)}
    )
    assert refused.status_code == 403
    started = manager.post(
        "/ui/procedures/bpmn/approval/start", data={"csrf_token": csrf_of(listed)}
    )
    assert started.status_code == 302


def test_an_organization_card_offers_the_procedures_for_organizations(app: Flask, sign_in) -> None:
    for key, rights in (("org_review", "group:sales"), ("org_audit", "group:designers")):
        diagram = bpmn("approval.bpmn").replace(
            b'id="approval" name="Approval with an exclusive gateway"',
            f'id="{key}" name="{key}" crm:startableBy="{rights}"'
            ' crm:subjectTypes="organization"'.encode(),
        )
        definitions.deploy(diagram, f"{key}.bpmn", "cli")
    manager = sign_in("manager")  # in sales
    page = manager.get("/ui/organizations/new").get_data(as_text=True)
    created = manager.post(
        "/ui/organizations/new", data={"csrf_token": csrf_of(page), "name": "ООО «Ромашка»"}
    )
    assert created.status_code == 302
    card_url = created.headers["Location"]
    card = manager.get(card_url).get_data(as_text=True)
    offered = set(re.findall(r'data-start="([a-z_]+)"', card))
    assert offered == {"org_review"}
    designer_card = sign_in("designer").get(card_url).get_data(as_text=True)
    assert set(re.findall(r'data-start="([a-z_]+)"', designer_card)) >= {"org_review", "org_audit"}
    start = card_url.rstrip("/") + "/start/"
    refused = manager.post(start + "org_audit", data={"csrf_token": csrf_of(card)})
    assert refused.status_code == 403
    started = manager.post(start + "org_review", data={"csrf_token": csrf_of(card)})
    assert started.status_code == 302
    task = manager.get(started.headers["Location"]).get_data(as_text=True)
    assert "Review the request" in task and "ООО «Ромашка»" in task
