"""The shipped contract_approval procedure, every path, against the real database."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import docx
import pytest

from accounts import service as accounts
from documents import files, signatures, templates
from documents import operators as documents_operators
from engine import definitions, instances
from engine.actor import Actor
from mail.models import Notification
from registry import contracts, organizations
from registry import operators as _registry_operators  # noqa: F401 - subject types
from registry.models import AuditEvent
from tests.mail_helpers import drain

pytestmark = pytest.mark.usefixtures("db")

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
SECRET = "contract-approval-test-secret"
MANAGER = Actor("alice", frozenset({"sales"}))
ADMIN = Actor("root", is_admin=True)
LAWYER = Actor("lena", frozenset({"legal"}))
ACCOUNTANT = Actor("fedor", frozenset({"finance"}))
DIRECTOR = Actor("dmitry", frozenset({"directors"}))
OURS, THEIRS = Actor("olga"), Actor("kirill")


@pytest.fixture(autouse=True)
def setup(db: None) -> None:
    documents_operators.configure(SECRET)
    accounts.create_user("alice", "password-alice-1", ["sales"])
    accounts.create_user("root", "password-root-12", is_admin=True)
    for name in ("contract_approval_approvers.dmn", "contract_approval.bpmn"):
        definitions.deploy((BPMN_DIR / name).read_bytes(), name, "designer")
    for user in (OURS, THEIRS):
        signatures.issue_key(user.username, SECRET)
    doc = docx.Document()
    doc.add_paragraph("Договор № {{ number }} с {{ organization_name }} на {{ amount }} руб.")
    doc.add_paragraph("Стадия: {{ stage }}")
    out = io.BytesIO()
    doc.save(out)
    out.seek(0)
    templates.upload_template(ADMIN, "contract", "contract.docx", out)


def new_contract(amount: str = "250000", with_file: bool = True) -> Any:
    org = organizations.create(MANAGER, {"name": "ООО «Ромашка»"})
    contract = contracts.create(
        MANAGER,
        {"organization": str(org.id), "role": "executor", "number": "Д-7", "amount": amount},
    )
    if with_file:
        stored = files.upload(MANAGER, "draft.pdf", io.BytesIO(b"%PDF-1.4 draft contract"))
        contracts.update(MANAGER, contract.id, {"files": [str(stored.id)]})
    return contract


def start(contract: Any, by: Actor = MANAGER) -> dict[str, Any]:
    return instances.start(
        "contract_approval", by, subject={"type": "contract", "id": str(contract.id)}
    )


def tasks(doc: dict[str, Any], bpmn_id: str) -> list[dict[str, Any]]:
    return [t for t in doc["open_tasks"] if t["bpmn_id"] == bpmn_id]


def fill_draft(doc: dict[str, Any], amount: float = 250000) -> dict[str, Any]:
    (draft,) = tasks(doc, "draft")
    assert draft["assignee"] == "alice"
    return instances.complete_task(
        draft["guid"],
        MANAGER,
        {
            "contract_subject": "Поставка оборудования",
            "amount": amount,
            "our_signatory": OURS.username,
            "counterparty_signatory": THEIRS.username,
        },
    )


def decide(doc: dict[str, Any], who: Actor, decision: str, comment: str = "") -> dict[str, Any]:
    mine = [t for t in tasks(doc, "approve") if set(t["candidates"]) & set(who.principals)]
    assert len(mine) == 1, (who, doc["open_tasks"])
    if mine[0]["assignee"] is None:
        instances.claim_task(mine[0]["guid"], who)
    data = {"decision": decision, **({"comment": comment} if comment else {})}
    return instances.complete_task(mine[0]["guid"], who, data)


def sign_both(doc: dict[str, Any]) -> dict[str, Any]:
    (ours,) = tasks(doc, "sign_ours")
    (theirs,) = tasks(doc, "sign_theirs")
    assert ours["assignee"] == "olga" and theirs["assignee"] == "kirill"
    doc = instances.complete_task(ours["guid"], OURS, {"our_consent": True})
    return instances.complete_task(theirs["guid"], THEIRS, {"their_consent": True})


def approvers_of(doc: dict[str, Any]) -> list[list[str]]:
    return sorted(t["candidates"] for t in tasks(doc, "approve"))


def check_signed(doc: dict[str, Any], contract: Any, signed_file: str) -> None:
    drain()
    doc = instances.get(doc["_id"])
    assert doc["status"] == "completed"
    stored = contracts.get(ADMIN, contract.id)
    assert stored.stage == "signed"
    variables = instances.variables(doc)
    for key in ("our_signature", "their_signature"):
        result = signatures.verify(ADMIN, variables[key])
        assert result.status == signatures.VALID
        assert str(result.signature.file_id) == signed_file
    assert {
        result.signature.signer
        for result in (
            signatures.verify(ADMIN, variables["our_signature"]),
            signatures.verify(ADMIN, variables["their_signature"]),
        )
    } == {"olga", "kirill"}
    generated = variables["contract_file_id"]
    assert stored.files[-1] == generated
    text = "\n".join(
        p.text
        for p in docx.Document(
            io.BytesIO(files.read_bytes(files.version_of(files.get_file(ADMIN, generated))))
        ).paragraphs
    )
    assert "Д-7" in text and "ООО «Ромашка»" in text and "signed" in text
    notices = Notification.objects(source_id=str(contract.id))
    assert {n.user for n in notices} >= {"alice"}
    assert all("Д-7" in n.title for n in notices)


def test_approved_the_first_time_is_signed_rendered_and_notified() -> None:
    contract = new_contract()
    doc = start(contract, by=ADMIN)
    assert contracts.get(ADMIN, contract.id).stage == "draft"
    doc = fill_draft(doc)
    stored = contracts.get(ADMIN, contract.id)
    assert stored.stage == "approval" and stored.subject == "Поставка оборудования"
    assert approvers_of(doc) == [["alice"], ["group:finance"], ["group:legal"]]
    doc = decide(doc, LAWYER, "approved")
    doc = decide(doc, ACCOUNTANT, "approved", "ok")
    doc = decide(doc, MANAGER, "approved")
    assert not tasks(doc, "approve") and not tasks(doc, "draft")
    doc = sign_both(doc)
    check_signed(doc, contract, stored.files[0])
    told = {n.user for n in Notification.objects(source_id=str(contract.id))}
    assert told == {"alice", "root"}
    stages = [
        e.changes["stage"]["to"]
        for e in AuditEvent.objects(object_id=str(contract.id), action="stage_changed").order_by(
            "id"
        )
    ]
    assert stages == ["approval", "signed"]


def test_a_rejection_sends_the_draft_back_with_comments_and_the_next_round_approves() -> None:
    contract = new_contract()
    doc = fill_draft(start(contract))
    doc = decide(doc, ACCOUNTANT, "approved")
    doc = decide(doc, LAWYER, "rejected", "Пункт 5 противоречит закону")
    # The first rejection settles the round: the manager's approval is withdrawn.
    assert not tasks(doc, "approve")
    assert contracts.get(ADMIN, contract.id).stage == "draft"
    assert len(tasks(doc, "draft")) == 1
    comments = instances.variables(doc)["rework_comments"]
    assert comments == [
        {
            "approver": "group:legal",
            "decision": "rejected",
            "comment": "Пункт 5 противоречит закону",
        }
    ]
    doc = fill_draft(doc, amount=260000)
    assert contracts.get(ADMIN, contract.id).stage == "approval"
    assert approvers_of(doc) == [["alice"], ["group:finance"], ["group:legal"]]
    for who in (LAWYER, ACCOUNTANT, MANAGER):
        doc = decide(doc, who, "approved")
    doc = sign_both(doc)
    check_signed(doc, contract, contracts.get(ADMIN, contract.id).files[0])
    assert contracts.get(ADMIN, contract.id).amount_minor == 26_000_000


def test_above_the_threshold_the_directors_approve_too() -> None:
    contract = new_contract(amount="5000000")
    doc = fill_draft(start(contract), amount=1_500_000)
    assert approvers_of(doc) == [["alice"], ["group:directors"], ["group:finance"], ["group:legal"]]
    for who in (LAWYER, ACCOUNTANT, MANAGER):
        doc = decide(doc, who, "approved")
    assert len(tasks(doc, "approve")) == 1 and not tasks(doc, "sign_ours")
    doc = decide(doc, DIRECTOR, "approved")
    doc = sign_both(doc)
    check_signed(doc, contract, contracts.get(ADMIN, contract.id).files[0])


def test_at_the_threshold_no_director_and_a_contract_without_a_file_gets_one_to_sign() -> None:
    contract = new_contract(with_file=False)
    doc = fill_draft(start(contract), amount=1_000_000)
    assert approvers_of(doc) == [["alice"], ["group:finance"], ["group:legal"]]
    for who in (LAWYER, ACCOUNTANT, MANAGER):
        doc = decide(doc, who, "approved")
    draft_file = instances.variables(doc)["draft_file_id"]
    assert contracts.get(ADMIN, contract.id).files == [draft_file]
    doc = sign_both(doc)
    check_signed(doc, contract, draft_file)
    assert len(contracts.get(ADMIN, contract.id).files) == 2


def test_deploy_directory_takes_the_decision_before_the_diagram(tmp_path: Path) -> None:
    for name in ("contract_approval.bpmn", "contract_approval_approvers.dmn"):
        (tmp_path / name).write_bytes((BPMN_DIR / name).read_bytes())
    lines = definitions.deploy_directory(tmp_path)
    # Both are deployed already (by the fixture): identical content keeps version 1.
    assert lines == [
        "contract_approval_approvers v1 (contract_approval_approvers.dmn)",
        "contract_approval v1 (contract_approval.bpmn)",
    ]
    definition = definitions.find("contract_approval")
    assert set(definition.forms) == {"draft", "approve", "sign_ours", "sign_theirs"}
    assert definition.user_tasks["draft"]["due"] == {"kind": "dueInWorkingDays", "value": "3"}
