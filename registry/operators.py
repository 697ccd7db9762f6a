"""Service-task operators of the directories, callable from BPMN diagrams.

`log_action` records an Action on the organization a process is about:

    <spiffworkflow:serviceTaskOperator id="log_action" resultVariable="action_id">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="kind" type="str" value="'call_in'"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>

A parameter left out is read from the task data of the same name (`subject`, `content`,
`result`, `follow_up_on`). The organization is the instance's subject (an organization, or
a contact or contract of one), or the `organization_id` parameter. The action is logged by
the `by` parameter, else by whoever started the instance. Repeating the call (a retried
step) logs nothing new.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engine import operators
from engine.actor import SYSTEM, Actor
from engine.errors import ProcessError

from . import actions
from . import subjects as _subjects  # noqa: F401 - registers organization, contract
from .models import Action, Contact, Contract

LOG_ACTION = "log_action"
_TEXT_PARAMS = ("kind", "subject", "content", "result")


def _organization_of(call: operators.OperatorCall) -> str:
    explicit = call.params.get("organization_id")
    if explicit:
        return str(explicit)
    subject = call.instance.subject if call.instance else None
    if not subject:
        raise ProcessError("log_action: the process has no subject and no organization_id")
    kind, oid = subject.get("type"), subject.get("id")
    if kind == "organization":
        return str(oid)
    model = {"contact": Contact, "contract": Contract}.get(str(kind))
    linked = model.objects(id=oid).only("organization").first() if model else None
    if linked is None:
        raise ProcessError(f"log_action: cannot find the organization of subject {kind} {oid}")
    return str(linked.organization)


def _source_key(call: operators.OperatorCall) -> str:
    instance = call.instance.instance_id if call.instance else "-"
    step = (
        call.task_id
        or hashlib.sha256(
            json.dumps(call.params, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
    )
    return f"{instance}:{step}"


@operators.register(
    LOG_ACTION,
    params={
        **{name: operators.Param(kind="str") for name in _TEXT_PARAMS},
        "follow_up_on": operators.Param(),
        "by": operators.Param(kind="str"),
        "organization_id": operators.Param(kind="str"),
        "contact_id": operators.Param(kind="str"),
    },
)
def log_action(call: operators.OperatorCall) -> str:
    """Log an Action from a procedure; return its id."""
    by = str(call.params.get("by") or (call.instance.started_by if call.instance else "system"))

    def value(key: str) -> Any:
        return call.params.get(key) if call.params.get(key) is not None else call.data.get(key)

    values: dict[str, Any] = {k: value(k) for k in _TEXT_PARAMS}
    values["kind"] = values["kind"] or "call_in"
    values.update(
        organization=_organization_of(call),
        by=by,
        follow_up_on=operators.day_param(LOG_ACTION, value("follow_up_on")),
    )
    if call.params.get("contact_id"):
        values["contact"] = call.params["contact_id"]
    # The procedure acts on the system's authority; `by` says who talked to the caller.
    actor = Actor(SYSTEM.username, SYSTEM.groups, is_admin=True)
    action: Action = actions.create(
        actor,
        values,
        instance_id=call.instance.instance_id if call.instance else None,
        source_key=_source_key(call),
    )
    return str(action.id)
