"""Service-task operators: named Python functions a diagram calls as service tasks.

    <bpmn:serviceTask id="notify_manager">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="notify" resultVariable="sent">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="to" type="str" value="'manager'"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>

Parameter values are expressions evaluated in the sandbox against the task data. An
operator returns a JSON-serializable value, stored in the task data as `resultVariable`.
Domain packages register their operators here; deploy refuses unknown names. An operator
registered with a `params` spec also has its parameters checked at deploy: a missing
required one, an unknown one, an expression that does not compile in the sandbox, or a
literal of the wrong kind is refused, naming the task and the parameter.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import sandbox
from .errors import ProcessError


@dataclass(frozen=True)
class InstanceContext:
    """What an operator may know about the instance that calls it."""

    instance_id: str
    process_key: str
    started_by: str
    subject: dict[str, Any] | None = None
    # Who moves the instance now: the user completing a task (so a service task right after
    # it knows who signed off), or the starter; empty in timers and background jobs.
    acting_user: str = ""


@dataclass(frozen=True)
class OperatorCall:
    """One call of an operator from a service task."""

    name: str
    params: dict[str, Any]
    data: dict[str, Any]
    instance: InstanceContext | None = None
    task_id: str = ""
    # Set when the call runs in a background job: the same key on every re-run, so the
    # operator can make its side effect happen once.
    idempotency_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteBack:
    """An operator result that also changes the task data (what a macro returns).

    `data` is merged into the task data, the `removed` names are dropped from it, and
    `result` is stored as the task's `resultVariable`.
    """

    data: dict[str, Any]
    removed: tuple[str, ...] = ()
    result: Any = None


@dataclass(frozen=True)
class Param:
    """One parameter of an operator: whether a diagram must give it, and its kind.

    `kind` is one of "any", "str", "int", "number", "bool", "list", "dict", "str_or_list";
    deploy can only check the kind of a literal value (an expression is checked when it
    runs, by the operator).
    """

    required: bool = False
    kind: str = "any"
    doc: str = ""


_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "number": (int, float),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
    "str_or_list": (str, list, tuple),
}

Operator = Callable[[OperatorCall], Any]
_REGISTRY: dict[str, Operator] = {}
_ASYNC: set[str] = set()
_PARAMS: dict[str, dict[str, Param]] = {}


class UnknownOperator(LookupError):
    """No operator is registered under this name."""


def register(
    name: str, asynchronous: bool = False, params: Mapping[str, Param] | None = None
) -> Callable[[Operator], Operator]:
    """Decorator: make `fn` callable from diagrams as service task operator `name`.

    An asynchronous operator (e-mail, rendering, calls to other systems) runs in a
    background job; the instance waits at its task meanwhile. `params` declares the
    parameters a diagram may give (checked at deploy); without it any are accepted.
    """

    def wrap(fn: Operator) -> Operator:
        _REGISTRY[name] = fn
        if asynchronous:
            _ASYNC.add(name)
        else:
            _ASYNC.discard(name)
        if params is None:
            _PARAMS.pop(name, None)
        else:
            _PARAMS[name] = dict(params)
        return fn

    return wrap


def unregister(name: str) -> None:
    """Remove an operator (tests use this to clean up)."""
    _REGISTRY.pop(name, None)
    _ASYNC.discard(name)
    _PARAMS.pop(name, None)


def params_of(name: str) -> dict[str, Param] | None:
    """The declared parameters of operator `name` (None: undeclared, any accepted)."""
    found = _PARAMS.get(name)
    return dict(found) if found is not None else None


def _literal(expression: str) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(expression.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def check_params(name: str, given: Mapping[str, str | None]) -> list[str]:
    """Problems with the parameter expressions a diagram gives operator `name`."""
    problems = []
    spec = _PARAMS.get(name)
    for param, expression in sorted(given.items()):
        if spec is not None and param not in spec:
            known = ", ".join(sorted(spec)) or "none"
            problems.append(f"parameter {param!r} is unknown (known: {known})")
            continue
        if not (expression or "").strip():
            problems.append(f"parameter {param!r} has no value")
            continue
        try:
            sandbox.compile_expression(expression or "")
        except sandbox.SandboxError as exc:
            problems.append(f"parameter {param!r} does not compile: {exc}")
            continue
        kind = spec[param].kind if spec is not None else "any"
        is_literal, value = _literal(expression or "")
        if is_literal and kind in _KINDS and not isinstance(value, _KINDS[kind]):
            problems.append(f"parameter {param!r} must be a {kind}, not {value!r}")
    for param, declared in sorted((spec or {}).items()):
        if declared.required and param not in given:
            problems.append(f"parameter {param!r} is required")
    return problems


def is_async(name: str) -> bool:
    """Whether the operator runs in a background job."""
    return name in _ASYNC


def invoke(
    name: str,
    params: dict[str, Any],
    data: dict[str, Any],
    instance: InstanceContext | None,
    task_id: str = "",
    idempotency_key: str = "",
) -> Any:
    """Call operator `name` and return its JSON-serializable result."""
    operator = _REGISTRY.get(name)
    if operator is None:
        raise UnknownOperator(f"unknown service operator {name!r}")
    return operator(
        OperatorCall(
            name=name,
            params=params,
            data=data,
            instance=instance,
            task_id=task_id,
            idempotency_key=idempotency_key,
        )
    )


def get(name: str) -> Operator | None:
    """The operator registered under `name`, if any."""
    return _REGISTRY.get(name)


def names() -> list[str]:
    """All registered operator names, sorted."""
    return sorted(_REGISTRY)


def day_param(operator: str, value: Any) -> date | None:
    """A date parameter or task value (a date, a date-time or ISO text); empty gives None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ProcessError(f"{operator}: {value!r} is not a date") from exc
