"""The inbox's windowed reads give the same pages as one sorted list of all the tasks."""

import base64
import json
import random
from datetime import timedelta

import pytest
from bson import ObjectId
from pymongo import monitoring

from engine import queries
from engine.actor import Actor
from engine.errors import InvalidCursor
from engine.models import NO_DUE, HumanTask, utcnow


@pytest.fixture(autouse=True)
def _no_window_hints() -> None:
    # The first-page window a process remembers per actor would carry between tests.
    queries.forget_inbox_windows()


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


class _Reads(monitoring.CommandListener):
    """The finds sent and the documents their replies held, while counting."""

    def __init__(self) -> None:
        self.counting = False
        self.finds = 0
        self.documents = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if self.counting and event.command_name == "find":
            self.finds += 1
            self.documents += len(event.reply["cursor"]["firstBatch"])

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


# Registered before the `db` fixture connects: a listener reaches only later clients.
READS = _Reads()
monitoring.register(READS)


def _spread(owners: list[str], count: int, days: int) -> None:
    now = utcnow()
    rng = random.Random(days)
    HumanTask._get_collection().insert_many(
        [
            {
                "task_guid": f"e{i}",
                "name": f"E{i}",
                "status": "open",
                "owners": [rng.choice(owners)],
            }
            | {"due_sort": now + timedelta(minutes=rng.randrange(days * 24 * 60))}
            for i in range(count)
        ]
    )


def test_a_page_reads_little_more_than_it_shows(db: None) -> None:
    # 3,000 tasks over two months: reading whole weeks would fetch ~350 per page of 50.
    _spread(["ann", "group:g1", "group:g2", "bob"], 3000, 60)
    READS.counting, READS.finds, READS.documents = True, 0, 0
    try:
        shown = len(_walk_pages(Actor("ann", frozenset({"g1", "g2"})), 50, pages=10))
    finally:
        READS.counting = False
    assert shown == 500
    assert READS.documents <= 2.5 * shown, READS.documents
    # One find per principal and page, and a second round on some pages at most.
    assert READS.finds <= 3 * 10 * 1.5, READS.finds
    # The first page again, as after a reload: one window, from the span remembered.
    READS.counting, READS.finds = True, 0
    try:
        queries.inbox(Actor("ann", frozenset({"g1", "g2"})), queries.TaskFilter(), 50)
    finally:
        READS.counting = False
    assert READS.finds == 3


def test_a_short_inbox_is_read_in_one_round_after_the_first(db: None) -> None:
    _spread(["ann", "group:g1"], 12, 400)  # a year apart: many windows would find nothing
    actor = Actor("ann", frozenset({"g1"}))
    assert len(queries.inbox(actor, queries.TaskFilter(), 50).items) == 12
    READS.counting, READS.finds = True, 0
    try:
        assert len(queries.inbox(actor, queries.TaskFilter(), 50).items) == 12
    finally:
        READS.counting = False
    assert READS.finds == 2


def test_windows_grow_across_a_gap(db: None) -> None:
    now = utcnow()
    near = [now + timedelta(seconds=30 * i) for i in range(120)]  # an hour's worth
    far = [now + timedelta(days=200, hours=i) for i in range(90)]
    HumanTask._get_collection().insert_many(
        [
            {"task_guid": f"g{i}", "name": f"G{i}", "status": "open", "owners": ["ann"]}
            | {"due_sort": due}
            for i, due in enumerate(near + far)
        ]
    )
    assert _walk(Actor("ann"), 50) == [f"G{i}" for i in range(210)]


def test_a_tampered_window_in_the_cursor_is_refused(db: None) -> None:
    _spread(["ann"], 10, 5)
    page = queries.inbox(Actor("ann"), queries.TaskFilter(), 3)
    fingerprint = json.loads(base64.urlsafe_b64decode(page.next_cursor + "==="))["f"]
    for window in (-5, 0, "x", 1e15):
        raw = json.dumps({"f": fingerprint, "k": ["2030-01-01T00:00:00", str(ObjectId()), window]})
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        with pytest.raises(InvalidCursor):
            queries.inbox(Actor("ann"), queries.TaskFilter(), 3, cursor)


def _walk_pages(actor: Actor, size: int, pages: int) -> list[str]:
    names, cursor = [], None
    for _ in range(pages):
        page = queries.inbox(actor, queries.TaskFilter(), size, cursor)
        names += [t["name"] for t in page.items]
        cursor = page.next_cursor
    return names
