"""The generic procedure operators: they act on the instance's subject, whatever its type.

`set_fields`, `set_stage`, `grant_access`, `revoke_access` look the subject's type up in
`engine.subjects` and call it, so the domain's own service (with its rules and its audit
trail) makes the change. `start_process` starts another procedure; `request_approval` and
`collect_approval` are the two halves around a multi-instance approval task. Each is
documented with a BPMN snippet in docs/operators.md.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bson import ObjectId

from . import instances, subjects
from .actor import SYSTEM, Actor
from .errors import EngineError, ProcessError
from .operators import OperatorCall, Param, register

# Procedures change objects on the system's authority; the domain records it in its audit.
PROCESS_ACTOR = Actor(SYSTEM.username, SYSTEM.groups, is_admin=True)
APPROVAL_MODES = ("all", "any", "quorum")
DECISIONS = ("approved", "rejected")


def _subject(call: OperatorCall) -> tuple[subjects.SubjectType, str]:
    return subjects.of(call.instance.subject if call.instance else None)


def _flatten(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [v for item in value for v in _flatten(item)]
    return [value]


def principals(call: OperatorCall, value: Any, what: str) -> list[str]:
    """Users and `group:NAME`s named by `value`: a name, `@key` of the task data (or of
    the subject's values), or a list of them; duplicates dropped, order kept."""
    found: list[str] = []
    subject_values: dict[str, Any] | None = None
    for entry in _flatten(value):
        if not isinstance(entry, str):
            raise ProcessError(f"{call.name}: {what} must name users or groups, not {entry!r}")
        name = entry.strip()
        if name.startswith("@"):
            key = name[1:]
            if key in call.data:
                resolved = _flatten(call.data[key])
            else:
                if subject_values is None:
                    kind, oid = _subject(call)
                    subject_values = kind.values(oid)
                resolved = _flatten(subject_values.get(key))
            if not resolved:
                raise ProcessError(f"{call.name}: {what} {name} names nobody")
            found.extend(str(r).strip() for r in resolved)
        elif name:
            found.append(name)
    found = [p for p in dict.fromkeys(found) if p]
    if not found:
        raise ProcessError(f"{call.name}: {what} names nobody")
    return found


def _level(call: OperatorCall) -> str:
    level = str(call.params.get("level") or "read")
    if level not in subjects.ACCESS_LEVELS:
        raise ProcessError(
            f"{call.name}: level must be one of {', '.join(subjects.ACCESS_LEVELS)}, not {level!r}"
        )
    return level


def _domain(call: OperatorCall, err: EngineError) -> ProcessError:
    # A refusal of the domain (a stage transition, a field error) ends as an incident
    # that says which operator met it.
    if isinstance(err, ProcessError):
        return err
    fields = getattr(err, "errors", None)
    detail = f" {fields}" if fields else ""
    return ProcessError(f"{call.name}: {err}{detail}")


@register("set_fields", params={"fields": Param(required=True, kind="dict")})
def set_fields(call: OperatorCall) -> dict[str, Any]:
    """Change fields of the subject; return its new values."""
    fields = call.params.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ProcessError("set_fields: fields must be a non-empty dict")
    kind, oid = _subject(call)
    try:
        return kind.set_fields(PROCESS_ACTOR, oid, dict(fields))
    except EngineError as err:
        raise _domain(call, err) from err


@register("set_stage", params={"stage": Param(required=True, kind="str")})
def set_stage(call: OperatorCall) -> str:
    """Move the subject to a stage of its lifecycle; return the stage."""
    stage = call.params.get("stage")
    if not isinstance(stage, str) or not stage:
        raise ProcessError("set_stage: stage must be a non-empty string")
    kind, oid = _subject(call)
    try:
        return kind.set_stage(PROCESS_ACTOR, oid, stage)
    except EngineError as err:
        raise _domain(call, err) from err


_ACCESS_PARAMS = {
    "to": Param(required=True, kind="str_or_list"),
    "level": Param(kind="str"),
}


@register("grant_access", params=_ACCESS_PARAMS)
def grant_access(call: OperatorCall) -> list[str]:
    """Let users or groups read (or change) the subject; return its new access list."""
    who, level = principals(call, call.params.get("to"), "to"), _level(call)
    kind, oid = _subject(call)
    try:
        return kind.grant_access(PROCESS_ACTOR, oid, who, level)
    except EngineError as err:
        raise _domain(call, err) from err


@register("revoke_access", params=_ACCESS_PARAMS)
def revoke_access(call: OperatorCall) -> list[str]:
    """Take read (or write) access to the subject from users or groups."""
    who, level = principals(call, call.params.get("to"), "to"), _level(call)
    kind, oid = _subject(call)
    try:
        return kind.revoke_access(PROCESS_ACTOR, oid, who, level)
    except EngineError as err:
        raise _domain(call, err) from err


def child_instance_id(call: OperatorCall, key: str) -> ObjectId:
    """The id of the instance a start_process call starts: the same on every re-run."""
    parent = call.instance.instance_id if call.instance else "-"
    step = call.idempotency_key or call.task_id
    if not step:
        raise ProcessError("start_process: the call has no task id to keep the start single")
    digest = hashlib.sha256(f"start_process:{parent}:{step}:{key}".encode()).digest()
    return ObjectId(digest[:12])


@register(
    "start_process",
    params={
        "key": Param(required=True, kind="str"),
        "variables": Param(kind="dict"),
        "subject": Param(kind="dict"),
        "by": Param(kind="str"),
    },
)
def start_process(call: OperatorCall) -> str:
    """Start another procedure (on this instance's subject unless told); return its id."""
    key = call.params.get("key")
    if not isinstance(key, str) or not key:
        raise ProcessError("start_process: key must name a deployed process")
    variables = call.params.get("variables") or {}
    if not isinstance(variables, dict):
        raise ProcessError("start_process: variables must be a dict")
    subject = call.params.get("subject")
    if subject is None and call.instance is not None:
        subject = call.instance.subject
    by = str(
        call.params.get("by")
        or (call.instance.acting_user or call.instance.started_by if call.instance else "")
        or SYSTEM.username
    )
    variables = {**variables}
    if call.instance is not None:
        variables.setdefault("parent_instance_id", call.instance.instance_id)
    try:
        doc = instances.start(
            key,
            Actor(by),
            variables,
            subject=subject,
            instance_id=child_instance_id(call, key),
        )
    except EngineError as err:
        raise _domain(call, err) from err
    return str(doc["_id"])


# ---------------------------------------------------------------------- approvals


@register(
    "request_approval",
    params={
        "approvers": Param(required=True, kind="str_or_list"),
        "mode": Param(kind="str"),
        "quorum": Param(kind="int"),
    },
)
def request_approval(call: OperatorCall) -> list[dict[str, Any]]:
    """The items of a multi-instance approval task: one per approver, each with its owners.

    `approvers`: users, `group:NAME`s, `@key`s of task data (a DMN's collected output) or
    lists of them. `mode`: `all` (every one approves; the first rejection settles it),
    `any` (the first approval settles it) or `quorum` (at least `quorum` approvals).
    """
    approvers = principals(call, call.params.get("approvers"), "approvers")
    mode = str(call.params.get("mode") or "all")
    if mode not in APPROVAL_MODES:
        raise ProcessError(f"request_approval: mode must be one of {', '.join(APPROVAL_MODES)}")
    quorum = call.params.get("quorum")
    if mode == "quorum":
        if not isinstance(quorum, int) or isinstance(quorum, bool) or quorum < 1:
            raise ProcessError("request_approval: mode quorum needs quorum, a positive integer")
        if quorum > len(approvers):
            raise ProcessError(
                f"request_approval: quorum {quorum} is more than the {len(approvers)} approvers"
            )
    else:
        quorum = len(approvers) if mode == "all" else 1
    # `settles_on`: the decision of one approver that settles the outcome at once, for
    # the task's completionCondition (`decision == approver['settles_on']`).
    settles_on = {"all": "rejected", "any": "approved"}.get(mode)
    return [
        {
            "approver": who,
            "owners": [who],
            "mode": mode,
            "quorum": quorum,
            "total": len(approvers),
            "settles_on": settles_on,
        }
        for who in approvers
    ]


def approval_outcome(approvers: list[dict[str, Any]], votes: list[dict[str, Any]]) -> str:
    """`approved` or `rejected` by the approval's mode (`pending` while it is open)."""
    if not approvers:
        raise ProcessError("collect_approval: no approvers")
    mode, quorum, total = (approvers[0].get(k) for k in ("mode", "quorum", "total"))
    approved = sum(1 for v in votes if v.get("decision") == "approved")
    rejected = sum(1 for v in votes if v.get("decision") == "rejected")
    if mode == "any":
        needed = 1
    elif mode == "quorum" and isinstance(quorum, int):
        needed = quorum
    else:
        needed = int(total or len(approvers))
    if approved >= needed:
        return "approved"
    if rejected > int(total or len(approvers)) - needed:
        return "rejected"
    return "pending"


@register(
    "collect_approval",
    params={
        "approvers": Param(required=True, kind="list"),
        "votes": Param(required=True, kind="list"),
    },
)
def collect_approval(call: OperatorCall) -> dict[str, Any]:
    """The outcome of a multi-instance approval and the approvers' comments.

    `votes` is the task's output collection: one `{approver, decision, comment}` per
    completed approval (a cancelled instance, left after the outcome was settled, gives
    none). An approval without a settled outcome counts as rejected: the rework loop gets
    the comments either way.
    """
    approvers, votes = call.params.get("approvers"), call.params.get("votes")
    if not isinstance(approvers, list) or not all(isinstance(a, dict) for a in approvers):
        raise ProcessError("collect_approval: approvers must be request_approval's result")
    if not isinstance(votes, list) or not all(isinstance(v, dict) for v in votes):
        raise ProcessError("collect_approval: votes must be a list of {approver, decision}")
    for vote in votes:
        if vote.get("decision") not in DECISIONS:
            raise ProcessError(
                f"collect_approval: decision {vote.get('decision')!r} is not approved or rejected"
            )
    outcome = approval_outcome(approvers, votes)
    return {
        "outcome": "approved" if outcome == "approved" else "rejected",
        "approved": [v.get("approver") for v in votes if v["decision"] == "approved"],
        "rejected": [v.get("approver") for v in votes if v["decision"] == "rejected"],
        "comments": [
            {
                "approver": v.get("approver"),
                "decision": v["decision"],
                "comment": str(v.get("comment") or ""),
            }
            for v in votes
            if str(v.get("comment") or "").strip()
        ],
    }


@register("load_subject", params={"fields": Param(kind="list")})
def load_subject(call: OperatorCall) -> dict[str, Any]:
    """The subject's values (all, or the listed `fields`) for gateways, DMN and forms."""
    kind, oid = _subject(call)
    values = kind.values(oid)
    fields = call.params.get("fields")
    if fields is None:
        return values
    if not isinstance(fields, list):
        raise ProcessError("load_subject: fields must be a list of names")
    return {str(f): values.get(str(f)) for f in fields}


@register("instance_info", params={})
def instance_info(call: OperatorCall) -> dict[str, Any]:
    """Who started the instance and who moves it now (for lanes and notices)."""
    if call.instance is None:
        raise ProcessError("instance_info: no instance")
    return {
        "instance_id": call.instance.instance_id,
        "process_key": call.instance.process_key,
        "initiator": call.instance.started_by,
        "acting_user": call.instance.acting_user,
    }
