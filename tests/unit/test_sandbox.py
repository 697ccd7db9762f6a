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


@pytest.mark.parametrize(
    "source",
    [
        "().__class__.__base__.__subclasses__()",
        "__import__('os').system('true')",
        "open('/etc/passwd').read()",
        "getattr(1, '__class__')",
    ],
)
def test_escapes_are_refused(source: str) -> None:
    with pytest.raises((sandbox.SandboxError, NameError, AttributeError, TypeError)):
        sandbox.evaluate(source, {})


def test_import_in_script_is_refused() -> None:
    with pytest.raises((sandbox.SandboxError, ImportError)):
        sandbox.execute("import os", {})


def test_a_runaway_script_is_stopped_by_its_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "TIME_LIMIT_SECONDS", 0.2)
    with pytest.raises(sandbox.SandboxTimeout):
        sandbox.execute("while True:\n    x = 1", {})
    with pytest.raises(sandbox.SandboxTimeout):
        sandbox.evaluate("[n for n in range(900) for m in range(900) for k in range(900)]", {})


def test_the_limit_leaves_normal_scripts_alone() -> None:
    data = {"n": 0}
    sandbox.execute("for i in range(500):\n    n += i", data)
    assert data["n"] == sum(range(500))
