"""Monthly action counts against the action log they cache: every period, every reader,
after edits, archiving, access changes and a write racing a rebuild."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from engine.actor import Actor
from registry import action_counts, actions, organizations
from registry.models import Action, ActionCount, StaleMonth

pytestmark = pytest.mark.usefixtures("db")

ADMIN = Actor("root", is_admin=True)
ALICE = Actor("alice", frozenset({"sales"}))
CAROL = Actor("carol", frozenset({"support"}))
DAVE = Actor("dave", frozenset({"audit"}))
KINDS = ("call_in", "call_out", "meeting", "note")
RESULTS = ("Перезвонить", "Отказ", "")
START = datetime(2026, 1, 1)


def _expected(actor: Actor, start: datetime | None, end: datetime | None) -> Counter:
    """What the log itself says, counted in Python from every stored action."""
    found: Counter = Counter()
    for a in Action.objects(archived=False):
        readable = actor.is_admin or {"*", *actor.principals} & set(a.access.read)
        if readable and (start is None or a.at >= start) and (end is None or a.at < end):
            found[(a.by, a.kind, a.result)] += 1
    return found


def _log(org: Any, at: datetime, rng: random.Random) -> Action:
    return actions.create(
        ALICE,
        {
            "organization": str(org.id),
            "kind": rng.choice(KINDS),
            "by": rng.choice(("alice", "bob")),
            "at": at,
            "result": rng.choice(RESULTS),
        },
    )


@pytest.fixture()
def logged() -> dict[str, Any]:
    rng = random.Random(7)
    public = organizations.create(ALICE, {"name": "ООО «Открытость»", "inn": "7707083893"})
    secret = organizations.create(
        ALICE,
        {
            "name": "ООО «Тайна»",
            "inn": "7736207543",
            "restricted": True,
            "readers": ["group:support"],
        },
    )
    made = [
        _log(rng.choice((public, secret)), START + timedelta(hours=rng.randrange(24 * 120)), rng)
        for _ in range(80)
    ]
    return {"public": public, "secret": secret, "actions": made, "rng": rng}


def _periods(rng: random.Random) -> list[tuple[datetime | None, datetime | None]]:
    edges = [START + timedelta(days=d) for d in (0, 13, 31, 59, 90, 100, 120, 150)]
    chosen: list[tuple[datetime | None, datetime | None]] = [
        (None, None),
        (START, None),
        (None, datetime(2026, 3, 1)),
        (datetime(2026, 2, 1), datetime(2026, 4, 1)),  # whole months only
        (datetime(2026, 2, 10), datetime(2026, 2, 20)),  # inside one month
    ]
    for _ in range(8):
        a, b = sorted(rng.sample(edges, 2))
        chosen.append((a + timedelta(hours=rng.randrange(48)), b))
    return chosen


def _check_all(rng: random.Random) -> None:
    for start, end in _periods(rng):
        for actor in (ADMIN, ALICE, CAROL, DAVE):
            assert action_counts.counts(actor, start, end) == _expected(actor, start, end), (
                actor.username,
                start,
                end,
            )


def test_counts_match_the_log_for_every_period_and_reader(logged: dict[str, Any]) -> None:
    _check_all(logged["rng"])
    # The whole months were read from counts: four months hold actions, none stale now.
    assert set(ActionCount.objects.distinct("month")) == {datetime(2026, m, 1) for m in range(1, 5)}
    assert StaleMonth.objects.count() == 0
    # One manager, and one organization (read from the log).
    bob_only = action_counts.counts(ALICE, by="bob")
    assert bob_only == Counter(
        {k: n for k, n in _expected(ALICE, None, None).items() if k[0] == "bob"}
    )
    public = logged["public"]
    assert (
        sum(action_counts.counts(ADMIN, organization=public.id).values())
        == Action.objects(organization=public.id).count()
    )


def test_edits_archiving_and_access_changes_reach_the_counts(logged: dict[str, Any]) -> None:
    rng = logged["rng"]
    _check_all(rng)  # counts exist for every month now
    moved, archived = logged["actions"][0], logged["actions"][1]
    actions.update(ALICE, moved.id, {"at": datetime(2026, 6, 15), "kind": "visit"})
    actions.archive(ALICE, archived.id)
    # The restricted organization becomes public: its actions' readers change in every month.
    organizations.update(ALICE, logged["secret"].id, {"restricted": False})
    assert StaleMonth.objects.count() >= 1
    _check_all(rng)
    assert action_counts.counts(DAVE) == _expected(ADMIN, None, None)


def test_a_write_racing_a_rebuild_keeps_the_month_stale(
    logged: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    february = datetime(2026, 2, 1)
    action_counts.refresh()
    action_counts.mark([february])
    real_next_month = action_counts.next_month
    raced: list[Action] = []

    def write_during_rebuild(month: datetime) -> datetime:
        # Runs after the rebuild read the stale mark, before it reads the log: a real write
        # lands in between, as another request would.
        if not raced:
            raced.append(_log(logged["public"], datetime(2026, 2, 3, 12), logged["rng"]))
        return real_next_month(month)

    monkeypatch.setattr(action_counts, "next_month", write_during_rebuild)
    action_counts.rebuild(february)
    monkeypatch.setattr(action_counts, "next_month", real_next_month)
    assert raced
    assert StaleMonth.objects(month=february).count() == 1  # not cleared by the old stamp
    assert action_counts.counts(ADMIN) == _expected(ADMIN, None, None)


def test_rebuild_all_after_a_bulk_import(logged: dict[str, Any]) -> None:
    ActionCount.objects.delete()
    StaleMonth.objects.delete()
    rows = [
        {**a.to_mongo().to_dict(), "_id": None, "source_key": None} for a in logged["actions"][:5]
    ]
    for row in rows:
        row.pop("_id")
        row.pop("source_key")
    Action._get_collection().insert_many(rows)  # as an import writes, bypassing the service
    assert action_counts.rebuild_all() == 4
    assert action_counts.counts(ADMIN) == _expected(ADMIN, None, None)
