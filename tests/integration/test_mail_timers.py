"""The timers of the two procedures, with short durations: the reminder before a deadline,
escalation to the issuer when it passes, the control date, and no repeat after rework."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from accounts import service as accounts
from engine import instances
from engine.actor import Actor
from engine.models import utcnow
from mail import assignments, mailbox, orders
from mail.models import Notification
from tests.mail_helpers import deploy_procedures, drain, make_user, wait_for

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture()
def office() -> dict[str, Actor]:
    deploy_procedures()
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


def _told(key_prefix: str) -> dict[str, Notification]:
    """Notifications whose key starts with the prefix, by user (a string `$regex`: see
    NOTES on compiled regexes and SecantusDB)."""
    return {
        n.user: n
        for n in Notification.objects(__raw__={"key": {"$regex": "^" + re.escape(key_prefix)}})
    }


def test_reminder_then_escalation_to_the_issuer_when_the_deadline_passes(
    office: dict[str, Actor],
) -> None:
    due = utcnow() + timedelta(seconds=3)
    issued = assignments.create(office["alice"], "bob", "Send the price list", due)
    iid = issued["instance_id"]
    reminder = wait_for(lambda: _told(f"notify:{iid}:reminder"))
    assert set(reminder) == {"bob"}
    assert (
        reminder["bob"].title == f"Reminder: “Send the price list” is due {due:%Y-%m-%d %H:%M} UTC"
    )
    escalation = wait_for(lambda: _told(f"notify:{iid}:deadline"))
    assert set(escalation) == {"alice", "bob"}  # the issuer, and the executor too
    assert escalation["alice"].title == "Overdue: “Send the price list”"
    assert escalation["alice"].created_at >= due - timedelta(milliseconds=1)
    # The work is still owed: the assignment shows overdue to its people.
    listed = assignments.list_for(office["alice"], overdue=True).items
    assert [a["_id"] for a in listed] == [issued["_id"]] and listed[0]["overdue"]
    assert mailbox.counters(office["bob"])["overdue"] == 1
    assert mailbox.counters(office["carol"])["overdue"] == 0


def test_control_date_escalates_to_issuer_and_controller(office: dict[str, Actor]) -> None:
    control_due = utcnow() + timedelta(seconds=3)
    issued = assignments.create(
        office["alice"],
        "bob",
        "Audit the warehouse",
        utcnow() + timedelta(hours=1),
        controller="carol",
        control_due=control_due,
    )
    done = assignments.report(office["bob"], str(issued["_id"]), "Counted everything")
    assert done["status"] == "done" and done["report"] == "Counted everything"
    open_tasks = instances.get(issued["instance_id"])["open_tasks"]
    assert [(t["bpmn_id"], t["assignee"]) for t in open_tasks] == [("check", "carol")]
    iid = issued["instance_id"]
    escalation = wait_for(lambda: _told(f"notify:{iid}:control"))
    assert set(escalation) == {"alice", "carol"}
    assert escalation["alice"].title == "Control date passed: “Audit the warehouse”"
    assert assignments.get(office["carol"], str(issued["_id"]))["overdue"]
    accepted = assignments.review(office["carol"], str(issued["_id"]), "accepted", "Fine")
    assert accepted["status"] == "accepted" and not accepted["overdue"]
    drain()
    assert instances.get(iid)["status"] == "completed"


def test_rework_after_the_deadline_does_not_escalate_twice(office: dict[str, Actor]) -> None:
    issued = assignments.create(
        office["alice"], "bob", "Fix the typo", utcnow() + timedelta(seconds=2)
    )
    iid = issued["instance_id"]
    wait_for(lambda: len(_told(f"notify:{iid}:deadline")) == 2)
    assignments.report(office["bob"], str(issued["_id"]), "Fixed")
    returned = assignments.review(office["alice"], str(issued["_id"]), "returned", "Not all")
    assert returned["status"] == "returned"
    # The work starts again past its deadline: the timers fire at once, but each told once.
    drain()
    assert Notification.objects(user="alice", title="Overdue: “Fix the typo”").count() == 1
    assert Notification.objects(user="bob", title="Overdue: “Fix the typo”").count() == 1
    assert len(_told(f"notify:{iid}:reminder")) == 1
    assert [t["bpmn_id"] for t in instances.get(iid)["open_tasks"]] == ["execute"]


def test_order_reminder_and_overdue_reach_executors_and_subscribers(
    office: dict[str, Actor],
) -> None:
    dave = make_user("dave")
    order = orders.create(
        office["alice"],
        ["bob", "carol"],
        "Inventory of the archive",
        utcnow() + timedelta(seconds=3),
    )
    orders.subscribe(dave, str(order["_id"]))
    iid = order["instance_id"]
    assert set(wait_for(lambda: _told(f"notify:{iid}:reminder"))) == {"bob", "carol"}
    assert set(wait_for(lambda: _told(f"notify:{iid}:deadline"))) == {
        "alice",
        "bob",
        "carol",
        "dave",
    }
    assert orders.list_for(dave, overdue=True).items[0]["_id"] == order["_id"]
