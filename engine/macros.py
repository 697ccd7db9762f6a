"""Macros: sandboxed scripts a diagram runs as the `run_macro` service task.

    <bpmn:serviceTask id="score" name="Score the client">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="run_macro" resultVariable="macro">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="script" type="str"
                value="'score = amount // 1000&#10;vip = score &gt; 10'"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>

A macro is compiled with RestrictedPython (engine/sandbox.py: guards, no imports, no
dunders, size guards) and runs in a separate worker process (engine/macro_worker.py) whose
address space is capped (`MEMORY_LIMIT_MB` above what the idle worker maps) and whose CPU
time is capped per macro; the caller also kills the worker when the wall-clock limit is
past. The macro sees the task data as variables and, when the instance has a subject whose
type can report its values, `subject` (a dict of them). Names it assigns are written back
to the task data; the result variable gets `{"changed": [...], "removed": [...]}`.

The operator is asynchronous: it runs in a background job, so a macro stopped by a limit
ends as an incident (sandbox errors are not retried) and never holds up a request.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mongoengine import DateTimeField, Document, IntField, StringField

from . import operators, sandbox, subjects
from .actor import Actor
from .errors import InvalidInput, NotFound, PermissionDenied, ProcessError
from .models import utcnow
from .sandbox import SandboxError, SandboxMemoryLimit, SandboxTimeout

TIME_LIMIT_SECONDS = 5.0  # default per macro
MAX_TIME_LIMIT_SECONDS = 30.0  # what a diagram may ask for: well inside a job's 60 s lease
MEMORY_LIMIT_MB = 256  # address space a macro may add to the idle worker
GRACE_SECONDS = 1.0  # after the limit, before the caller kills a worker that does not answer
CALLS_PER_WORKER = 200  # a worker is replaced after this many macros
IDLE_WORKERS = 2  # kept per process for the next macros
MAX_SCRIPT_CHARS = 20_000
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # task data handed to a macro, as JSON
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # task data a macro hands back, as JSON

_WORKER = Path(__file__).with_name("macro_worker.py")


class MacroError(ProcessError):
    """A macro failed: its own error, or a worker that died."""

    code = "macro_error"
    retryable = False  # the same macro on the same data fails the same way


class MacroRefused(SandboxError):
    """The sandbox refused the macro's code."""


class MacroTimeout(SandboxTimeout):
    """The macro ran past its time limit."""


class MacroMemoryLimit(SandboxMemoryLimit):
    """The macro needed more memory than its limit."""


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(_WORKER), str(MEMORY_LIMIT_MB), str(MAX_ANSWER_BYTES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,  # a Ctrl-C in a dev server's terminal is not its business
        )
        self.calls = 0
        self._buffer = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, request: bytes, limit: float) -> dict[str, Any]:
        """Send one request; kill the worker if no answer comes within `limit` and grace."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.calls += 1
        self.proc.stdin.write(request + b"\n")
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + limit + GRACE_SECONDS
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                if len(self._buffer) > MAX_ANSWER_BYTES:
                    self.kill()
                    raise MacroMemoryLimit(f"the macro left more than {MAX_ANSWER_BYTES} bytes")
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.kill()
                    raise MacroTimeout(f"stopped after {limit:g} s (time limit)")
                chunk = os.read(fd, 65536)
                if not chunk:
                    self._died()
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _died(self) -> None:
        code = self.proc.wait(5)
        if code == -signal.SIGXCPU or code == -signal.SIGKILL:
            raise MacroTimeout("stopped by its CPU time limit")
        if code in (-signal.SIGSEGV, -signal.SIGABRT):
            raise MacroMemoryLimit("the macro's worker ran out of memory")
        raise MacroError(f"the macro's worker died (exit status {code})")

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait(5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()

    def close(self) -> None:
        """Let the worker end by itself (end of input); kill it if it does not."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


_idle: list[_Worker] = []
_lock = threading.Lock()


def _forget_parents_workers() -> None:
    # A forked child (a Celery prefork worker) must not talk to its parent's workers
    # through the inherited pipes, nor wait on a lock another thread held at the fork.
    global _lock
    _idle.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parents_workers)


def _take() -> _Worker:
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive():
                return worker
            worker.kill()
    return _Worker()


def _give_back(worker: _Worker) -> None:
    if worker.alive() and worker.calls < CALLS_PER_WORKER:
        with _lock:
            if len(_idle) < IDLE_WORKERS:
                _idle.append(worker)
                return
    worker.close()


@atexit.register
def shutdown() -> None:
    """Stop the idle workers (at exit; tests call it to start afresh)."""
    with _lock:
        workers = list(_idle)
        _idle.clear()
    for worker in workers:
        worker.close()


def _call_or_kill(worker: _Worker, request: bytes, limit: float) -> dict[str, Any]:
    try:
        return worker.call(request, limit)
    except BaseException:
        worker.kill()
        raise


def run(
    script: str,
    data: dict[str, Any],
    extra: dict[str, Any] | None = None,
    time_limit: float | None = None,
) -> dict[str, Any]:
    """Run a macro on `data` in a worker; return the data it leaves (JSON values only).

    Raises MacroRefused, MacroTimeout, MacroMemoryLimit or MacroError.
    """
    if len(script) > MAX_SCRIPT_CHARS:
        raise MacroRefused(f"the macro is longer than {MAX_SCRIPT_CHARS} characters")
    limit = min(max(float(time_limit or TIME_LIMIT_SECONDS), 0.1), MAX_TIME_LIMIT_SECONDS)
    request = json.dumps(
        {"script": script, "data": data, "extra": extra or {}, "time_limit": limit},
        default=str,
    ).encode()
    if len(request) > MAX_REQUEST_BYTES:
        raise MacroRefused(f"the task data is larger than {MAX_REQUEST_BYTES} bytes")
    worker = _take()
    try:
        answer = worker.call(request, limit)
    except BrokenPipeError:
        # The idle worker had ended (it exits after running out of memory): use a new one.
        worker.kill()
        worker = _Worker()
        answer = _call_or_kill(worker, request, limit)
    except BaseException:
        worker.kill()
        raise
    if answer.get("kind") == "memory":
        worker.kill()  # it exits by itself; do not hand it the next macro meanwhile
    else:
        _give_back(worker)
    if answer["ok"]:
        result: dict[str, Any] = answer["data"]
        return result
    kind, error = answer["kind"], f"macro: {answer['error']}"
    if kind == "timeout":
        raise MacroTimeout(error)
    if kind == "memory":
        raise MacroMemoryLimit(error)
    if kind == "refused":
        raise MacroRefused(error)
    raise MacroError(error)


# ----------------------------------------------------------------------- stored macros


class StoredMacro(Document):
    """A macro kept by name, so that many diagrams share one script (`macro` parameter)."""

    name = StringField(required=True)
    script = StringField(required=True)
    description = StringField(default="")
    version = IntField(default=1)
    updated_by = StringField(required=True)
    updated_at = DateTimeField(default=utcnow)

    meta = {"collection": "macros", "indexes": [{"fields": ["name"], "unique": True}]}


ALL_MODELS = (StoredMacro,)
DESIGNERS = "designers"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class MacroNotFound(NotFound):
    code = "macro_not_found"


class MacroInvalid(InvalidInput):
    code = "macro_invalid"


class MacroNotAllowed(PermissionDenied):
    code = "macro_not_allowed"


def _may_edit(actor: Actor) -> None:
    if not (actor.is_admin or DESIGNERS in actor.groups):
        raise MacroNotAllowed("only designers and admins manage macros")


def save_macro(actor: Actor, name: str, script: str, description: str = "") -> StoredMacro:
    """Create or replace the macro `name` (designers and admins); the script must compile."""
    _may_edit(actor)
    errors: dict[str, list[str]] = {}
    if not _NAME.match(name or ""):
        errors["name"] = ["lower-case letters, digits and _, starting with a letter (≤ 64)"]
    if not isinstance(script, str) or not script.strip():
        errors["script"] = ["is required"]
    elif len(script) > MAX_SCRIPT_CHARS:
        errors["script"] = [f"longer than {MAX_SCRIPT_CHARS} characters"]
    else:
        try:
            sandbox.compile_script(script)
        except SandboxError as exc:
            errors["script"] = [str(exc)]
    if errors:
        raise MacroInvalid("the macro is invalid", errors)
    StoredMacro._get_collection().update_one(
        {"name": name},
        {
            "$set": {
                "script": script,
                "description": description,
                "updated_by": actor.username,
                "updated_at": utcnow(),
            },
            "$inc": {"version": 1},
        },
        upsert=True,
    )
    return get_macro(name)


def get_macro(name: str) -> StoredMacro:
    """The stored macro `name`, or MacroNotFound."""
    found = StoredMacro.objects(name=name).first()
    if found is None:
        raise MacroNotFound(f"no macro {name!r}")
    return found


def list_macros() -> list[StoredMacro]:
    """Every stored macro, by name."""
    return list(StoredMacro.objects.order_by("name"))


def delete_macro(actor: Actor, name: str) -> None:
    """Remove a stored macro (designers and admins); diagrams naming it then fail."""
    _may_edit(actor)
    if StoredMacro._get_collection().delete_one({"name": name}).deleted_count == 0:
        raise MacroNotFound(f"no macro {name!r}")


# ---------------------------------------------------------------------------- operator


def _subject_values(instance: operators.InstanceContext | None) -> dict[str, Any] | None:
    subject = instance.subject if instance is not None else None
    try:
        subject_type, object_id = subjects.of(subject)
        values = subject_type.values(object_id)
    except ProcessError:
        return None  # no subject, or its type cannot report values: the macro sees None
    return {**values, "type": subject_type.name, "id": object_id}


@operators.register(
    "run_macro",
    asynchronous=True,
    params={
        "script": operators.Param(kind="str", doc="the macro's Python code"),
        "macro": operators.Param(kind="str", doc="or the name of a stored macro"),
        "time_limit": operators.Param(
            kind="number",
            doc=f"seconds (default {TIME_LIMIT_SECONDS:g}, at most {MAX_TIME_LIMIT_SECONDS:g})",
        ),
    },
)
def run_macro(call: operators.OperatorCall) -> operators.WriteBack:
    """Run the `script` (or the stored `macro`) on the task data; write its changes back."""
    script, name = call.params.get("script"), call.params.get("macro")
    if (script is None) == (name is None):
        raise MacroError("run_macro needs either `script` (the code) or `macro` (a name)")
    if name is not None:
        try:
            script = get_macro(str(name)).script
        except MacroNotFound as exc:
            raise MacroError(str(exc)) from exc
    if not isinstance(script, str) or not script.strip():
        raise MacroError("run_macro's `script` must be the macro's code")
    time_limit = call.params.get("time_limit")
    if time_limit is not None and not isinstance(time_limit, int | float):
        raise MacroError("run_macro's `time_limit` must be a number of seconds")
    before = json.loads(json.dumps(call.data, default=str))
    extra = {"subject": _subject_values(call.instance)}
    after = run(script, before, extra, time_limit)
    changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
    removed = tuple(sorted(k for k in before if k not in after))
    return operators.WriteBack(
        data=changed, removed=removed, result={"changed": sorted(changed), "removed": removed}
    )
