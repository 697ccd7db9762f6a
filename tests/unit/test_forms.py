"""Form data is checked field by field, and every message names its field."""

from lxml import etree

from engine.forms import parse_form, validate_form_data

TASK = b"""<userTask xmlns:crm="urn:bpmcrm:bpmn" id="t">
  <extensionElements><crm:form>
    <crm:field id="subject" type="string" required="true" maxLength="5"/>
    <crm:field id="count" type="integer" min="1" max="3"/>
    <crm:field id="when" type="date"/>
    <crm:field id="ok" type="boolean" required="true"/>
    <crm:field id="kind" type="enum"><crm:option value="a"/><crm:option value="b"/></crm:field>
  </crm:form></extensionElements></userTask>"""


def form() -> dict:
    errors: list[str] = []
    parsed = parse_form(etree.fromstring(TASK), errors)
    assert errors == []
    assert parsed is not None
    return parsed


def test_valid_data_passes() -> None:
    assert (
        validate_form_data(
            form(), {"subject": "Hi", "count": 2, "when": "2026-01-31", "ok": False, "kind": "a"}
        )
        == {}
    )


def test_each_bad_field_is_named() -> None:
    errors = validate_form_data(
        form(), {"subject": "too long", "count": 9, "when": "31.01", "kind": "c", "extra": 1}
    )
    assert set(errors) == {"subject", "count", "when", "ok", "kind", "extra"}
    assert errors["ok"] == ["is required"]
    assert errors["extra"] == ["unknown field"]


def test_types_are_strict() -> None:
    errors = validate_form_data(form(), {"subject": 5, "count": True, "ok": "yes"})
    assert set(errors) == {"subject", "count", "ok"}


def test_bad_form_definition_is_reported() -> None:
    errors: list[str] = []
    parse_form(
        etree.fromstring(b"""<userTask xmlns:crm="urn:bpmcrm:bpmn" id="t"><crm:form>
      <crm:field id="1bad" type="string"/><crm:field id="x" type="colour"/>
      <crm:field id="e" type="enum"/></crm:form></userTask>"""),
        errors,
    )
    assert len(errors) == 3
