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


@dataclass(frozen=True)
class OperatorCall:
    """One call of an operator from a service task."""

    name: str
    params: dict[str, Any]
    data: dict[str, Any]
    instance: InstanceContext | None = None
    task_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Operator = Callable[[OperatorCall], Any]
_REGISTRY: dict[str, Operator] = {}


def register(name: str) -> Callable[[Operator], Operator]:
    """Decorator: make `fn` callable from diagrams as service task operator `name`."""

    def wrap(fn: Operator) -> Operator:
        _REGISTRY[name] = fn
        return fn

    return wrap


def unregister(name: str) -> None:
    """Remove an operator (tests use this to clean up)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> Operator | None:
    """The operator registered under `name`, if any."""
    return _REGISTRY.get(name)


def names() -> list[str]:
    """All registered operator names, sorted."""
    return sorted(_REGISTRY)
