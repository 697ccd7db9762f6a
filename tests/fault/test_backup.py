"""`crm backup` / `crm restore`: an archive taken while the app writes restores into an
empty database as the same system, and a waiting process goes on from where it stopped."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest
from click.testing import CliRunner
from pymongo.database import Database

from documents import demo, files
from engine import definitions, instances
from engine.actor import Actor
from tests.conftest import bpmn
from webapi import backup, database
from webapi.cli import main

CLERK = Actor("clerk", frozenset({"office"}))


@pytest.fixture()
def mongo(db_uri: str) -> Iterator[pymongo.MongoClient]:
    client: pymongo.MongoClient = pymongo.MongoClient(db_uri)
    yield client
    client.close()


def _env(db_uri: str, name: str) -> dict[str, str]:
    return {"MONGODB_URI": db_uri, "CRM_DB_NAME": name, "CRM_SECRET_KEY": "backup-secret"}


def _filled(sums: dict[str, tuple[int, str]]) -> dict[str, tuple[int, str]]:
    return {name: value for name, value in sums.items() if value[0]}


def test_backup_restores_an_identical_system_that_goes_on(
    db: None,
    db_uri: str,
    db_name: str,
    mongo: pymongo.MongoClient,
    tmp_path: Path,
    alice: Actor,
) -> None:
    list(demo.load(CLERK, "backup-secret"))
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "test")
    started = instances.start("approval", alice, {"amount": 5})
    waiting = instances.complete_task(
        started["open_tasks"][0]["guid"], alice, {"decision": "approve", "amount": 7}
    )
    assert waiting["open_tasks"][0]["bpmn_id"] == "execute"
    content = b"%PDF-1.4 contract " + bytes(range(256)) * 400
    stored = files.upload(alice, "contract.pdf", io.BytesIO(content))
    archive = tmp_path / "crm.zip"
    runner = CliRunner()

    made = runner.invoke(main, ["backup", str(archive)], env=_env(db_uri, db_name))
    assert made.exit_code == 0, made.output
    assert "written to" in made.output and "NOT" not in made.output
    with zipfile.ZipFile(archive) as z:
        assert any(n.endswith(".chunks.bson") for n in z.namelist())  # GridFS contents

    restored_name = f"{db_name}_restored"
    mongo.drop_database(restored_name)
    try:
        loaded = runner.invoke(main, ["restore", str(archive)], env=_env(db_uri, restored_name))
        assert loaded.exit_code == 0, loaded.output
        original: Database = mongo[db_name]
        copy: Database = mongo[restored_name]
        assert _filled(backup.checksums(copy)) == _filled(backup.checksums(original))
        # Indexes came along (unique ones included), not only documents.
        for name in ("process_instances", "human_tasks", "registration_cards"):
            assert copy[name].index_information() == original[name].index_information()

        again = runner.invoke(main, ["restore", str(archive)], env=_env(db_uri, restored_name))
        assert again.exit_code == 2 and "not empty" in again.output
        forced = runner.invoke(
            main, ["restore", "--force", str(archive)], env=_env(db_uri, restored_name)
        )
        assert forced.exit_code == 0, forced.output
        assert _filled(backup.checksums(copy)) == _filled(backup.checksums(original))

        # The restored system: the waiting process completes, the file reads back.
        definitions.forget_cached()
        database.connect(db_uri, restored_name)
        done = instances.complete_task(waiting["open_tasks"][0]["guid"], alice, {})
        assert done["status"] == "completed"
        assert instances.variables(done)["amount"] == 7
        version = files.version_of(files.get_file(alice, stored.id))
        assert files.read_bytes(version) == content
        # ... and the original was not touched by the restored one.
        assert mongo[db_name]["process_instances"].find_one({"_id": done["_id"]})["status"] == (
            "active"
        )
    finally:
        database.disconnect()
        definitions.forget_cached()
        mongo.drop_database(restored_name)


def test_backup_is_one_point_in_time_while_writes_go_on(
    db: None, mongo: pymongo.MongoClient, db_name: str, tmp_path: Path
) -> None:
    """A writer adds b_i then a_i; the archive reads `a` first, then `b`. From one snapshot
    `b` has at most one more document than `a`; read one after the other it runs ahead."""
    target: Database = mongo[db_name]
    target["a"].insert_many([{"i": -n, "pad": "x" * 200} for n in range(1, 3001)])
    target["b"].insert_many([{"i": -n, "pad": "x" * 200} for n in range(1, 3001)])
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        i = 0
        while not stop.is_set():
            target["b"].insert_one({"i": i})
            target["a"].insert_one({"i": i})
            i += 1
            written[0] = i

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 5:
            stop.wait(0.01)
        summary = backup.backup(target, tmp_path / "live.zip")
    finally:
        stop.set()
        thread.join(10)
    assert summary.consistent
    with zipfile.ZipFile(tmp_path / "live.zip") as z:
        counts = {
            k: v["count"] for k, v in json.loads(z.read("manifest.json"))["collections"].items()
        }
    assert written[0] > 5
    assert counts["b"] - counts["a"] in (0, 1), counts


def test_restore_refuses_what_is_not_a_backup(db: None, db_uri: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    result = CliRunner().invoke(main, ["restore", str(junk)], env=_env(db_uri, "crm_never_created"))
    assert result.exit_code == 2 and "not a crm backup" in result.output
