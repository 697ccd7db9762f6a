"""The correspondence demo loads once and shows each rule at work."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from accounts import service as accounts
from mail import assignments, demo, mailbox, orders
from mail.models import Assignment, Message, Order, OrderComment
from tests.mail_helpers import deploy_procedures, make_user

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def test_demo_loads_once_with_nested_and_controlled_assignments() -> None:
    deploy_procedures()
    people = {
        name: make_user(name, groups)
        for name, groups in (
            ("admin", ("designers",)),
            ("manager", ("sales",)),
            ("clerk", ("office",)),
            ("support", ("support",)),
        )
    }
    lines = list(demo.load(people))
    assert len(lines) == 3
    assert list(demo.load(people)) == ["correspondence demo exists"]
    assert (
        Message.objects.count(),
        Assignment.objects.count(),
        Order.objects.count(),
        OrderComment.objects.count(),
    ) == (3, 3, 2, 2)
    offer = Assignment.objects.get(controller="clerk")
    assert offer.status == "in_progress"  # the manager delegated part of it
    # The admin issued the offer but does not see what the manager nested in it.
    assert [a["_id"] for a in assignments.list_for(people["admin"]).items] == [offer.id]
    assert len(assignments.list_for(people["manager"]).items) == 3
    assert (
        orders.tree(people["support"], str(Order.objects.get(parent_id=None).id))["rolled_progress"]
        == 20
    )
    assert mailbox.counters(people["clerk"])["by_kind"]["message"]["total"] == 1
