"""The service-task operators of correspondence; importing this module registers them all.

`notify` (asynchronous: runs in a background job) tells people something in-app and by
e-mail:

    <spiffworkflow:serviceTaskOperator id="notify" resultVariable="notified">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="to" type="any" value="['@issuer', 'group:office']"/>
        <spiffworkflow:parameter id="template" type="str" value="'assignment.overdue'"/>
        <spiffworkflow:parameter id="once" type="str" value="'deadline'"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>

Parameters:
- `to`: a user name, `group:NAME`, or `@role` of the instance's subject (`@issuer`,
  `@executor`, `@controller`, `@subscribers`, `@all`), or a list of them;
- `subject` and `text`: literal title and text; or `template` (see mail/catalog.py) with
  optional `values`, rendered in each user's language together with the subject's own
  values (title, due, executor...);
- `link`: a path of the site (default: the instance's subject, e.g. the assignment);
- `once`: a name that makes the notification happen at most once per instance (a timer
  re-armed on a loop, e.g. a reminder after the work was returned, does not repeat it);
  without it, once per job (the job's idempotency key).

`set_assignment_status`, `load_assignment` (mail/assignments.py) and `set_order_status`
(mail/orders.py) drive the records of the two procedures.
"""

from __future__ import annotations

from typing import Any

from engine import operators
from engine.errors import ProcessError

from . import assignments, catalog, notifications, orders

__all__ = ["assignments", "notify_operator", "orders"]


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    raise ProcessError(f"notify: `to` must be a name or a list of names, not {value!r}")


@operators.register(
    "notify",
    asynchronous=True,
    params={
        "to": operators.Param(required=True, kind="str_or_list"),
        "subject": operators.Param(kind="str"),
        "text": operators.Param(kind="str"),
        "template": operators.Param(kind="str"),
        "values": operators.Param(kind="dict"),
        "link": operators.Param(kind="str"),
        "once": operators.Param(kind="str"),
    },
)
def notify_operator(call: operators.OperatorCall) -> dict[str, Any]:
    """Notify users in-app and by e-mail (their preference decides how e-mails go)."""
    params = call.params
    subject = call.instance.subject if call.instance else None
    once = params.get("once")
    if once and call.instance is not None:
        key = f"notify:{call.instance.instance_id}:{once}"
    elif call.idempotency_key:
        key = f"notify:{call.idempotency_key}"
    else:
        raise ProcessError("notify: no idempotency key (the operator runs in a job)")
    kind = notifications.subject_kind(subject)
    template = params.get("template")
    values: dict[str, Any] = {}
    if template:
        if not catalog.has(str(template)):
            raise ProcessError(f"notify: no template {template!r}")
        if kind is not None and subject is not None:
            values.update(kind.values(str(subject["id"])))
        if isinstance(params.get("values"), dict):
            values.update(params["values"])
    elif not params.get("subject"):
        raise ProcessError("notify: give a `subject` (and `text`) or a `template`")
    link = str(params.get("link") or "")
    if not link and kind is not None and subject is not None:
        link = kind.link(str(subject["id"]))
    users = notifications.resolve(_list(params.get("to")), subject)
    notified = notifications.notify(
        key,
        users,
        template=str(template) if template else None,
        values=values,
        title=str(params.get("subject") or ""),
        text=str(params.get("text") or ""),
        link=link,
        source={"type": subject.get("type"), "id": subject.get("id")} if subject else None,
    )
    return {"notified": notified}
