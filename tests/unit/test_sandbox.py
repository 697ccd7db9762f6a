"""Scripts and expressions run under RestrictedPython."""

import pytest

from engine import sandbox


def test_expression_sees_task_data() -> None:
    assert sandbox.evaluate("amount > 10 and kind == 'gold'", {"amount": 11, "kind": "gold"})


def test_script_writes_back_data_but_not_functions() -> None:
    data = {"i": 1}
    sandbox.execute("i += 1\nsquares = [n * n for n in range(3)]\ndef f(): pass", data)
    assert data == {"i": 2, "squares": [0, 1, 4]}


def test_script_can_delete_a_variable() -> None:
    data = {"tmp": 1, "keep": 2}
    sandbox.execute("del tmp", data)
    assert data == {"keep": 2}


@pytest.mark.parametrize("source", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os').system('true')",
    "open('/etc/passwd').read()",
    "getattr(1, '__class__')",
])
def test_escapes_are_refused(source: str) -> None:
    with pytest.raises((sandbox.SandboxError, NameError, AttributeError, TypeError)):
        sandbox.evaluate(source, {})


def test_import_in_script_is_refused() -> None:
    with pytest.raises((sandbox.SandboxError, ImportError)):
        sandbox.execute("import os", {})
