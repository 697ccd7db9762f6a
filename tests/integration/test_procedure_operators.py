"""The generic procedure operators against the real database, deploy-time checks included."""

from __future__ import annotations

from html import escape
from typing import Any

import pytest

from engine import definitions, instances, operators
from engine.actor import Actor
from engine.errors import DefinitionInvalid, ProcessError
from engine.models import ProcessInstance
from engine.procedure_operators import child_instance_id, start_process
from registry import contracts, organizations
from registry import operators as _registry_operators  # noqa: F401 - subject types
from registry.models import AuditEvent
from tests.conftest import bpmn

pytestmark = pytest.mark.usefixtures("db")
ADMIN = Actor("root", is_admin=True)


def service_diagram(operator: str, params: dict[str, str], key: str = "op_test") -> bytes:
    """A process: start → one service task calling `operator` → a user task → end."""
    rendered = "\n".join(
        f'<spiffworkflow:parameter id="{k}" type="any" value="{escape(v)}"/>'
        for k, v in params.items()
    )
    return (
        bpmn("operator_call.bpmn")
        .decode()
        .replace("@KEY@", key)
        .replace("@OPERATOR@", operator)
        .replace("@PARAMS@", rendered)
        .encode()
    )


def run(operator: str, params: dict[str, str], subject: Any = None, variables: Any = None) -> Any:
    definitions.deploy(service_diagram(operator, params), "op.bpmn", "designer")
    doc = instances.start("op_test", ADMIN, variables or {}, subject=subject)
    return instances.variables(doc)["result"]


def contract_subject(alice: Actor) -> tuple[Any, dict[str, str]]:
    org = organizations.create(alice, {"name": "ООО «Ромашка»"})
    contract = contracts.create(
        alice, {"organization": str(org.id), "role": "customer", "number": "К-1", "amount": "10"}
    )
    return contract, {"type": "contract", "id": str(contract.id)}


# ----------------------------------------------------------------- deploy-time checks


@pytest.mark.parametrize(
    ("operator", "params", "expected"),
    [
        ("set_stage", {}, "task call: set_stage: parameter 'stage' is required"),
        ("set_stage", {"stage": "'signed'", "colour": "'red'"}, "parameter 'colour' is unknown"),
        ("set_stage", {"stage": "__import__('os')"}, "parameter 'stage' does not compile"),
        ("set_fields", {"fields": "'amount'"}, "parameter 'fields' must be a dict"),
        ("grant_access", {"to": "['bob']", "level": "2"}, "parameter 'level' must be a str"),
        ("notify", {"subject": "'hi'"}, "task call: notify: parameter 'to' is required"),
        ("log_action", {"knd": "'call_in'"}, "parameter 'knd' is unknown"),
    ],
)
def test_deploy_refuses_bad_parameters_naming_task_and_parameter(
    operator: str, params: dict[str, str], expected: str
) -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        definitions.deploy(service_diagram(operator, params), "bad.bpmn", "designer")
    problems = caught.value.errors["diagram"]
    assert any(expected in p for p in problems), problems


def test_an_operator_without_a_spec_accepts_any_parameter_that_compiles() -> None:
    operators.register("test_free")(lambda call: dict(call.params))
    try:
        assert run("test_free", {"anything": "1 + 1"}) == {"anything": 2}
        with pytest.raises(DefinitionInvalid):
            definitions.deploy(
                service_diagram("test_free", {"x": "().__class__"}), "b.bpmn", "designer"
            )
    finally:
        operators.unregister("test_free")


# -------------------------------------------------------------- fields, stage, access


def test_set_fields_changes_a_contract_through_its_service(alice: Actor) -> None:
    contract, subject = contract_subject(alice)
    values = run(
        "set_fields", {"fields": "{'amount': 1500.5, 'notes': note}"}, subject, {"note": "срочно"}
    )
    assert values["amount"] == 1500.5 and values["notes"] == "срочно"
    stored = contracts.get(ADMIN, contract.id)
    assert stored.amount_minor == 150050
    entry = AuditEvent.objects(object_id=str(contract.id), action="updated").first()
    assert entry is not None and entry.actor == "system"


def test_set_fields_refusal_is_a_process_error_and_nothing_changes(alice: Actor) -> None:
    contract, subject = contract_subject(alice)
    with pytest.raises(ProcessError, match="amount"):
        run("set_fields", {"fields": "{'amount': 'lots'}"}, subject)
    assert contracts.get(ADMIN, contract.id).amount_minor == 1000
    assert ProcessInstance.objects.count() == 0


def test_set_stage_follows_the_contract_lifecycle(alice: Actor) -> None:
    contract, subject = contract_subject(alice)
    assert run("set_stage", {"stage": "'approval'"}, subject) == "approval"
    assert contracts.get(ADMIN, contract.id).stage == "approval"
    with pytest.raises(ProcessError, match="not to in_force"):
        run("set_stage", {"stage": "'in_force'"}, subject)
    assert contracts.get(ADMIN, contract.id).stage == "approval"


def test_set_stage_on_an_organization_is_refused_by_its_type(alice: Actor) -> None:
    org = organizations.create(alice, {"name": "ООО «Лютик»"})
    with pytest.raises(ProcessError, match="organization does not support set_stage"):
        run("set_stage", {"stage": "'signed'"}, {"type": "organization", "id": str(org.id)})


def test_grant_and_revoke_on_an_organization_with_a_role_from_task_data(alice: Actor) -> None:
    org = organizations.create(alice, {"name": "ООО «Лютик»", "restricted": True})
    subject = {"type": "organization", "id": str(org.id)}
    read = run("grant_access", {"to": "['@auditor', 'group:legal']"}, subject, {"auditor": "bob"})
    assert "bob" in read and "group:legal" in read and "*" not in read
    stored = organizations.get(ADMIN, org.id)
    assert stored.readers == ["bob", "group:legal"]
    write = run("grant_access", {"to": "'carol'", "level": "'write'"}, subject)
    assert "carol" in write
    read = run("revoke_access", {"to": "['bob', 'carol']"}, subject)
    stored = organizations.get(ADMIN, org.id)
    assert "bob" not in read and "carol" not in stored.access.read
    assert stored.readers == ["group:legal"] and stored.writers == []


def test_grant_and_revoke_on_a_contract(alice: Actor) -> None:
    contract, subject = contract_subject(alice)
    write = run("grant_access", {"to": "['group:legal']", "level": "'write'"}, subject)
    assert "group:legal" in write
    stored = contracts.get(ADMIN, contract.id)
    assert "group:legal" in stored.access.read and "group:legal" in stored.access.write
    assert contracts.get_writable(Actor("lena", frozenset({"legal"})), contract.id)
    run("revoke_access", {"to": "'group:legal'", "level": "'read'"}, subject)
    stored = contracts.get(ADMIN, contract.id)
    assert "group:legal" not in stored.access.read + stored.access.write
    assert AuditEvent.objects(object_id=str(contract.id), action="access_changed").count() == 2


def test_grant_access_to_nobody_is_an_error(alice: Actor) -> None:
    _, subject = contract_subject(alice)
    with pytest.raises(ProcessError, match="names nobody"):
        run("grant_access", {"to": "'@missing'"}, subject, {"missing": []})


def test_an_instance_without_subject_cannot_set_fields() -> None:
    with pytest.raises(ProcessError, match="no subject"):
        run("set_fields", {"fields": "{'a': 1}"})


# ------------------------------------------------------------------------ start_process


def test_start_process_starts_one_child_on_the_same_subject(alice: Actor) -> None:
    _, subject = contract_subject(alice)
    definitions.deploy(service_diagram("load_subject", {}, key="child"), "child.bpmn", "d")
    child_id = run("start_process", {"key": "'child'", "variables": "{'n': 1}"}, subject)
    child = instances.get(child_id)
    assert child["subject"] == subject and child["process_key"] == "child"
    values = instances.variables(child)
    assert values["n"] == 1 and values["result"]["number"] == "К-1"
    assert values["parent_instance_id"]
    parent = ProcessInstance.objects(process_key="op_test").first()
    assert values["parent_instance_id"] == str(parent.id)
    # The same call again (a retried step) starts nothing new.
    call = operators.OperatorCall(
        name="start_process",
        params={"key": "child"},
        data={},
        instance=operators.InstanceContext(str(parent.id), "op_test", "root", subject),
        task_id="t-1",
    )
    first, again = start_process(call), start_process(call)
    assert first == again == str(child_instance_id(call, "child"))
    assert ProcessInstance.objects(process_key="child").count() == 2


def test_start_process_of_an_unknown_key_fails() -> None:
    with pytest.raises(ProcessError, match="no deployed process"):
        run("start_process", {"key": "'nothing_here'"})


# ----------------------------------------------------------------------------- approvals


def approval_diagram(sequential: bool, mode: str, quorum: int | None = None) -> bytes:
    quorum_param = (
        f'<spiffworkflow:parameter id="quorum" type="int" value="{quorum}"/>' if quorum else ""
    )
    return (
        bpmn("approval_multi_instance.bpmn")
        .decode()
        .replace("@SEQUENTIAL@", str(sequential).lower())
        .replace("@MODE@", mode)
        .replace("@QUORUM@", quorum_param)
        .encode()
    )


LEGAL, BOSS, DIRECTOR = (
    Actor("lena", frozenset({"legal"})),
    Actor("boss"),
    Actor("dima", frozenset({"directors"})),
)


def start_approval(sequential: bool, mode: str, quorum: int | None = None) -> dict[str, Any]:
    definitions.deploy(approval_diagram(sequential, mode, quorum), "a.bpmn", "designer")
    return instances.start(
        "approval_test", ADMIN, {"boss": "boss", "dmn_output": ["group:directors"], "votes": []}
    )


def vote(doc: dict[str, Any], who: Actor, decision: str, comment: str = "") -> dict[str, Any]:
    (task,) = [t for t in doc["open_tasks"] if set(t["candidates"]) & set(who.principals)]
    if task["assignee"] is None:
        instances.claim_task(task["guid"], who)
    data = {"decision": decision, **({"comment": comment} if comment else {})}
    return instances.complete_task(task["guid"], who, data)


def owners(doc: dict[str, Any]) -> list[list[str]]:
    return [t["candidates"] for t in doc["open_tasks"]]


def test_parallel_all_each_approver_gets_a_task_and_all_approve() -> None:
    doc = start_approval(sequential=False, mode="all")
    assert sorted(owners(doc)) == [["boss"], ["group:directors"], ["group:legal"]]
    assert [t["assignee"] for t in doc["open_tasks"] if t["candidates"] == ["boss"]] == ["boss"]
    doc = vote(doc, LEGAL, "approved", "ok")
    doc = vote(doc, DIRECTOR, "approved")
    assert owners(doc) == [["boss"]]
    doc = vote(doc, BOSS, "approved")
    approval = instances.variables(doc)["approval"]
    assert doc["status"] == "completed" and approval["outcome"] == "approved"
    assert sorted(approval["approved"]) == ["boss", "group:directors", "group:legal"]
    assert approval["comments"] == [
        {"approver": "group:legal", "decision": "approved", "comment": "ok"}
    ]


def test_parallel_all_the_first_rejection_settles_and_cancels_the_rest() -> None:
    doc = start_approval(sequential=False, mode="all")
    doc = vote(doc, BOSS, "rejected", "нет")
    approval = instances.variables(doc)["approval"]
    assert doc["status"] == "completed" and doc["open_tasks"] == []
    assert approval["outcome"] == "rejected" and approval["rejected"] == ["boss"]


def test_parallel_quorum_two_of_three() -> None:
    doc = start_approval(sequential=False, mode="quorum", quorum=2)
    doc = vote(doc, LEGAL, "rejected", "риск")
    doc = vote(doc, BOSS, "approved")
    assert owners(doc) == [["group:directors"]]  # a quorum waits for every vote in parallel
    doc = vote(doc, DIRECTOR, "approved")
    approval = instances.variables(doc)["approval"]
    assert approval["outcome"] == "approved" and approval["rejected"] == ["group:legal"]


def test_sequential_any_goes_in_order_and_stops_at_the_first_approval() -> None:
    doc = start_approval(sequential=True, mode="any")
    assert owners(doc) == [["group:legal"]]
    doc = vote(doc, LEGAL, "rejected")
    assert owners(doc) == [["boss"]]
    doc = vote(doc, BOSS, "approved")
    approval = instances.variables(doc)["approval"]
    assert doc["status"] == "completed" and approval["outcome"] == "approved"
    assert [v["approver"] for v in instances.variables(doc)["votes"]] == ["group:legal", "boss"]


def test_sequential_all_stops_at_the_first_rejection() -> None:
    doc = start_approval(sequential=True, mode="all")
    doc = vote(doc, LEGAL, "approved")
    doc = vote(doc, BOSS, "rejected")
    approval = instances.variables(doc)["approval"]
    assert doc["status"] == "completed" and approval["outcome"] == "rejected"


def test_request_approval_refuses_a_quorum_larger_than_the_approvers() -> None:
    with pytest.raises(ProcessError, match="quorum 5 is more than the 3 approvers"):
        start_approval(sequential=False, mode="quorum", quorum=5)
