"""Due dates of user tasks: durations, working days, expressions."""

from datetime import datetime

import pytest
from lxml import etree

from engine import deadlines
from engine.errors import ProcessError

NOW = datetime(2026, 12, 30, 10, 0)  # a Wednesday before the New Year holidays


def rule(attrs: str) -> dict | None:
    errors: list[str] = []
    found = deadlines.read_rule(
        etree.fromstring(f'<userTask xmlns:crm="urn:bpmcrm:bpmn" id="t" {attrs}/>'), errors, "t"
    )
    assert errors == []
    return found


def test_iso_duration() -> None:
    assert deadlines.due_at(rule('crm:dueIn="P2DT4H"'), NOW, {}) == datetime(2027, 1, 1, 14)


def test_working_days_skip_the_new_year_holidays() -> None:
    due = deadlines.due_at(rule('crm:dueInWorkingDays="2"'), NOW, {})
    assert due is not None and due.date() > datetime(2027, 1, 8).date()
    assert due.time() == NOW.time()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2027-01-15", datetime(2027, 1, 15, 23, 59, 59)),
        ("2027-01-15T09:30:00+03:00", datetime(2027, 1, 15, 6, 30)),
        ("PT1H", datetime(2026, 12, 30, 11, 0)),
        (None, None),
    ],
)
def test_expression_over_task_data(value: str | None, expected: datetime | None) -> None:
    assert (
        deadlines.due_at(rule('crm:dueExpression="deadline"'), NOW, {"deadline": value}) == expected
    )


def test_bad_expression_result_is_a_process_error() -> None:
    with pytest.raises(ProcessError, match="expected an ISO"):
        deadlines.due_at(rule('crm:dueExpression="deadline"'), NOW, {"deadline": "soon"})


def test_two_rules_or_bad_values_are_refused() -> None:
    errors: list[str] = []
    node = etree.fromstring(
        '<userTask xmlns:crm="urn:bpmcrm:bpmn" id="t" crm:dueIn="P1D" crm:dueInWorkingDays="2"/>'
    )
    assert deadlines.read_rule(node, errors, "t") is None and "only one" in errors[0]
    errors = []
    node = etree.fromstring('<userTask xmlns:crm="urn:bpmcrm:bpmn" id="t" crm:dueIn="soon"/>')
    deadlines.read_rule(node, errors, "t")
    assert "crm:dueIn" in errors[0]


@pytest.mark.parametrize(
    "attrs",
    ['crm:dueIn="P99999999999D"', 'crm:dueIn="P5000D"', 'crm:dueInWorkingDays="99999"'],
)
def test_absurd_due_rules_are_refused_at_deploy(attrs: str) -> None:
    errors: list[str] = []
    node = etree.fromstring(f'<userTask xmlns:crm="urn:bpmcrm:bpmn" id="t" {attrs}/>')
    assert deadlines.read_rule(node, errors, "t") is None
    assert len(errors) == 1 and errors[0].startswith("task t: crm:dueIn")
