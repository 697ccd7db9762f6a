"""What the two procedures of correspondence share: times, timers, their instances."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from engine import clock, instances, operators
from engine.actor import Actor
from engine.errors import InstanceNotActive, InstanceNotFound, ProcessError

from . import config, repository


def naive_utc(moment: datetime) -> datetime:
    """A datetime as the database keeps it: UTC without tzinfo, milliseconds."""
    moment = clock.naive_utc(moment)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def iso(moment: datetime) -> str:
    """An ISO 8601 UTC timestamp."""
    return moment.replace(tzinfo=UTC).isoformat()


def remind_at(now: datetime, due: datetime) -> datetime:
    """When to remind of a deadline: the configured lead before it, but not before half
    of the time left has passed."""
    return max(due - config.settings().reminder_lead, now + (due - now) / 2)


def duration_until(moment: datetime | None, now: datetime) -> str:
    """An ISO 8601 duration from now until `moment` (zero once it has passed).

    The diagrams' timers wait this long: each timer is planned afresh, from the record,
    whenever its task starts (again), so a returned assignment keeps its real deadline.
    """
    if moment is None:
        return "PT0S"
    return f"PT{max(0, math.ceil((moment - now).total_seconds()))}S"


def end_instance(instance_id: ObjectId | None, actor: Actor) -> None:
    """Terminate an item's instance; one that ended already is left as it is."""
    if instance_id is None:
        return
    with contextlib.suppress(InstanceNotActive, InstanceNotFound):
        instances.terminate(instance_id, actor)


def subject_id(call: operators.OperatorCall, subject_type: str) -> ObjectId:
    """The id of the record the calling instance is about, or ProcessError."""
    subject: dict[str, Any] | None = call.instance.subject if call.instance else None
    oid = None
    if subject and subject.get("type") == subject_type:
        oid = repository.object_id(subject.get("id"))
    if oid is None:
        raise ProcessError(f"{call.name}: the instance is not about an {subject_type}")
    return oid
