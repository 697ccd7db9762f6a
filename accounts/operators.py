"""Operators of the org structure; importing this module registers them.

`org_lane` puts people of the org structure into a lane, through the engine's
`lane_owners` rule (docs/engine.md, "Who gets a user task"):

    <spiffworkflow:serviceTaskOperator id="org_lane" resultVariable="approver">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="lane" type="str" value="'Head'"/>
        <spiffworkflow:parameter id="rule" type="str" value="'head_of_initiator'"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>

Rules: `head_of_initiator` (the head of the starter's department), `head_of` with `user`
(a user name), `members` with `department`, `position` with `position` (everyone holding
it, e.g. all lawyers; only in `department` when given), or the short form
`position:lawyer`. The owners are merged into `lane_owners`, so
the lane's next task goes to them; the result is the list of owners.
"""

from __future__ import annotations

from typing import Any

from engine import operators
from engine.errors import ProcessError
from engine.operators import OperatorCall, Param, WriteBack

from . import org

RULES = ("head_of_initiator", "head_of", "members", "position", "position:NAME")


@operators.register(
    "org_lane",
    params={
        "lane": Param(required=True, kind="str"),
        "rule": Param(required=True, kind="str"),
        "user": Param(kind="str"),
        "department": Param(kind="str"),
        "position": Param(kind="str"),
    },
)
def org_lane(call: OperatorCall) -> WriteBack:
    lane, rule = str(call.params["lane"]), str(call.params["rule"])
    owners = owners_by_rule(call, rule)
    if not owners:
        raise ProcessError(f"org_lane: rule {rule} names nobody for lane {lane}")
    current = call.data.get("lane_owners")
    lane_owners: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
    lane_owners[lane] = owners
    return WriteBack(data={"lane_owners": lane_owners}, result=owners)


def owners_by_rule(call: OperatorCall, rule: str) -> list[str]:
    if rule == "head_of_initiator":
        head = org.head_of(call.instance.started_by) if call.instance else None
        return [head] if head else []
    if rule == "head_of":
        head = org.head_of(str(call.params.get("user") or ""))
        return [head] if head else []
    if rule == "members":
        try:
            return org.members_of(str(call.params.get("department") or ""))
        except org.DepartmentNotFound as exc:
            raise ProcessError(f"org_lane: {exc.message}") from exc
    if rule == "position" or rule.startswith("position:"):
        position = rule.partition(":")[2] or str(call.params.get("position") or "")
        department = call.params.get("department")
        return org.people_with(position, str(department) if department else None)
    raise ProcessError(f"org_lane: rule must be one of {', '.join(RULES)}, not {rule!r}")
