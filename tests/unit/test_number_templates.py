"""Number templates: tokens, padding, literal text and the errors a clerk sees."""

from __future__ import annotations

from datetime import date

import pytest

from documents.errors import NumberTemplateInvalid
from documents.numbering import parse_template

ON = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{seq}", "7"),
        ("{seq:04}", "0007"),
        ("{seq:4}", "0007"),
        ("{dept}-{seq:04}/{yy}", "12-0007/26"),
        ("{journal}-{seq}/{yyyy}", "ВХ-7/2026"),
        ("{case}/{seq}", "01-05/7"),
        ("{seq}-{corr}", "7-123/к"),
        ("№ {{{seq}}}", "№ {7}"),
        ("Исх. {seq:03} от {yyyy}", "Исх. 007 от 2026"),
    ],
)
def test_tokens_and_literals(source: str, expected: str) -> None:
    template = parse_template(source)
    assert template.format(7, ON, journal="ВХ", dept="12", case="01-05", corr="123/к") == expected


def test_padding_does_not_cut_long_numbers() -> None:
    assert parse_template("{seq:02}").format(12345, ON) == "12345"


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("{year}-{seq}", "unknown token {year}"),
        ("{dept}/{yy}", "exactly one {seq}"),
        ("{seq}/{seq}", "exactly one {seq}"),
        ("{seq:99}", "padding"),
        ("{seq}}", "lone brace"),
        ("{seq:x}", "unknown token {seq:x}"),
        ("", "1 to 200"),
    ],
)
def test_bad_templates_are_refused_with_a_reason(source: str, why: str) -> None:
    with pytest.raises(NumberTemplateInvalid) as refused:
        parse_template(source)
    assert any(why in message for message in refused.value.errors["number_template"])
