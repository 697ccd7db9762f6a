"""`crm backup` / `crm restore`: every collection (GridFS files included) in one zip file.

The archive holds `manifest.json` (format, database, time, per collection: document
count, SHA-256 of its BSON and its index specs) and `collections/<name>.bson`, the
documents in `_id` order, concatenated as `mongodump` writes them. GridFS contents live in
ordinary collections (`<bucket>.files`, `<bucket>.chunks`), so they travel the same way.

Consistency: all collections are read inside one transaction with read concern
"snapshot", so the archive is one point in time even while the app writes. That works on
MongoDB replica sets (within `transactionLifetimeLimitSeconds`, 60 s by default: a bigger
database needs a `mongodump --oplog`) and on SecantusDB, whose plain snapshot *sessions*
are accepted but NOT isolated (seen with 0.7.0b3) — hence the
transaction. A standalone mongod has no transactions: the backup falls back to
collection-by-collection reads and says so in the manifest (`consistent: false`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
from bson import json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import OperationFailure
from pymongo.read_concern import ReadConcern

from engine.errors import Conflict, InvalidInput

FORMAT = "crm-backup/1"
# Documents travel as their raw BSON: nothing is decoded, so nothing can change on the way.
RAW = CodecOptions(document_class=RawBSONDocument)
BATCH = 500


class DatabaseNotEmpty(Conflict):
    """Restore refuses to mix an archive into existing data."""


class BadArchive(InvalidInput):
    """The file is not a backup this version can restore."""


@dataclass(frozen=True)
class Summary:
    collections: int
    documents: int
    consistent: bool


def _collections(db: Database[Any]) -> list[str]:
    return sorted(n for n in db.list_collection_names() if not n.startswith("system."))


def _dump(db: Database[Any], name: str, session: ClientSession | None, out: Any) -> tuple[int, str]:
    """Write one collection's documents in `_id` order; return (count, sha256)."""
    digest = hashlib.sha256()
    count = 0
    for doc in db[name].with_options(codec_options=RAW).find({}, session=session).sort("_id", 1):
        raw = doc.raw
        digest.update(raw)
        out.write(raw)
        count += 1
    return count, digest.hexdigest()


def checksums(db: Database[Any]) -> dict[str, tuple[int, str]]:
    """(count, sha256 of the BSON in `_id` order) of every collection: equal on two
    databases means equal contents."""

    class _Null:
        def write(self, _: bytes) -> None:
            pass

    return {name: _dump(db, name, None, _Null()) for name in _collections(db)}


@contextlib.contextmanager
def _snapshot(db: Database[Any]) -> Iterator[ClientSession | None]:
    """A session in a snapshot transaction, or None where the server has no transactions."""
    with db.client.start_session() as session:
        try:
            session.start_transaction(read_concern=ReadConcern("snapshot"))
            # The transaction starts on its first read: probe whether the server has them.
            db["crm_backup_probe"].find_one({}, session=session)
        except OperationFailure:
            yield None
            return
        try:
            yield session
        finally:
            # Read-only: aborting releases the snapshot without writing anything.
            session.abort_transaction()


def backup(db: Database[Any], path: Path) -> Summary:
    """Write the archive of `db` to `path` (atomically: a temporary file, then a rename)."""
    path = Path(path)
    names = _collections(db)  # listCollections is not allowed inside a transaction
    indexes = {
        name: [
            # Keys as pairs: order matters (SecantusDB compares options in order too).
            {
                **{k: v for k, v in spec.items() if k not in ("v", "ns", "key")},
                "key": [[field, order] for field, order in spec["key"].items()],
            }
            for spec in db[name].list_indexes()
            if spec["name"] != "_id_"
        ]
        for name in names
    }
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "database": db.name,
        "created_at": datetime.now(UTC).isoformat(),
        "collections": {},
    }
    fd, tmp = tempfile.mkstemp(prefix=".backup-", dir=path.parent or Path("."))
    os.close(fd)
    total = 0
    try:
        with (
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive,
            _snapshot(db) as session,
        ):
            manifest["consistent"] = session is not None
            for name in names:
                with archive.open(f"collections/{name}.bson", "w", force_zip64=True) as out:
                    count, sha = _dump(db, name, session, out)
                manifest["collections"][name] = {
                    "count": count,
                    "sha256": sha,
                    "indexes": json.loads(json_util.dumps(indexes[name])),
                }
                total += count
            archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Summary(len(names), total, manifest["consistent"])


def _manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except (KeyError, ValueError) as exc:
        raise BadArchive("not a crm backup", {"file": "no manifest.json"}) from exc
    if manifest.get("format") != FORMAT:
        raise BadArchive("unknown backup format", {"file": str(manifest.get("format"))})
    return dict(manifest)


def _documents(raw: Any) -> Iterator[RawBSONDocument]:
    return bson.decode_file_iter(raw, RAW)


def restore(db: Database[Any], path: Path, force: bool = False) -> Summary:
    """Load the archive into `db`; a database holding any document is refused unless
    `force`, which drops the archive's collections first. Every collection's count and
    checksum is verified against the manifest while loading."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BadArchive("not a crm backup", {"file": str(exc)}) from exc
    with archive:
        manifest = _manifest(archive)
        existing = [n for n in _collections(db) if db[n].estimated_document_count()]
        if existing and not force:
            raise DatabaseNotEmpty(
                f"database {db.name} is not empty; restore with --force to replace it",
                {"collections": ", ".join(existing[:5])},
            )
        total = 0
        for name, meta in sorted(manifest["collections"].items()):
            # Empty (checked above) or forced: dropped either way, so that the archive's
            # indexes, not those the app just made with other options, are the ones kept.
            db.drop_collection(name)
            digest = hashlib.sha256()
            count = 0
            batch: list[RawBSONDocument] = []
            with archive.open(f"collections/{name}.bson") as raw:
                for doc in _documents(raw):
                    digest.update(doc.raw)
                    count += 1
                    batch.append(doc)
                    if len(batch) >= BATCH:
                        db[name].insert_many(batch, ordered=True)
                        batch = []
            if batch:
                db[name].insert_many(batch, ordered=True)
            if (count, digest.hexdigest()) != (meta["count"], meta["sha256"]):
                raise BadArchive("the archive is damaged", {"collection": name})
            for spec in json_util.loads(json.dumps(meta["indexes"])):
                keys = [(field, order) for field, order in spec.pop("key")]
                db[name].create_index(keys, **spec)
            total += count
    return Summary(len(manifest["collections"]), total, bool(manifest.get("consistent")))
