"""Sales pipelines and deals against the real database: stage rules, the stage log, the
won → contract_approval start, and the funnel figures against an independent count."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from accounts import service as accounts
from engine import definitions
from engine.actor import Actor
from engine.errors import DefinitionNotFound
from engine.models import ProcessDefinition, ProcessInstance, utcnow
from registry import contacts, organizations, products
from registry import demo as registry_demo
from registry import operators as _registry_operators  # noqa: F401 - subject types
from registry.errors import RegistryForbidden, RegistryInvalid, StaleObject
from registry.models import Action, Contact, Contract, Organization
from reports import sources
from sales import analytics, campaigns, deals, demo, pipelines, plans, segments
from sales.errors import DealClosed, DealNotFound
from sales.models import Deal

pytestmark = pytest.mark.usefixtures("db")

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
ADMIN = Actor("root", is_admin=True)
ALICE = Actor("alice", frozenset({"sales"}))
EVE = Actor("eve")  # no groups: sees only what is open to everyone
STAGES: list[dict[str, Any]] = [
    {"key": "lead", "name": "Lead", "probability": 10},
    {"key": "offer", "name": "Offer", "probability": 40},
    {"key": "talks", "name": "Negotiation", "probability": 70},
    {"key": "won", "name": "Won", "kind": "won", "process_key": "contract_approval"},
    {"key": "lost", "name": "Lost", "kind": "lost"},
]


@pytest.fixture()
def pipeline() -> Any:
    return pipelines.create(ADMIN, {"key": "b2b", "name": "B2B", "stages": STAGES})


@pytest.fixture()
def org() -> Any:
    return organizations.create(ALICE, {"name": "ООО «Ромашка»", "restricted": True})


def deal(pipeline: Any, org: Any, **values: Any) -> Any:
    return deals.create(
        ALICE,
        {"pipeline": "b2b", "organization": str(org.id), "title": "Поставка", **values},
    )


def test_pipeline_needs_open_won_and_lost_stages_and_an_editor() -> None:
    with pytest.raises(RegistryInvalid) as bad:
        pipelines.create(ADMIN, {"key": "x", "name": "X", "stages": STAGES[:3]})
    assert "needs a stage of kind won" in bad.value.errors["stages"]
    with pytest.raises(RegistryInvalid) as dup:
        pipelines.create(ADMIN, {"key": "x", "name": "X", "stages": [*STAGES, STAGES[0]]})
    assert "stages.5.key" in dup.value.errors
    with pytest.raises(RegistryForbidden):
        pipelines.create(ALICE, {"key": "x", "name": "X", "stages": STAGES})


def test_lines_give_the_amount_and_the_stage_the_probability(pipeline: Any, org: Any) -> None:
    widget = products.create(ADMIN, {"code": "W-1", "name": "Widget", "price": "199.99"})
    made = deal(
        pipeline,
        org,
        lines=[
            {"product": str(widget.id), "quantity": "3", "discount": "10"},
            {"product": str(widget.id), "quantity": "0.5", "price": "1000.01"},
        ],
    )
    # 3 × 199.99 × 0.9 = 539.973 → 539.97; 0.5 × 1000.01 = 500.005 → 500.01 (half up)
    assert [line.amount for line in made.lines] == [Decimal("539.97"), Decimal("500.01")]
    assert made.amount == Decimal("1039.98")
    assert (made.stage, made.probability, made.responsible) == ("lead", 10, "alice")
    with pytest.raises(RegistryInvalid) as bad:
        deal(pipeline, org, lines=[{"product": str(org.id), "quantity": "-1"}])
    assert "lines.0.product" in bad.value.errors


def test_contacts_must_belong_to_the_organization(pipeline: Any, org: Any) -> None:
    other = organizations.create(ALICE, {"name": "Other"})
    stranger = contacts.create(ALICE, {"organization": str(other.id), "name": "Stranger"})
    mine = contacts.create(ALICE, {"organization": str(org.id), "name": "Иван"})
    with pytest.raises(RegistryInvalid) as bad:
        deal(pipeline, org, contacts=[str(mine.id), str(stranger.id)])
    assert list(bad.value.errors) == ["contacts.1"]
    assert deal(pipeline, org, contacts=[str(mine.id)]).contacts == [mine.id]


def test_every_stage_change_is_logged_and_lost_needs_a_reason(pipeline: Any, org: Any) -> None:
    made = deal(pipeline, org, amount="5000")
    moved = deals.move(ALICE, made.id, "offer", expected_version=made.version)
    assert moved.probability == 40
    with pytest.raises(RegistryInvalid) as bad:
        deals.move(ALICE, made.id, "lost")
    assert "lost_reason" in bad.value.errors
    lost = deals.move(ALICE, made.id, "lost", lost_reason="too expensive")
    stored = Deal.objects(id=made.id).get()
    assert [e.stage for e in stored.stage_log] == ["lead", "offer", "lost"]
    assert all(
        e.left_at == n.at for e, n in zip(stored.stage_log, stored.stage_log[1:], strict=False)
    )
    assert stored.stage_log[-1].left_at is None
    assert (lost.stage_kind, lost.probability, lost.lost_reason) == ("lost", 0, "too expensive")
    assert stored.closed_at is not None
    # A lost deal may be reopened; the reason goes.
    reopened = deals.move(ALICE, made.id, "talks")
    assert (reopened.lost_reason, reopened.closed_at, reopened.probability) == ("", None, 70)


def test_a_stale_version_is_refused_with_the_current_one(pipeline: Any, org: Any) -> None:
    made = deal(pipeline, org, amount="100")
    deals.update(ALICE, made.id, {"amount": "200"}, expected_version=1)
    with pytest.raises(StaleObject) as stale:
        deals.move(ALICE, made.id, "offer", expected_version=1)
    assert stale.value.errors == {"current_version": 2}
    assert Deal.objects(id=made.id).get().stage == "lead"


def test_access_is_the_organizations_and_applied_in_the_query(pipeline: Any, org: Any) -> None:
    made = deal(pipeline, org, amount="100")
    open_org = organizations.create(ALICE, {"name": "Open"})
    visible = deals.create(
        ALICE, {"pipeline": "b2b", "organization": str(open_org.id), "title": "Open deal"}
    )
    with pytest.raises(DealNotFound):
        deals.get(EVE, made.id)
    assert [d.id for d in deals.find(EVE).items] == [visible.id]
    assert {d.id for d in deals.find(ALICE).items} == {made.id, visible.id}
    board = deals.board(EVE, "b2b")
    assert [len(c["deals"]) for c in board["columns"]] == [1, 0, 0, 0, 0]
    # Opening the organization to everyone opens its deals too (the copy follows).
    organizations.update(ALICE, org.id, {"restricted": False})
    assert deals.get(EVE, made.id).id == made.id


@pytest.fixture()
def approval(db: None) -> None:
    accounts.create_user("alice", "password-alice-1", ["sales"])
    for name in ("contract_approval_approvers.dmn", "contract_approval.bpmn"):
        definitions.deploy((BPMN_DIR / name).read_bytes(), name, "designer")


@pytest.mark.usefixtures("approval")
def test_won_starts_contract_approval_once_with_the_deals_contract(pipeline: Any, org: Any) -> None:
    made = deal(pipeline, org, amount="250000", title="Поставка насосов")
    won = deals.move(ALICE, made.id, "won")
    contract = Contract.objects(id=won.contract).get()
    assert (contract.organization, contract.amount, contract.subject, contract.role) == (
        org.id,
        Decimal("250000.00"),
        "Поставка насосов",
        "executor",
    )
    started = list(ProcessInstance.objects(process_key="contract_approval"))
    assert len(started) == 1
    assert started[0].subject["id"] == str(contract.id)
    assert started[0].id == won.stage_log[-1].instance_id
    # A retried start (moving to the stage it is in) starts nothing and makes no contract.
    assert deals.start_procedure(ALICE, Deal.objects(id=made.id).get()) is None
    assert deals.move(ALICE, made.id, "won").version == won.version
    assert ProcessInstance.objects(process_key="contract_approval").count() == 1
    assert Contract.objects(organization=org.id).count() == 1
    with pytest.raises(DealClosed):
        deals.move(ALICE, made.id, "lost", lost_reason="changed our mind")


@pytest.mark.usefixtures("approval")
def test_a_failed_start_is_retried_by_moving_to_the_same_stage(pipeline: Any, org: Any) -> None:
    made = deal(pipeline, org, amount="900")
    definitions_before = definitions.resolve("contract_approval")
    ProcessDefinition.objects(key="contract_approval").update(set__key="renamed")
    definitions.forget_cached()
    with pytest.raises(DefinitionNotFound):
        deals.move(ALICE, made.id, "won")
    stored = Deal.objects(id=made.id).get()
    assert stored.stage == "won" and stored.contract is not None  # the move itself stands
    ProcessDefinition.objects(key="renamed").update(set__key="contract_approval")
    definitions.forget_cached()
    deals.move(ALICE, made.id, "won")
    (instance,) = ProcessInstance.objects(process_key="contract_approval")
    assert instance.id == stored.stage_log[-1].instance_id
    assert instance.subject["id"] == str(stored.contract)
    assert Contract.objects(organization=org.id).count() == 1
    assert definitions_before.key == "contract_approval"


def test_funnel_figures_match_an_independent_count(pipeline: Any, org: Any) -> None:

    rng = random.Random(14)
    walks = [
        ["lead"],
        ["lead", "offer"],
        ["lead", "offer", "talks"],
        ["lead", "lost"],
        ["lead", "offer", "lost"],
        ["lead", "offer", "talks", "lost"],
    ]
    hidden = organizations.create(ADMIN, {"name": "Hidden", "restricted": True})
    for i in range(30):
        target = org if i % 5 else hidden
        actor = ALICE if i % 5 else ADMIN
        made = deals.create(
            actor,
            {
                "pipeline": "b2b",
                "organization": str(target.id),
                "title": f"Deal {i}",
                "amount": str(rng.randint(1, 10_000_00) / 100),
                "source": rng.choice(["web", "call"]),
            },
        )
        for stage in rng.choice(walks)[1:]:
            deals.move(actor, made.id, stage, lost_reason="price")
    # Stretch the log so times in stage differ: each entry begins a day per step earlier.
    for stored in Deal.objects():
        shift = timedelta(days=len(stored.stage_log))
        for entry in stored.stage_log:
            entry.at -= shift
            entry.left_at = entry.left_at - shift if entry.left_at else None
            shift -= timedelta(days=1)
        stored.save()
    figures = analytics.summary(ALICE, "b2b")
    mine = [d for d in Deal.objects() if d.organization == org.id]
    assert len(mine) == 24
    rows = {row["stage"]: row for row in figures["funnel"]}
    for key in ("lead", "offer", "talks", "won", "lost"):
        here = [d for d in mine if d.stage == key]
        ever = [d for d in mine if key in {e.stage for e in d.stage_log}]
        assert rows[key]["count"] == len(here), key
        assert rows[key]["amount"] == sum((d.amount for d in here), Decimal(0)), key
        assert rows[key]["reached"] == len(ever), key
        spans = [
            (e.left_at - e.at).total_seconds() / 86400
            for d in mine
            for e in d.stage_log
            if e.stage == key and e.left_at
        ]
        expected = round(Decimal(sum(spans) / len(spans)), 2) if spans else None
        assert rows[key]["average_days_in_stage"] == expected, key
    lead_reached = rows["lead"]["reached"]
    assert rows["lead"]["conversion"] == round(Decimal(rows["offer"]["reached"]) / lead_reached, 4)
    open_deals = [d for d in mine if d.stage_kind == "open"]
    forecast = sum(Decimal(d.amount_minor * d.probability) for d in open_deals) / 10000
    assert figures["forecast"] == forecast.quantize(Decimal("0.01"))
    assert figures["open"] == len(open_deals)
    assert figures["lost"] == len([d for d in mine if d.stage_kind == "lost"])
    assert figures["won"] == 0 and figures["win_rate"] == 0
    web = analytics.summary(ALICE, "b2b", source="web")
    assert sum(r["count"] for r in web["funnel"]) == len([d for d in mine if d.source == "web"])


@pytest.mark.usefixtures("approval")
def test_win_rate_average_and_cycle_time(pipeline: Any, org: Any) -> None:
    amounts = ["1000", "3000.50", "250"]
    made = [deal(pipeline, org, amount=a) for a in amounts]
    deals.move(ALICE, made[0].id, "won")
    deals.move(ALICE, made[1].id, "won")
    deals.move(ALICE, made[2].id, "lost", lost_reason="no budget")
    now = utcnow()
    for i, days in ((0, 10), (1, 20)):
        Deal.objects(id=made[i].id).update(
            set__created_at=now - timedelta(days=days), set__closed_at=now
        )
    figures = analytics.summary(ALICE, "b2b")
    assert (figures["won"], figures["lost"]) == (2, 1)
    assert figures["win_rate"] == Decimal("0.6667")
    assert figures["won_amount"] == Decimal("4000.50")
    assert figures["average_won_amount"] == Decimal("2000.25")
    assert figures["average_cycle_days"] == Decimal("15.00")
    assert figures["forecast"] == 0
    # The same figures as a built-in report (reports/sources.py).
    report = sources.run(ALICE, "deal_funnel", {"pipeline": "b2b"})
    assert report.fields["win_rate"] == Decimal("0.6667")
    by_stage = {row["stage"]: row for row in report.rows}
    assert (by_stage["won"]["count"], by_stage["won"]["amount"]) == (2, Decimal("4000.50"))
    assert by_stage["lead"]["conversion"] == Decimal("0")  # nobody reached offer
    assert report.sections[0].totals["count"] == 3


@pytest.mark.usefixtures("approval")
def test_demo_adds_two_pipelines_with_100_deals_once() -> None:
    manager = Actor("alice", frozenset({"sales"}))
    list(registry_demo.load(manager, count=10))
    lines = list(demo.load(manager))
    assert lines[-3].startswith("sales demo: 2 pipelines, 100 deals, 3 contract approvals")
    assert lines[-2].startswith("sales demo: campaign «Осенняя рассылка» finished")
    assert lines[-1] == "sales demo: 9 monthly plans of alice"
    assert plans.plan_versus_fact(manager, month_from="2000-01", month_to="2000-12")["rows"] == []
    figures = plans.plan_versus_fact(
        ADMIN,
        month_from=(utcnow() - timedelta(days=200)).strftime("%Y-%m"),
        month_to=(utcnow() + timedelta(days=300)).strftime("%Y-%m"),
    )
    assert len([r for r in figures["rows"] if r["plan"]]) == 9 and figures["fact"] > 0
    (campaign,) = campaigns.Campaign.objects()
    assert campaign.recipients > 0
    assert not campaigns.Recipient.objects(campaign=campaign.id, status="pending").count()
    assert Deal.objects.count() == 100
    for key in ("b2b", "service"):
        figures = analytics.summary(manager, key)
        in_stages = [row["count"] for row in figures["funnel"]]
        assert sum(in_stages) == 50 and all(in_stages), (key, in_stages)
        assert figures["average_cycle_days"] is not None
    assert ProcessInstance.objects(process_key="contract_approval").count() == 3
    assert list(demo.load(manager)) == ["sales demo exists"]


def test_segments_on_the_demo_match_an_independent_count() -> None:
    manager = Actor("alice", frozenset({"sales"}))
    list(registry_demo.load(manager, count=20))
    list(demo.load(manager))  # contract_approval is not deployed: won moves are refused
    orgs = list(Organization.objects(archived=False))
    region = orgs[0].legal_address.region
    wanted = {"tags": ["VIP", "клиент"], "region": region}
    expected = {
        o.id
        for o in orgs
        if {"vip", "клиент"} & {t.lower() for t in o.tags} and o.legal_address.region == region
    }
    got = segments.members(manager, "organizations", wanted)
    assert got["count"] == len(expected) and {o.id for o in got["items"]} == expected
    # Deals in a stage, contracts amount and the last action, against plain Python.
    offer = {d.organization for d in Deal.objects(stage="offer")}
    totals: dict[Any, int] = {}
    for c in Contract.objects(archived=False):
        totals[c.organization] = totals.get(c.organization, 0) + c.amount_minor
    last: dict[Any, Any] = {}
    for a in Action.objects(archived=False):
        last[a.organization] = max(last.get(a.organization, a.at), a.at)
    cut = sorted(last.values())[len(last) // 2]
    conditions = {
        "deal_pipeline": "b2b",
        "deal_stage": "offer",
        "contracts_amount_min": "100000",
        "last_action_after": cut.date().isoformat(),
    }
    saved = segments.create(
        manager, {"name": "Active B2B", "target": "organizations", "conditions": conditions}
    )
    day = datetime(cut.year, cut.month, cut.day)
    expected = {
        o.id
        for o in orgs
        if o.id in offer
        and totals.get(o.id, 0) >= 10_000_000
        and last.get(o.id, day) >= day
        and o.id in last
    }
    assert expected, "the demo should give a non-empty segment"
    assert {o.id for o in segments.evaluate(manager, saved.id)["items"]} == expected
    contacts_of = segments.members(manager, "contacts", conditions)
    assert contacts_of["count"] == Contact.objects(organization__in=list(expected)).count()
    # Access: a user outside sales does not see the restricted organizations in a segment.
    everyone = segments.members(Actor("eve"), "organizations", {})
    assert everyone["count"] == len([o for o in orgs if "*" in o.access.read])
    with pytest.raises(RegistryInvalid) as bad:
        segments.create(manager, {"name": "X", "conditions": {"colour": "red"}})
    assert "conditions.colour" in bad.value.errors


def test_funnel_per_source_and_campaign_matches_an_independent_count(org: Any) -> None:
    stages = [dict(s) for s in STAGES]
    stages[3].pop("process_key")  # winning here needs no procedure
    pipelines.create(ADMIN, {"key": "p2", "name": "P2", "stages": stages})
    made_campaigns = [
        campaigns.Campaign(name=f"Кампания {i}", segment=ObjectId(), template="x").save()
        for i in range(2)
    ]
    rng = random.Random(41)
    walks = [
        ["lead"],
        ["lead", "offer"],
        ["lead", "offer", "talks", "won"],
        ["lead", "won"],
        ["lead", "lost"],
        ["lead", "offer", "lost"],
        ["lead", "offer", "talks", "lost", "lead"],  # reopened: reaches lead twice
    ]
    hidden = organizations.create(ADMIN, {"name": "Hidden", "restricted": True})
    for i in range(40):
        actor, target = (ADMIN, hidden) if i % 7 == 0 else (ALICE, org)
        campaign = rng.choice([None, *made_campaigns])
        made = deals.create(
            actor,
            {
                "pipeline": "p2",
                "organization": str(target.id),
                "title": f"Deal {i}",
                "amount": str(rng.randint(1, 100_000) / 100),
                "source": "" if campaign else rng.choice(["web", "call", ""]),
                "campaign": str(campaign.id) if campaign else None,
            },
        )
        for stage in rng.choice(walks)[1:]:
            deals.move(actor, made.id, stage, lost_reason="price")
    mine = [d for d in Deal.objects() if d.organization == org.id]
    for by in ("source", "campaign"):
        got = {g["key"]: g for g in analytics.by_group(ALICE, "p2", by)["groups"]}
        expected_keys = {str(getattr(d, by) or "") for d in mine}
        assert set(got) == expected_keys, by
        for key, group in got.items():
            members = [d for d in mine if str(getattr(d, by) or "") == key]
            won = [d for d in members if d.stage_kind == "won"]
            lost = [d for d in members if d.stage_kind == "lost"]
            assert (group["deals"], group["won"], group["lost"]) == (
                len(members),
                len(won),
                len(lost),
            )
            assert group["won_amount"] == sum((d.amount for d in won), Decimal("0.00"))
            closed = len(won) + len(lost)
            rate = round(Decimal(len(won)) / closed, 4) if closed else None
            assert group["win_rate"] == rate
            reached = {
                s: len([d for d in members if s in {e.stage for e in d.stage_log}])
                for s in ("lead", "offer", "talks", "won", "lost")
            }
            rows = {row["stage"]: row for row in group["funnel"]}
            assert {s: rows[s]["reached"] for s in reached} == reached, (by, key)
            for here, following in (("lead", ["offer"]), ("offer", ["talks"]), ("talks", ["won"])):
                want = (
                    round(Decimal(sum(reached[f] for f in following)) / reached[here], 4)
                    if reached[here]
                    else None
                )
                assert rows[here]["conversion"] == want, (by, key, here)
            if by == "campaign" and key:
                assert group["name"] == campaigns.Campaign.objects(id=key).get().name
    # The same groups as a built-in report (reports/sources.py).
    report = sources.run(ALICE, "deal_funnel_groups", {"pipeline": "p2", "by": "campaign"})
    assert report.sections[0].totals["deals"] == len(mine)
    assert {row["name"] for row in report.rows} == {"Кампания 0", "Кампания 1", "—"}
