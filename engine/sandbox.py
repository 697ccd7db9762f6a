"""Scripts and expressions of diagrams run under RestrictedPython, never bare eval/exec.

SpiffWorkflow evaluates gateway conditions, timer expressions, service parameters and
script tasks with Python's eval/exec. We compile each with RestrictedPython's
`compile_restricted_*` and run it with guarded attribute/item access and a small set of
builtins, so `().__class__.__base__.__subclasses__()` and imports are refused.
"""

from __future__ import annotations

import ast
import builtins
import datetime as _dt
import math
import os
import re
import sys
import time
from functools import lru_cache
from types import CodeType, FrameType, ModuleType
from typing import Any

from RestrictedPython import (
    RestrictingNodeTransformer,
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

    # Running the same code again cannot succeed: a background job fails at once.
    retryable = False


class SandboxTimeout(SandboxError):
    """A script or expression ran longer than its time limit."""


class SandboxMemoryLimit(SandboxError):
    """A script or expression tried to build a value larger than the sandbox allows."""


TIME_LIMIT_SECONDS = 2.0  # per script or expression; a runaway loop must not hang a worker
MAX_ITEMS = 1_000_000  # longest str/bytes/list/tuple one operation may build
MAX_INT_BITS = 100_000  # largest int one operation may build (about 30,000 digits)
MAX_MODPOW_BITS = 2048  # exponent and modulus of a three-argument pow() (~70 ms)
_SIZED = (str, bytes, bytearray, list, tuple)


def _too_big(what: str) -> SandboxMemoryLimit:
    return SandboxMemoryLimit(f"{what} would be too large (memory limit)")


def _check_items(count: int) -> None:
    if count > MAX_ITEMS:
        raise _too_big(f"a value of {count:,} items")


def _bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def guarded_mul(a: Any, b: Any) -> Any:
    """`a * b`, refused when the product is a huge sequence or int."""
    if isinstance(a, int) and isinstance(b, int):
        if _bits(a) + _bits(b) > MAX_INT_BITS:
            raise _too_big("an integer")
    elif isinstance(a, _SIZED) and isinstance(b, int):
        _check_items(len(a) * b)
    elif isinstance(b, _SIZED) and isinstance(a, int):
        _check_items(len(b) * a)
    return a * b


def guarded_pow(a: Any, b: Any, mod: Any = None) -> Any:
    """`a ** b` (and the builtin `pow`), refused when the result is a huge int."""
    if mod is not None:
        # Modular: the result is bounded by `mod`, but the time grows with the sizes of
        # `b` and `mod` in one C call that the time limit cannot interrupt.
        if _bits(b) > MAX_MODPOW_BITS or _bits(mod) > MAX_MODPOW_BITS:
            raise SandboxError("pow() with operands this large is not allowed")
        return pow(a, b, mod)
    big = isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1
    if big and _bits(a) * b > MAX_INT_BITS:
        raise _too_big("an integer")
    return a**b


def guarded_lshift(a: Any, b: Any) -> Any:
    """`a << b`, refused when the result is a huge int."""
    if isinstance(a, int) and isinstance(b, int) and a and _bits(a) + b > MAX_INT_BITS:
        raise _too_big("an integer")
    return a << b


def guarded_add(a: Any, b: Any) -> Any:
    """`a + b`, refused when it concatenates into a huge sequence (doubling in a loop)."""
    if isinstance(a, _SIZED) and isinstance(b, _SIZED):
        _check_items(len(a) + len(b))
    return a + b


# Width and precision of a %-conversion: "%(name)-*.*d" -> "*", "*"; "%10.3f" -> "10", "3".
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_NUMBERS = re.compile(r"\d+")


def guarded_mod(a: Any, b: Any) -> Any:
    """`a % b`; for %-formatting, refuses `*` widths and widths above the item limit."""
    if isinstance(a, str | bytes):
        text = a if isinstance(a, str) else a.decode("latin-1")
        for width, precision in _PERCENT_SPEC.findall(text):
            for n in (width, precision):
                if n == "*":
                    raise SandboxError("a '*' width in %-formatting is not allowed")
                if n and int(n) > MAX_ITEMS:
                    raise _too_big("a formatted value")
    return a % b


def guarded_format(value: Any, conversion: int, spec: str) -> str:
    """An f-string field `{value!conversion:spec}` with the width in `spec` bounded."""
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    if any(int(n) > MAX_ITEMS for n in _FORMAT_NUMBERS.findall(spec)):
        raise _too_big("a formatted value")
    return format(value, spec)


_PADDING = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})


def _guarded_padding(method: Any) -> Any:
    def padded(width: Any = 8, *args: Any) -> Any:
        if isinstance(width, int):
            _check_items(width)
        return method(width, *args)

    return padded


def _guarded_replace(text: Any, method: Any) -> Any:
    def replaced(old: Any, new: Any, *args: Any) -> Any:
        if isinstance(new, str | bytes) and len(new) > 1:
            _check_items(len(text) * len(new) + len(new))
        return method(old, new, *args)

    return replaced


def guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """RestrictedPython's safer getattr, with size checks on string padding methods."""
    value = safer_getattr(obj, name, default)
    if isinstance(obj, str | bytes | bytearray):
        if name in _PADDING:
            return _guarded_padding(value)
        if name == "replace":
            return _guarded_replace(obj, value)
    return value


def guarded_bytes(*args: Any) -> bytes:
    """`bytes(n)` allocates n bytes: bounded like any other sequence."""
    if args and isinstance(args[0], int):
        _check_items(args[0])
    return bytes(*args)


_INPLACE = {
    "+=": guarded_add,
    "-=": lambda a, b: a - b,
    "*=": guarded_mul,
    "/=": lambda a, b: a / b,
    "//=": lambda a, b: a // b,
    "%=": guarded_mod,
    "**=": guarded_pow,
    "<<=": guarded_lshift,
    ">>=": lambda a, b: a >> b,
    "&=": lambda a, b: a & b,
    "|=": lambda a, b: a | b,
    "^=": lambda a, b: a ^ b,
}


def _inplace(op: str, left: Any, right: Any) -> Any:
    fn = _INPLACE.get(op)
    if fn is None:
        raise SandboxError(f"operator {op} is not allowed")
    return fn(left, right)


_GUARDED_OPS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Add: "_add_",
    ast.Mod: "_mod_",
}


def _call(name: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    func = ast.copy_location(ast.Name(id=name, ctx=ast.Load()), where)
    return ast.copy_location(ast.Call(func=func, args=args, keywords=[]), where)


class GuardedOperators(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus size guards on operators and f-string fields."""

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        guard = _GUARDED_OPS.get(type(node.op))
        if guard is None:
            return node
        return _call(guard, [node.left, node.right], node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = self.node_contents_visit(node)
        spec = node.format_spec or ast.copy_location(ast.Constant(value=""), node)
        conversion = ast.copy_location(ast.Constant(value=node.conversion), node)
        call = _call("_format_", [node.value, conversion, spec], node)
        return ast.copy_location(ast.FormattedValue(value=call, conversion=-1), node)


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
    "pow": guarded_pow,
    "bytes": guarded_bytes,
}

BASE_GLOBALS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": guarded_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplace,
    "_mul_": guarded_mul,
    "_pow_": guarded_pow,
    "_lshift_": guarded_lshift,
    "_add_": guarded_add,
    "_mod_": guarded_mod,
    "_format_": guarded_format,
    "math": math,
    "datetime": _dt.datetime,
    "date": _dt.date,
    "timedelta": _dt.timedelta,
    "timezone": _dt.timezone,
}


@lru_cache(maxsize=2048)
def compile_expression(source: str) -> CodeType:
    """Compile an expression under RestrictedPython, or raise SandboxError."""
    result = compile_restricted_eval(source.strip(), "<expression>", policy=GuardedOperators)
    if result.errors or result.code is None:
        raise SandboxError("; ".join(result.errors) or "cannot compile expression")
    return result.code


@lru_cache(maxsize=512)
def compile_script(source: str) -> CodeType:
    """Compile a script under RestrictedPython, or raise SandboxError."""
    result = compile_restricted_exec(source, "<script>", policy=GuardedOperators)
    if result.errors or result.code is None:
        raise SandboxError("; ".join(result.errors) or "cannot compile script")
    return result.code


class _Resident:
    """The process's resident memory, read from /proc (about 1 µs); 0 where there is none."""

    def __init__(self) -> None:
        self._pid = -1
        self._fd = -1
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def __call__(self) -> int:
        if self._pid != os.getpid():  # /proc/self was resolved when opened: reopen after fork
            self._pid = os.getpid()
            try:
                self._fd = os.open("/proc/self/statm", os.O_RDONLY)
            except OSError:
                self._fd = -1
        if self._fd < 0:
            return 0
        return int(os.pread(self._fd, 128, 0).split()[1]) * self._page


_resident = _Resident()
MEMORY_LIMIT_MB = 256  # growth of resident memory while one script or expression runs
_MEMORY_CHECK_EVERY = 16  # line events; each may add at most MAX_ITEMS through the guards


def _limited(code: CodeType, scope: dict[str, Any]) -> Any:
    """Run restricted code under a wall-clock and a memory limit enforced by a tracer.

    The tracer is called for every new frame, so the deadline also stops a long C-level
    loop that calls back into Python (our guards); it traces lines only in the sandboxed
    code (its file name), so the library's own frames run untraced. Every few lines it
    compares the process's resident memory with what it was at the first check: a loop
    that keeps growing a value is stopped. That is process-wide, so a thread allocating
    as much at the same time would count too; macros have a hard limit of their own.
    """
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    filename = code.co_filename
    lines = 0
    baseline = 0
    allowance = MEMORY_LIMIT_MB * 1024 * 1024

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines, baseline
        if time.monotonic() > deadline:
            raise SandboxTimeout(f"stopped after {TIME_LIMIT_SECONDS:g} s (time limit)")
        if frame.f_code.co_filename != filename:
            return None
        if event == "line":
            lines += 1
            if lines % _MEMORY_CHECK_EVERY == 0:
                # The baseline is taken at the first check, so that the many expressions
                # of a line or two pay nothing; what came before it is bounded by the guards.
                if lines == _MEMORY_CHECK_EVERY:
                    baseline = _resident()
                elif _resident() - baseline > allowance:
                    raise SandboxMemoryLimit(f"used more than {MEMORY_LIMIT_MB} MB (memory limit)")
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
