"""Deploy: validation, safe parsing, and version rules."""

import pytest

from engine import definitions, operators
from engine.errors import DefinitionInvalid, DefinitionNotFound, UnsafeXml
from engine.models import ProcessDefinition
from tests.conftest import bpmn

pytestmark = pytest.mark.usefixtures("db")


def test_first_deploy_is_version_1_and_identical_content_keeps_it() -> None:
    first = definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "designer")
    again = definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "designer")
    assert [(d.key, d.version) for d in first] == [("approval", 1)]
    assert again[0].id == first[0].id
    assert ProcessDefinition.objects(key="approval").count() == 1


def test_changed_content_gets_the_next_version_and_old_versions_stay() -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "designer")
    changed = bpmn("approval.bpmn").replace(b"Review the request", b"Review it")
    second = definitions.deploy(changed, "approval.bpmn", "designer")[0]
    assert second.version == 2
    assert definitions.find("approval").version == 2
    assert definitions.find("approval", 1).source != second.source
    assert [d.version for d in definitions.versions("approval")] == [2, 1]


def test_forms_and_due_dates_are_stored_with_the_definition() -> None:
    definition = definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "designer")[0]
    fields = [f["id"] for f in definition.forms["review"]["fields"]]
    assert fields == ["decision", "comment", "amount"]
    assert definition.user_tasks["review"]["due"] == {"kind": "dueIn", "value": "P2D"}


def test_unknown_service_operator_is_rejected() -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        definitions.deploy(bpmn("service.bpmn"), "service.bpmn", "designer")
    assert "test_multiply" in str(caught.value.errors)
    assert ProcessDefinition.objects.count() == 0


def test_known_service_operator_is_accepted() -> None:
    operators.register("test_multiply")(lambda call: 0)
    try:
        assert definitions.deploy(bpmn("service.bpmn"), "service.bpmn", "d")[0].version == 1
    finally:
        operators.unregister("test_multiply")


def test_schema_violations_name_the_element() -> None:
    broken = bpmn("approval.bpmn").replace(b'sourceRef="review"', b'sourceRef="nowhere"')
    with pytest.raises(DefinitionInvalid):
        definitions.deploy(broken, "approval.bpmn", "designer")


def test_unnamed_lane_is_rejected() -> None:
    broken = bpmn("parallel.bpmn").replace(b'name="support"', b'name=" "')
    with pytest.raises(DefinitionInvalid, match="problem"):
        definitions.deploy(broken, "parallel.bpmn", "designer")


def test_unsafe_xml_is_rejected_before_parsing() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + bpmn("approval.bpmn").split(b"?>", 1)[1]
    )
    with pytest.raises(UnsafeXml):
        definitions.deploy(xxe, "x.bpmn", "designer")
    assert ProcessDefinition.objects.count() == 0


def test_not_bpmn_is_rejected() -> None:
    with pytest.raises(DefinitionInvalid, match="definitions"):
        definitions.deploy(b"<html/>", "x.bpmn", "designer")


def test_missing_definition() -> None:
    with pytest.raises(DefinitionNotFound):
        definitions.find("nothing")


def test_shipped_diagrams_deploy() -> None:
    lines = definitions.deploy_directory(definitions.Path(__file__).parents[2] / "bpmn")
    assert any(line.startswith("incoming_call v1") for line in lines)
