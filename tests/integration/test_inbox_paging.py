"""The inbox's windowed reads give the same pages as one sorted list of all the tasks."""

import random
from datetime import timedelta

import pytest
from bson import ObjectId

from engine import queries
from engine.actor import Actor
from engine.models import NO_DUE, HumanTask, utcnow


def _insert(rng: random.Random, count: int, owners_choices: list[list[str]]) -> None:
    now = utcnow()
    docs = []
    for i in range(count):
        owners = rng.choice(owners_choices)
        kind = rng.random()
        if kind < 0.15:
            due = None
        elif kind < 0.35:
            due = now - timedelta(hours=rng.randrange(1, 500))  # overdue
        elif kind < 0.5:
            due = now + timedelta(days=3)  # many on the same moment: ties by id
        else:
            due = now + timedelta(hours=rng.randrange(1, 24 * 400))
        docs.append(
            {
                "instance_id": ObjectId(),
                "task_guid": f"t{i}",
                "bpmn_id": "work",
                "name": f"Task {i}",
                "process_key": "p",
                "status": "open" if rng.random() < 0.9 else "completed",
                "owners": owners,
                "candidates": owners,
                "due_at": due,
                "due_sort": due or NO_DUE,
                "created_at": now,
            }
        )
    HumanTask._get_collection().insert_many(docs)


def _walk(actor: Actor, size: int) -> list[str]:
    names, cursor = [], None
    while True:
        page = queries.inbox(actor, queries.TaskFilter(), size, cursor)
        names += [t["name"] for t in page.items]
        assert len(page.items) <= size
        if page.next_cursor is None:
            return names
        cursor = page.next_cursor


@pytest.mark.parametrize(("count", "size"), [(400, 7), (60, 50), (5, 3)])
def test_pages_follow_due_then_id_without_gaps_or_repeats(db: None, count: int, size: int) -> None:
    rng = random.Random(count)
    # Tasks of the user, of each of two groups, of both groups at once, and of others.
    _insert(rng, count, [["ann"], ["group:g1"], ["group:g2"], ["group:g1", "group:g2"], ["bob"]])
    actor = Actor("ann", frozenset({"g1", "g2"}))
    mine = {"ann", "group:g1", "group:g2"}
    expected = sorted(
        (
            t
            for t in HumanTask._get_collection().find({"status": "open"})
            if mine & set(t["owners"])
        ),
        key=lambda t: (t["due_sort"], t["_id"]),
    )
    assert _walk(actor, size) == [t["name"] for t in expected]


def test_only_tasks_without_a_due_date_page_by_id(db: None) -> None:
    rng = random.Random(3)
    now = utcnow()
    HumanTask._get_collection().insert_many(
        [
            {
                "task_guid": f"n{i}",
                "name": f"N{i}",
                "status": "open",
                "owners": ["ann"],
                "due_sort": NO_DUE if i % 2 else now + timedelta(days=rng.randrange(30, 90)),
            }
            for i in range(30)
        ]
    )
    names = _walk(Actor("ann"), 4)
    assert len(names) == len(set(names)) == 30
    assert names[-15:] == [f"N{i}" for i in range(1, 30, 2)]


def test_many_tasks_due_at_one_moment_page_by_id(db: None) -> None:
    due = utcnow() + timedelta(days=2)
    HumanTask._get_collection().insert_many(
        [
            {"task_guid": f"s{i}", "name": f"S{i}", "status": "open", "owners": ["ann"]}
            | {"due_at": due, "due_sort": due}
            for i in range(25)
        ]
    )
    assert _walk(Actor("ann"), 3) == [f"S{i}" for i in range(25)]
