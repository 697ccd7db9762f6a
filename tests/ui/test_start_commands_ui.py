"""Start commands on the contract rows of an organization card and on the registration
card: the buttons shown are exactly the procedures the API lists for that object type and
user, and starting one not offered is refused."""

from __future__ import annotations

import re

from flask import Flask

from accounts import service as accounts
from documents import journals
from engine import definitions
from engine.actor import Actor
from engine.models import ProcessInstance
from registry import contracts, organizations
from tests.conftest import bpmn
from tests.ui.conftest import csrf_of

MANAGER = Actor("manager", frozenset({"sales"}))
PROCEDURES = {
    # key: (subject types, who may start)
    "contract_review": ("contract", "group:sales"),
    "contract_audit": ("contract", "group:designers"),
    "card_check": ("card", "*"),
    "document_sales": ("document card", "group:sales"),
}


def _deploy() -> None:
    for key, (types, rights) in PROCEDURES.items():
        diagram = bpmn("approval.bpmn").replace(
            b'id="approval" name="Approval with an exclusive gateway"',
            f'id="{key}" name="{key}" crm:startableBy="{rights}"'
            f' crm:subjectTypes="{types}"'.encode(),
        )
        definitions.deploy(diagram, f"{key}.bpmn", "cli")


def _api(app: Flask, user: str, subject_type: str) -> set[str]:
    token = accounts.issue_token(user, 600)[0]
    response = app.test_client().get(
        "/api/v1/definitions",
        headers={"Authorization": f"Bearer {token}"},
        query_string={"startable_for": "me", "subject_type": subject_type},
    )
    assert response.status_code == 200, response.get_json()
    return {d["key"] for d in response.get_json()["items"]}


def _buttons(html: str, subject_type: str) -> set[str]:
    block = re.search(
        rf'<div class="start-commands" data-subject-type="{subject_type}">(.*?)</div>', html, re.S
    )
    return set(re.findall(r'data-start="([^"]+)"', block.group(1))) if block else set()


def test_start_commands_on_contract_and_registration_cards(app: Flask, sign_in) -> None:
    _deploy()
    accounts.create_user("carol", "carol-password", ["support"])
    org = organizations.create(MANAGER, {"name": "ООО «Ромашка»"})
    contract = contracts.create(
        MANAGER,
        {"organization": str(org.id), "role": "executor", "number": "Д-1", "subject": "Насосы"},
    )
    journal = journals.create_journal(MANAGER, "ВХ", "Входящие", "incoming", "{journal}-{seq}")
    manager = sign_in("manager")
    form = manager.get("/ui/records/register/incoming").get_data(as_text=True)
    registered = manager.post(
        "/ui/records/register/incoming",
        data={
            "csrf_token": csrf_of(form),
            "journal_id": str(journal.id),
            "title": "Письмо",
            "party": "ООО «Ромашка»",
        },
    )
    assert registered.status_code == 302, registered.get_data(as_text=True)
    card_path = registered.headers["Location"]
    card_id = card_path.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    tab = f"/ui/organizations/{org.id}?tab=executor"
    seen = {}
    for user in ("manager", "designer", "carol"):
        client = manager if user == "manager" else sign_in(user)
        contract_page = client.get(tab).get_data(as_text=True)
        card_page = client.get(card_path).get_data(as_text=True)
        for subject_type, page in (
            ("contract", contract_page),
            ("card", card_page),
            ("document", card_page),
        ):
            shown = _buttons(page, subject_type)
            assert shown == _api(app, user, subject_type), (user, subject_type)
            seen[user, subject_type] = shown & set(PROCEDURES)
    assert seen["manager", "contract"] == {"contract_review"}
    assert seen["designer", "contract"] == {"contract_review", "contract_audit"}
    assert seen["carol", "contract"] == set()
    assert seen["manager", "card"] == {"card_check", "document_sales"}
    assert seen["carol", "card"] == {"card_check"}
    assert seen["manager", "document"] == {"document_sales"}
    assert seen["carol", "document"] == set()

    carol = sign_in("carol")
    token = csrf_of(carol.get(card_path).get_data(as_text=True))
    refused = carol.post(
        f"/ui/start/contract/{contract.id}/contract_review", data={"csrf_token": token}
    )
    assert refused.status_code == 403
    assert (
        carol.post(f"/ui/start/card/{card_id}/card_check", data={"csrf_token": token}).status_code
        == 302
    )
    started = manager.post(
        f"/ui/start/contract/{contract.id}/contract_review",
        data={"csrf_token": csrf_of(form)},
    )
    assert started.status_code == 302
    subjects = {
        (i.process_key, i.subject["type"], i.subject["id"]) for i in ProcessInstance.objects
    }
    assert ("contract_review", "contract", str(contract.id)) in subjects
    assert ("card_check", "card", card_id) in subjects
    wrong_type = manager.post(
        f"/ui/start/invoice/{contract.id}/contract_review", data={"csrf_token": csrf_of(form)}
    )
    assert wrong_type.status_code == 404
