"""Scripts and expressions run under RestrictedPython."""

import math
import time
from datetime import datetime

import pytest

from engine import sandbox
from engine.jobs import retryable


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


# Known escape techniques: each is refused at compile time (SandboxError) or at run time
# (a name the sandbox does not provide, a guard that raises), and none has an effect.
_REFUSED = (sandbox.SandboxError, NameError, ImportError, TypeError, NotImplementedError)

ESCAPES = {
    "subclasses walk (NOTES.md)": "().__class__.__base__.__subclasses__()",
    "mro walk": "int.mro()[1].__subclasses__()",
    "__globals__ of a function": "def f():\n    pass\ng = f.__globals__",
    "__builtins__": "b = __builtins__",
    "import statement": "import os",
    "from-import": "from os import system",
    "__import__": "m = __import__('os')",
    "open a file": "t = open('/etc/passwd').read()",
    "getattr dunder": "c = getattr(1, '__class__')",
    "getattr computed name": "c = getattr(1, '_' * 2 + 'class' + '_' * 2)",
    "type() of an object": "t = type(1)",
    "type() three-argument class": "T = type('T', (), {})",
    "generator gi_frame": "g = (i for i in [1])\nf = g.gi_frame",
    "frame walk f_back": "g = (i for i in [1])\nf = g.gi_frame.f_back.f_globals",
    "traceback frames": "try:\n    1 / 0\nexcept Exception as e:\n    t = e.__traceback__.tb_frame",
    "str.format attribute": "s = '{0.__class__}'.format(1)",
    "str.format via type": "s = str.format('{0.__class__}', 1)",
    "format_map": "s = '{x.__class__}'.format_map({'x': 1})",
    "f-string dunder": "s = f'{(1).__class__}'",
    "vars()": "v = vars()",
    "dir()": "v = dir()",
    "globals()": "v = globals()",
    "locals()": "v = locals()",
    "exec": "exec('import os')",
    "eval": "v = eval('1')",
    "compile": "c = compile('1', 'x', 'eval')",
    "setattr on math": "setattr(math, 'pi', 3)",
    "assignment on math": "math.pi = 3",
    "delattr on math": "delattr(math, 'pi')",
    "datetime internals": "m = datetime.now.__self__",
    "datetime class attribute": "datetime.max = 1",
    "module dict": "d = math.__dict__",
    "module loader": "l = math.__loader__",
    "print redirection": "print('x', file=None)",
    "private name": "_secret = 1",
}


@pytest.mark.parametrize("source", list(ESCAPES.values()), ids=list(ESCAPES))
def test_known_escapes_are_refused(source: str) -> None:
    data: dict = {}
    with pytest.raises(_REFUSED):
        sandbox.execute(source, data)
    assert math.pi == 3.141592653589793 and datetime.max.year == 9999
    assert data == {}


def test_guards_give_the_reason_they_refuse() -> None:
    with pytest.raises(sandbox.SandboxError, match="__subclasses__"):
        sandbox.evaluate("().__class__.__base__.__subclasses__()", {})
    with pytest.raises(NotImplementedError, match="format"):
        sandbox.evaluate("'{0.__class__}'.format(1)", {})


# Values built in one C-level step that the time limit cannot interrupt.
HUGE = {
    "string repeat": "'a' * 10**10",
    "list repeat": "[0] * 10**9",
    "repeat on the left": "10**9 * [0]",
    "power": "2 ** 10**9",
    "pow builtin": "pow(10, 10**8)",
    "modular pow": "pow(7, 7**3000, 10**3000)",
    "shift": "1 << 10**10",
    "bytes(n)": "bytes(10**10)",
    "padding": "'a'.ljust(10**10)",
    "zfill": "'1'.zfill(10**10)",
    "replace blow-up": "('a' * 10**5).replace('a', 'a' * 100)",
    "f-string width": "f'{1:>10000000000}'",
    "f-string computed width": "f'{1:>{w}}'",
    "%-format width": "'%10000000000d' % 1",
    "%-format star width": "'%*d' % (10**10, 1)",
}


@pytest.mark.parametrize("source", list(HUGE.values()), ids=list(HUGE))
def test_huge_values_are_refused_before_they_are_built(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxError):
        sandbox.evaluate(source, {"w": 10**10})
    assert time.monotonic() - started < 0.5


def test_doubling_in_a_loop_is_stopped() -> None:
    with pytest.raises(sandbox.SandboxMemoryLimit):
        sandbox.execute("s = 'ab'\nwhile True:\n    s = s + s", {})
    with pytest.raises(sandbox.SandboxMemoryLimit):
        sandbox.execute("s = [1]\nwhile True:\n    s *= 2", {})


def test_guarded_operators_keep_their_meaning() -> None:
    data = {"a": 7, "b": 3, "name": "Ivanov", "items": [1, 2]}
    assert sandbox.evaluate("a * b + a ** 2 - (a << 2) + a % b", data) == 21 + 49 - 28 + 1
    assert sandbox.evaluate("'%s-%03d' % (name, a)", data) == "Ivanov-007"
    assert sandbox.evaluate("f'{name!r:>10}|{a:03d}|{b:.1f}'", data) == "  'Ivanov'|007|3.0"
    assert sandbox.evaluate("items * 2 + [3]", data) == [1, 2, 1, 2, 3]
    assert sandbox.evaluate("name.ljust(8, '.') + name.replace('v', 'w')", data) == (
        "Ivanov..Iwanow"
    )
    assert sandbox.evaluate("pow(a, b, 5), 2.5 * 2, 'ab' * 3", data) == (3, 5.0, "ababab")
    assert sandbox.evaluate("bytes(3)", data) == b"\x00\x00\x00"
    script = {"n": 1, "s": "x", "acc": []}
    sandbox.execute("n *= 3\nn **= 2\nn <<= 1\ns += 'y'\nacc += [n]", script)
    assert script == {"n": 18, "s": "xy", "acc": [18]}


def test_sandbox_errors_are_not_retried_by_jobs() -> None:
    try:
        try:
            sandbox.evaluate("2 ** 10**9", {})
        except sandbox.SandboxError as exc:
            raise RuntimeError("wrapped by the engine") from exc
    except RuntimeError as wrapped:
        assert not retryable(wrapped)
    assert retryable(RuntimeError("the ledger is offline"))


def test_memory_growing_in_a_loop_is_stopped() -> None:
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxMemoryLimit):
        sandbox.execute("x = []\nwhile True:\n    x.append([0] * 100000)", {})
    with pytest.raises(sandbox.SandboxMemoryLimit):
        sandbox.evaluate("[[0] * 999999 for i in range(999)]", {})
    assert time.monotonic() - started < 2 * sandbox.TIME_LIMIT_SECONDS


def test_a_c_level_loop_calling_guards_is_stopped_by_the_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # map() runs in C; each pow() takes ~70 ms: only the deadline check on calls stops it.
    monkeypatch.setattr(sandbox, "TIME_LIMIT_SECONDS", 0.2)
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxTimeout):
        sandbox.evaluate("sum(map(pow, [7] * 100, [2**2047] * 100, [2**2048 - 159] * 100))", {})
    assert time.monotonic() - started < 1.0
