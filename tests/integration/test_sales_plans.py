"""Sales plans per manager and month: who enters and sees them, and plan versus fact
against an independent computation over the stored deals."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from accounts import org as departments
from accounts import service as accounts
from engine.actor import Actor
from registry import organizations
from registry.errors import DuplicateObject, RegistryForbidden, RegistryInvalid
from reports import sources
from sales import deals, pipelines, plans
from sales.models import Deal

pytestmark = pytest.mark.usefixtures("db")

ADMIN = Actor("root", is_admin=True)
ALICE = Actor("alice", frozenset({"sales"}))
BOB = Actor("bob", frozenset({"sales"}))
HENRY = Actor("henry")  # heads the department alice is in; not in sales
HEAD = Actor("olga", frozenset({"sales_admins"}))
STAGES: list[dict[str, Any]] = [
    {"key": "lead", "name": "Lead", "probability": 10},
    {"key": "offer", "name": "Offer", "probability": 40},
    {"key": "won", "name": "Won", "kind": "won"},
    {"key": "lost", "name": "Lost", "kind": "lost"},
]


@pytest.fixture()
def people() -> None:
    for name in ("alice", "bob", "henry", "olga"):
        groups = ["sales"] if name in ("alice", "bob") else []
        accounts.create_user(name, None, groups, is_machine=True)
    departments.save_department("east", "East", head="henry", members=["alice"])


def test_who_enters_and_sees_plans(people: None) -> None:
    pipelines.create(ADMIN, {"key": "b2b", "name": "B2B", "stages": STAGES})
    own = plans.create(ALICE, {"month": "2026-03", "amount": "100000"})
    assert (own.manager, own.pipeline, own.amount) == ("alice", None, Decimal("100000.00"))
    with pytest.raises(DuplicateObject):
        plans.create(ALICE, {"month": "2026-03", "amount": "1"})
    per_pipeline = plans.create(ALICE, {"month": "2026-03", "pipeline": "b2b", "amount": "5"})
    assert per_pipeline.pipeline is not None
    with pytest.raises(RegistryForbidden):
        plans.create(ALICE, {"manager": "bob", "month": "2026-03", "amount": "1"})
    with pytest.raises(RegistryForbidden):
        plans.create(HENRY, {"manager": "bob", "month": "2026-03", "amount": "1"})
    with pytest.raises(RegistryForbidden):  # not in sales: plans nobody's own sales
        plans.create(HENRY, {"month": "2026-03", "amount": "1"})
    by_head = plans.create(HENRY, {"manager": "alice", "month": "2026-04", "amount": "7"})
    bobs = plans.create(HEAD, {"manager": "bob", "month": "2026-03", "amount": "9"})
    with pytest.raises(RegistryInvalid) as bad:
        plans.create(HEAD, {"manager": "nobody", "month": "2026-13", "amount": "-1"})
    assert {"manager", "month", "amount"} <= set(bad.value.errors)
    period = {"month_from": "2026-01", "month_to": "2026-12"}
    assert {p.id for p in plans.find(ALICE, **period)} == {own.id, per_pipeline.id, by_head.id}
    assert {p.id for p in plans.find(BOB, **period)} == {bobs.id}
    assert {p.id for p in plans.find(HENRY, **period)} == {own.id, per_pipeline.id, by_head.id}
    assert len(plans.find(HEAD, **period)) == 4
    with pytest.raises(plans.PlanNotFound):
        plans.get(BOB, own.id)  # not visible is not found
    with pytest.raises(plans.PlanNotFound):
        plans.delete(HENRY, bobs.id)  # not his department's
    changed = plans.update(HENRY, own.id, {"amount": "120000"}, expected_version=1)
    assert (changed.amount, changed.version) == (Decimal("120000.00"), 2)
    saved = plans.save(ALICE, "alice", "2026-03", None, "130000")
    assert saved.id == own.id and saved.amount == Decimal("130000.00")
    plans.delete(ALICE, by_head.id)
    assert not plans.SalesPlan.objects(id=by_head.id).count()


def test_plan_versus_fact_matches_an_independent_computation(people: None) -> None:
    rng = random.Random(14)
    pipelines.create(ADMIN, {"key": "b2b", "name": "B2B", "stages": STAGES})
    pipelines.create(ADMIN, {"key": "svc", "name": "Service", "stages": STAGES})
    org = organizations.create(ALICE, {"name": "ООО «План»"})
    managers = ("alice", "bob", "carol")
    for i in range(60):
        made = deals.create(
            ALICE,
            {
                "pipeline": rng.choice(("b2b", "svc")),
                "organization": str(org.id),
                "title": f"Deal {i}",
                "amount": str(rng.randint(1, 900000) / 100),
                "responsible": rng.choice(managers),
                "currency": "USD" if i % 15 == 0 else "RUB",
            },
        )
        outcome = rng.choice(("won", "won", "lost", "open"))
        if outcome != "open":
            kw = {"lost_reason": "price"} if outcome == "lost" else {}
            deals.move(ALICE, made.id, outcome, **kw)
            month = rng.choice((1, 2, 3, 12))
            year = 2025 if month == 12 else 2026
            closed = datetime(year, month, rng.randint(1, 28), rng.randint(0, 23), 59)
            Deal.objects(id=made.id).update(set__closed_at=closed)
    plans.create(ALICE, {"month": "2026-01", "amount": "50000"})
    plans.create(ALICE, {"month": "2026-02", "pipeline": "b2b", "amount": "10000"})
    plans.create(ALICE, {"month": "2026-02", "pipeline": "svc", "amount": "20000"})
    plans.create(BOB, {"month": "2026-03", "amount": "30000"})
    plans.create(BOB, {"month": "2026-03", "pipeline": "b2b", "amount": "999"})  # overall wins

    def expected(pipeline: str | None) -> dict[tuple[str, str], tuple[int, int]]:
        pipeline_id = pipelines.get(ADMIN, pipeline).id if pipeline else None
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for d in Deal.objects(stage_kind="won", currency="RUB"):
            if pipeline_id and d.pipeline != pipeline_id:
                continue
            if not datetime(2026, 1, 1) <= d.closed_at < datetime(2026, 4, 1):
                continue
            key = (d.responsible, d.closed_at.strftime("%Y-%m"))
            count, amount = out.get(key, (0, 0))
            out[key] = (count + 1, amount + d.amount_minor)
        return out

    got = plans.plan_versus_fact(ADMIN, month_from="2026-01", month_to="2026-03")
    facts = {
        (r["manager"], r["month"]): (r["won_deals"], int(r["fact"] * 100)) for r in got["rows"]
    }
    assert {k: v for k, v in facts.items() if v != (0, 0)} == expected(None)
    assert expected(None), "the random deals should win something in the period"
    by_key = {(r["manager"], r["month"]): r for r in got["rows"]}
    assert by_key[("alice", "2026-01")]["plan"] == Decimal("50000.00")
    assert by_key[("alice", "2026-02")]["plan"] == Decimal("30000.00")  # Σ per pipeline
    assert by_key[("bob", "2026-03")]["plan"] == Decimal("30000.00")  # the overall plan
    row = by_key[("alice", "2026-01")]
    assert row["percent"] == (row["fact"] * 100 / row["plan"]).quantize(Decimal("0.1"))
    assert got["fact"] == Decimal(sum(a for _, a in expected(None).values())) / 100
    one = plans.plan_versus_fact(ADMIN, month_from="2026-01", month_to="2026-03", pipeline="b2b")
    facts = {
        (r["manager"], r["month"]): (r["won_deals"], int(r["fact"] * 100)) for r in one["rows"]
    }
    assert {k: v for k, v in facts.items() if v != (0, 0)} == expected("b2b")
    assert {(r["manager"], r["month"]): r["plan"] for r in one["rows"] if r["plan"]} == {
        ("alice", "2026-02"): Decimal("10000.00"),
        ("bob", "2026-03"): Decimal("999.00"),
    }
    # Bob sees only his own row; Henry (alice's head) only alice's.
    assert {r["manager"] for r in plans.plan_versus_fact(BOB, month_from="2026-01")["rows"]} <= {
        "bob"
    }
    henry_rows = plans.plan_versus_fact(HENRY, month_from="2026-01", month_to="2026-03")["rows"]
    assert {r["manager"] for r in henry_rows} == {"alice"}
    # The same figures as a built-in report.
    report = sources.run(
        ADMIN, "sales_plan_fact", {"date_from": "2026-01-01", "date_to": "2026-03-31"}
    )
    assert report.fields["fact"] == got["fact"]
    assert report.sections[0].totals["plan"] == got["plan"]
