"""Operators used by background-work tests, in this process and in worker processes.

A test steers them through the `test_control` collection (so a Celery worker in another
process sees the same switches) and reads what they did from `test_side_effects` and
`test_calls`.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from engine import operators


def control(**switches: Any) -> None:
    """Set switches: fail=True makes the operator raise; sleep=N makes it pause after its effect."""
    get_db().test_control.replace_one({"_id": "ctl"}, {"_id": "ctl", **switches}, upsert=True)


def side_effects() -> int:
    return int(get_db().test_side_effects.count_documents({}))


def calls() -> int:
    return int(get_db().test_calls.count_documents({}))


@operators.register(
    "test_side_effect", asynchronous=True, params={"amount": operators.Param(kind="number")}
)
def side_effect(call: operators.OperatorCall) -> dict[str, Any]:
    db = get_db()
    db.test_calls.insert_one({"key": call.idempotency_key, "at": time.time()})
    switches = db.test_control.find_one({"_id": "ctl"}) or {}
    if switches.get("fail"):
        raise RuntimeError("the ledger is offline")
    # The side effect, keyed: a re-run of the same job does not repeat it.
    with contextlib.suppress(DuplicateKeyError):
        db.test_side_effects.insert_one(
            {"_id": call.idempotency_key, "amount": call.params.get("amount")}
        )
    if switches.get("sleep"):
        time.sleep(float(switches["sleep"]))
    return {"receipt": call.idempotency_key}
