"""What the embedded database's memory follows: its data, or the operations it serves.

The soak saw SecantusDB's resident memory grow while its data grew. This scenario
separates the two on a bare server: RSS per document stored (with and without six
secondary indexes), then RSS growth over operations that leave the data as it is
(updates, inserts deleted again, reads, explicit sessions, transactions).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pymongo

from webapi.embedded_db import OPLOG_ENTRIES

from .harness import Result, ServerCpu, fresh_database, rss_kb

INDEXES = 6
BASE_DOCS = 5000


def _mb(pid: int) -> float:
    return rss_kb(pid) / 1024


@contextmanager
def _server() -> Iterator[tuple[pymongo.MongoClient[Any], int]]:
    """A client of a fresh server, and the server's pid."""
    with fresh_database("db_memory") as uri:
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(uri)
        try:
            yield client, int(ServerCpu.pid or 0)
        finally:
            client.close()


def _document(number: int) -> dict[str, Any]:
    return {**{f"f{i}": number * (i + 1) for i in range(INDEXES)}, "pad": "p" * 150}


def _per_document(docs: int, indexes: int) -> float:
    """Bytes of RSS per stored document of ~250 bytes."""
    with _server() as (client, pid):
        collection = client.probe.docs
        for i in range(indexes):
            collection.create_index([(f"f{i}", 1), ("_id", 1)])
        collection.insert_one(_document(-1))
        before = _mb(pid)
        for start in range(0, docs, 500):
            collection.insert_many([_document(n) for n in range(start, start + 500)])
        return (_mb(pid) - before) * 2**20 / docs


def _growth(operations: int, oplog: int) -> dict[str, float]:
    """MB of RSS each kind of operation adds per `operations` once warm, data unchanged."""
    rng = random.Random(5)
    with _server() as (client, pid):
        collection = client.probe.docs
        for i in range(3):
            collection.create_index([(f"f{i}", 1), ("_id", 1)])
        collection.insert_many([{"_id": n, **_document(n)} for n in range(BASE_DOCS)])

        def update(i: int) -> None:
            collection.update_one({"_id": rng.randrange(BASE_DOCS)}, {"$set": {"f0": i}})

        def churn(i: int) -> None:
            collection.insert_one({"_id": -1 - i, **_document(i)})
            collection.delete_one({"_id": -1 - i})

        def read(i: int) -> None:
            low = 2 * (i % (BASE_DOCS - 20))  # f1 is twice the number: 20 documents
            list(collection.find({"f1": {"$gte": low, "$lt": low + 40}}).sort("f1", 1))

        def session(i: int) -> None:
            with client.start_session() as s:
                collection.update_one({"_id": i % BASE_DOCS}, {"$set": {"f0": i}}, session=s)

        def transaction(i: int) -> None:
            with client.start_session() as s, s.start_transaction():
                collection.update_one({"_id": i % BASE_DOCS}, {"$set": {"f0": i}}, session=s)

        kinds: dict[str, Callable[[int], None]] = {
            "update": update,
            "insert_then_delete": churn,
            "read": read,
            "session": session,
            "transaction": transaction,
        }
        grown: dict[str, float] = {}
        for name, operation in kinds.items():
            # Warm first: pools, caches, allocator arenas, and for writes the oplog up to
            # the entries it keeps; then the growth over two more blocks.
            warm = operations if name == "read" else oplog + operations
            for i in range(warm):
                operation(i)
            before = _mb(pid)
            for i in range(warm, warm + 2 * operations):
                operation(i)
            grown[name] = (_mb(pid) - before) / 2
        return grown


def db_memory(docs: int = 20_000, operations: int = 3000, oplog: int = OPLOG_ENTRIES) -> Result:
    """RSS per document stored, then per operation once warm (`oplog`: writes to warm with)."""
    figures: dict[str, Any] = {
        "rss_bytes_per_document_no_index": round(_per_document(docs, 0)),
        f"rss_bytes_per_document_{INDEXES}_indexes": round(_per_document(docs, INDEXES)),
        "operations_per_block": operations,
    }
    for name, mb in _growth(operations, oplog).items():
        figures[f"rss_bytes_per_{name}_when_warm"] = round(mb * 2**20 / operations)
    return Result("db_memory", figures)
