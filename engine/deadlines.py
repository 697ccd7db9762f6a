"""When a user task is due, as its diagram says.

On a user task, one of:
- `crm:dueIn="P2DT4H"`: an ISO 8601 duration from the moment the task is created;
- `crm:dueInWorkingDays="5"`: that many working days later (Russia's production calendar,
  `engine.workcalendar`), at the same time of day;
- `crm:dueExpression="deadline"`: an expression over the task data giving an ISO date
  (due at the end of that day, UTC), an ISO date-time, or an ISO duration.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from lxml import etree

from . import sandbox, workcalendar
from .clock import naive_utc
from .durations import parse_duration
from .errors import ProcessError
from .xml import CRM_NS

RULES = ("dueIn", "dueInWorkingDays", "dueExpression")
# A due date decades away is a typo, and datetime arithmetic overflows near year 9999.
MAX_DUE = timedelta(days=3650)


def read_rule(
    node: etree._Element | None, errors: list[str], task_id: str
) -> dict[str, str] | None:
    """The due-date rule of a user task element; problems go to `errors`."""
    if node is None:
        return None
    found = {name: node.get(f"{{{CRM_NS}}}{name}") for name in RULES}
    given = {k: v for k, v in found.items() if v}
    if len(given) > 1:
        errors.append(f"task {task_id}: give only one of crm:{', crm:'.join(given)}")
        return None
    if not given:
        return None
    kind, value = next(iter(given.items()))
    try:
        if kind == "dueIn":
            if parse_duration(value) > MAX_DUE:
                raise ValueError(f"longer than {MAX_DUE.days} days")
        elif kind == "dueInWorkingDays":
            if not 0 <= int(value) <= MAX_DUE.days:
                raise ValueError(f"must be between 0 and {MAX_DUE.days}")
        else:
            sandbox.compile_expression(value)
    except (ValueError, OverflowError, sandbox.SandboxError) as exc:
        errors.append(f"task {task_id}: crm:{kind}: {exc}")
        return None
    return {"kind": kind, "value": value}


def due_at(rule: dict[str, str] | None, now: datetime, data: dict[str, Any]) -> datetime | None:
    """The due moment (naive UTC) of a task created `now` with `data`, or None."""
    if not rule:
        return None
    kind, value = rule["kind"], rule["value"]
    if kind == "dueIn":
        return now + parse_duration(value)
    if kind == "dueInWorkingDays":
        return datetime.combine(workcalendar.add_working_days(now.date(), int(value)), now.time())
    try:
        result = sandbox.evaluate(value, data)
    except Exception as exc:  # a designer's expression: any failure is reported the same way
        raise ProcessError(f"crm:dueExpression {value!r} failed: {exc}") from exc
    return _moment(result, now, value)


def _moment(result: Any, now: datetime, expression: str) -> datetime | None:
    if result is None or result == "":
        return None
    if isinstance(result, datetime):
        return naive_utc(result)
    if isinstance(result, date):
        return datetime.combine(result, time(23, 59, 59))
    if isinstance(result, timedelta):
        return now + result
    if isinstance(result, str):
        text = result.strip()
        try:
            return (
                now + parse_duration(text)
                if text.startswith("P")
                else _moment(
                    datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text),
                    now,
                    expression,
                )
            )
        except ValueError:
            pass
    raise ProcessError(
        f"crm:dueExpression {expression!r} gave {result!r}: expected an ISO "
        "date, date-time or duration"
    )
