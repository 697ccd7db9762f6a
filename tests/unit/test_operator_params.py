"""Operator parameter specs: what deploy refuses, without a database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import operators
from engine.operators import Param, check_params


@pytest.fixture()
def spec() -> Iterator[str]:
    operators.register(
        "test_spec",
        params={"stage": Param(required=True, kind="str"), "fields": Param(kind="dict")},
    )(lambda call: None)
    yield "test_spec"
    operators.unregister("test_spec")


def test_a_valid_call_has_no_problems(spec: str) -> None:
    assert check_params(spec, {"stage": "'signed'", "fields": "{'a': amount}"}) == []
    assert check_params(spec, {"stage": "next_stage"}) == []  # an expression: checked at run


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({}, "parameter 'stage' is required"),
        ({"stage": "'x'", "colour": "1"}, "parameter 'colour' is unknown (known: fields, stage)"),
        ({"stage": "  "}, "parameter 'stage' has no value"),
        ({"stage": "().__class__"}, "parameter 'stage' does not compile"),
        ({"stage": "import os"}, "parameter 'stage' does not compile"),
        ({"stage": "3"}, "parameter 'stage' must be a str, not 3"),
        ({"stage": "'x'", "fields": "['a']"}, "parameter 'fields' must be a dict"),
    ],
)
def test_problems_name_the_parameter(spec: str, given: dict[str, str], problem: str) -> None:
    problems = check_params(spec, given)
    assert any(p.startswith(problem) for p in problems), problems


def test_without_a_spec_anything_that_compiles_passes() -> None:
    operators.register("test_free_params")(lambda call: None)
    try:
        assert operators.params_of("test_free_params") is None
        assert check_params("test_free_params", {"x": "1", "y": "a + b"}) == []
        assert check_params("test_free_params", {"x": "__import__('os')"}) != []
    finally:
        operators.unregister("test_free_params")


def test_re_registering_without_params_forgets_the_spec(spec: str) -> None:
    assert operators.params_of(spec) is not None
    operators.register(spec)(lambda call: None)
    assert operators.params_of(spec) is None
