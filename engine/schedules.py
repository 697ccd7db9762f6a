"""Processes with a timer start event: one job per planned start."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from . import jobs, runtime


def plan_starts(definition_id: ObjectId, specs: runtime.Specs, deployed_at: datetime) -> None:
    """Schedule the first start of a newly deployed process with a timer start event."""
    schedule = runtime.start_schedule(specs, deployed_at)
    if schedule is None:
        return
    payload = {
        "definition_id": str(definition_id),
        "n": 0,
        "first": schedule.first.isoformat(),
        "interval": schedule.interval.total_seconds() if schedule.interval else None,
        "repeats": schedule.repeats,
    }
    jobs.enqueue("timer_start", f"timer_start:{definition_id}:0", schedule.first, None, payload)


def next_start(payload: dict[str, Any]) -> None:
    """Schedule the start after the one `payload` describes, if the timer has one."""
    n = payload["n"] + 1
    if payload["interval"] is None or (payload["repeats"] != -1 and n >= payload["repeats"]):
        return
    due = datetime.fromisoformat(payload["first"]) + timedelta(seconds=payload["interval"] * n)
    jobs.enqueue(
        "timer_start", f"timer_start:{payload['definition_id']}:{n}", due, None, {**payload, "n": n}
    )


def instance_id_for(payload: dict[str, Any]) -> ObjectId:
    """The id of the instance of start number n: a re-run of the job starts nothing new."""
    digest = hashlib.sha256(f"{payload['definition_id']}:{payload['n']}".encode()).hexdigest()
    return ObjectId(digest[:24])
