"""Demo data of sales: two pipelines and 100 deals across their stages (`crm demo`)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

from accounts.models import User
from engine.actor import Actor
from engine.errors import EngineError
from engine.models import utcnow
from registry.demo import DEMO_BATCH
from registry.models import Organization, Product

from . import campaigns, deals, pipelines, plans, segments
from .models import Deal, Pipeline

SEED = 20261214
PIPELINES = [
    {
        "key": "b2b",
        "name": "Продажи B2B",
        "stages": [
            {"key": "lead", "name": "Лид", "probability": 10},
            {"key": "qualified", "name": "Квалификация", "probability": 25},
            {"key": "offer", "name": "Коммерческое предложение", "probability": 50},
            {"key": "negotiation", "name": "Переговоры", "probability": 75},
            {"key": "won", "name": "Успешно", "kind": "won", "process_key": "contract_approval"},
            {"key": "lost", "name": "Отказ", "kind": "lost"},
        ],
    },
    {
        "key": "service",
        "name": "Сервисные договоры",
        "stages": [
            {"key": "request", "name": "Заявка", "probability": 20},
            {"key": "estimate", "name": "Смета", "probability": 60},
            {"key": "won", "name": "Заключён", "kind": "won"},
            {"key": "lost", "name": "Отказ", "kind": "lost"},
        ],
    },
]
SOURCES = ("сайт", "звонок", "выставка", "рекомендация", "рассылка")
LOST_REASONS = ("дорого", "выбрали конкурента", "нет бюджета", "проект отложен")
WON_WITH_PROCEDURE = 3  # won b2b deals start contract_approval; a few are enough for the demo


def load(manager: Actor, count: int = 100) -> Iterator[str]:
    """Create the demo pipelines and `count` deals of the demo organizations."""
    if Pipeline.objects(key="b2b").first() is not None:
        yield "sales demo exists"
        return
    orgs = list(Organization.objects(import_batch=DEMO_BATCH).order_by("id").limit(50))
    if not orgs:
        yield "sales demo skipped: no demo organizations"
        return
    admin = Actor("system", is_admin=True)
    made = [pipelines.create(admin, values) for values in PIPELINES]
    catalog = list(Product.objects(archived=False).order_by("code").limit(20))
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    won_started, failed = 0, 0
    for n in range(count):
        pipeline = made[n % 2]
        stages = pipeline.ordered()
        path = _path(rng, stages, pipeline.key == "b2b" and won_started >= WON_WITH_PROCEDURE)
        lines = [
            {
                "product": str(p.id),
                "quantity": rng.randint(1, 20),
                "discount": rng.choice([0, 5, 10]),
            }
            for p in rng.sample(catalog, min(len(catalog), rng.randint(1, 3)))
        ]
        deal = deals.create(
            manager,
            {
                "pipeline": pipeline.key,
                "organization": str(rng.choice(orgs).id),
                "title": f"Сделка № {n + 1}",
                "source": rng.choice(SOURCES),
                "lines": lines,
                "expected_close": (utcnow() + timedelta(days=rng.randint(5, 90))).date(),
            },
        )
        for key in path[1:]:
            try:
                deal = deals.move(manager, deal.id, key, lost_reason=rng.choice(LOST_REASONS))
            except EngineError:  # e.g. contract_approval not deployed: the deal stays
                failed += 1
                break
            if key == "won" and pipeline.key == "b2b":
                won_started += 1
        _backdate(rng, deal.id)
    yield (
        f"sales demo: 2 pipelines, {count} deals, {won_started} contract approvals started"
        + (f", {failed} moves refused" if failed else "")
    )
    yield _campaign(manager, rng)
    yield _plans(manager, rng)


def _plans(manager: Actor, rng: random.Random) -> str:
    """Monthly plans (random amounts) of the demo manager for the past five months and the
    next three, so plan versus fact shows both sides."""
    if not User.objects(username=manager.username, active=True).only("id").first():
        return "sales demo: no plans (the manager is not a user)"
    admin = Actor("system", is_admin=True)
    month = (utcnow().replace(day=1) - timedelta(days=160)).strftime("%Y-%m")
    for _ in range(9):
        amount = rng.randint(20, 80) * 10_000
        plans.create(admin, {"manager": manager.username, "month": month, "amount": amount})
        month = plans.next_month(month)
    made = 9
    return f"sales demo: {made} monthly plans of {manager.username}"


def _campaign(manager: Actor, rng: random.Random) -> str:
    """One finished campaign to the contacts of the demo's clients (sent now, or skipped
    without an SMTP server)."""
    segment = segments.create(
        manager,
        {"name": "Клиенты: контакты", "target": "contacts", "conditions": {"tags": ["клиент"]}},
    )
    campaign = campaigns.create(
        manager,
        {
            "name": "Осенняя рассылка",
            "segment": str(segment.id),
            "subject": "Новый каталог",
            "template": "Здравствуйте, {{ name }}!\n\nДля {{ organization }} — новый каталог.",
        },
    )
    campaigns.launch(manager, campaign.id)
    for recipient in campaigns.Recipient.objects(campaign=campaign.id).only("id"):
        campaigns.send(recipient.id)
    # A few deals came from the campaign, so the funnel per campaign has something to show.
    ids = [d.id for d in Deal.objects(stage_kind__ne="lost").only("id").order_by("id")]
    for deal_id in rng.sample(ids, min(len(ids), 8)):
        Deal.objects(id=deal_id).update(set__campaign=campaign.id, set__source="campaign")
    statuses = campaigns.statistics(manager, campaign.id)["statuses"]
    return f"sales demo: campaign «{campaign.name}» finished: {statuses}"


def _path(rng: random.Random, stages: list, no_b2b_win: bool) -> list[str]:
    """Stage keys a demo deal walks: some open stages, then perhaps won or lost."""
    open_keys = [s.key for s in stages if s.kind == "open"]
    depth = rng.randint(1, len(open_keys))
    path = open_keys[:depth]
    ending = rng.random()
    if ending < 0.2 and not no_b2b_win:
        path.append("won")
    elif ending < 0.4:
        path.append("lost")
    return path


def _backdate(rng: random.Random, deal_id: object) -> None:
    """Spread a demo deal's history over the past weeks, so time in stage means something."""
    deal = Deal.objects(id=deal_id).get()
    at = utcnow() - timedelta(days=rng.randint(20, 120))
    deal.created_at = at
    for i, entry in enumerate(deal.stage_log):
        if i:
            deal.stage_log[i - 1].left_at = at
        entry.at = at
        at += timedelta(days=rng.randint(1, 15), hours=rng.randint(0, 23))
    deal.stage_entered_at = deal.stage_log[-1].at
    if deal.closed_at is not None:
        deal.closed_at = deal.stage_log[-1].at
    deal.save()
