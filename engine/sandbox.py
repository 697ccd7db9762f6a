"""Scripts and expressions of diagrams run under RestrictedPython, never bare eval/exec.

SpiffWorkflow evaluates gateway conditions, timer expressions, service parameters and
script tasks with Python's eval/exec. We compile each with RestrictedPython's
`compile_restricted_*` and run it with guarded attribute/item access and a small set of
builtins, so `().__class__.__base__.__subclasses__()` and imports are refused.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import math
import sys
import time
from functools import lru_cache
from types import CodeType, FrameType, ModuleType
from typing import Any

from RestrictedPython import (
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)


class SandboxError(Exception):
    """A script or expression was refused by the sandbox (at compile or at run time)."""


def _inplace(op: str, left: Any, right: Any) -> Any:
    ops = {
        "+=": lambda a, b: a + b,
        "-=": lambda a, b: a - b,
        "*=": lambda a, b: a * b,
        "/=": lambda a, b: a / b,
        "//=": lambda a, b: a // b,
        "%=": lambda a, b: a % b,
        "**=": lambda a, b: a**b,
    }
    if op not in ops:
        raise SandboxError(f"operator {op} is not allowed")
    return ops[op](left, right)


_BUILTINS: dict[str, Any] = {
    **safe_builtins,
    **limited_builtins,
    **{
        name: getattr(builtins, name)
        for name in (
            "dict",
            "list",
            "set",
            "frozenset",
            "min",
            "max",
            "sum",
            "any",
            "all",
            "enumerate",
            "reversed",
            "map",
            "filter",
        )
    },
}

BASE_GLOBALS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplace,
    "math": math,
    "datetime": _dt.datetime,
    "date": _dt.date,
    "timedelta": _dt.timedelta,
    "timezone": _dt.timezone,
}


@lru_cache(maxsize=2048)
def compile_expression(source: str) -> CodeType:
    """Compile an expression under RestrictedPython, or raise SandboxError."""
    result = compile_restricted_eval(source.strip(), "<expression>")
    if result.errors or result.code is None:
        raise SandboxError("; ".join(result.errors) or "cannot compile expression")
    return result.code


@lru_cache(maxsize=512)
def compile_script(source: str) -> CodeType:
    """Compile a script under RestrictedPython, or raise SandboxError."""
    result = compile_restricted_exec(source, "<script>")
    if result.errors or result.code is None:
        raise SandboxError("; ".join(result.errors) or "cannot compile script")
    return result.code


class SandboxTimeout(SandboxError):
    """A script or expression ran longer than its time limit."""


TIME_LIMIT_SECONDS = 2.0  # per script or expression; a runaway loop must not hang a worker


def _limited(code: CodeType, scope: dict[str, Any]) -> Any:
    """Run restricted code under a wall-clock limit enforced by a line tracer.

    The tracer only sees frames of the sandboxed code (its file name), so the cost falls
    on scripts, which are short; the library's own frames run untraced.
    """
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    filename = code.co_filename

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != filename:
            return None
        if time.monotonic() > deadline:
            raise SandboxTimeout(f"stopped after {TIME_LIMIT_SECONDS:g} s (time limit)")
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return eval(code, scope)  # noqa: S307 - restricted code, also runs exec-mode code
    finally:
        sys.settrace(previous)


def evaluate(expression: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    """Evaluate an expression against task data."""
    scope = {**BASE_GLOBALS, **(extra or {}), **context}
    return _limited(compile_expression(expression), scope)


def _storable(value: Any) -> bool:
    return not (callable(value) or isinstance(value, ModuleType | type))


def execute(script: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Run a script; names it assigns (data, not functions) are written back to `context`."""
    base = {**BASE_GLOBALS, **(extra or {})}
    scope = {**base, **context}
    _limited(compile_script(script), scope)
    for name in list(context):
        if name not in scope:
            del context[name]
    for name, value in scope.items():
        if name.startswith("_") or (name in base and base[name] is value):
            continue
        if _storable(value):
            context[name] = value
