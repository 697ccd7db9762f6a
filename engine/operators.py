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
Domain packages register their operators here; deploy refuses unknown names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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


Operator = Callable[[OperatorCall], Any]
_REGISTRY: dict[str, Operator] = {}
_ASYNC: set[str] = set()


class UnknownOperator(LookupError):
    """No operator is registered under this name."""


def register(name: str, asynchronous: bool = False) -> Callable[[Operator], Operator]:
    """Decorator: make `fn` callable from diagrams as service task operator `name`.

    An asynchronous operator (e-mail, rendering, calls to other systems) runs in a
    background job; the instance waits at its task meanwhile.
    """

    def wrap(fn: Operator) -> Operator:
        _REGISTRY[name] = fn
        if asynchronous:
            _ASYNC.add(name)
        else:
            _ASYNC.discard(name)
        return fn

    return wrap


def unregister(name: str) -> None:
    """Remove an operator (tests use this to clean up)."""
    _REGISTRY.pop(name, None)
    _ASYNC.discard(name)


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
