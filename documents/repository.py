"""Queries of the records office; pymongo on the hot paths (counters, compare-and-set)."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import GridFSBucket
from mongoengine import Q
from mongoengine.connection import get_db
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from accounts.access import read_q
from engine.actor import Actor

from .models import (
    CitizenAppeal,
    NumberCounter,
    OfficeDocument,
    RegistrationCard,
    StoredFile,
)

BUCKET = "stored_files_fs"


def bucket() -> GridFSBucket:
    """The GridFS bucket holding file contents."""
    return GridFSBucket(get_db(), bucket_name=BUCKET)


def object_id(value: Any) -> ObjectId | None:
    """`value` as an ObjectId, or None when it cannot be one."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        return None


def prefix_pattern(text: str) -> str:
    """A string `$regex` (never a BSON regex: see NOTES) for a lower-case prefix search."""
    return "^" + re.escape(text.strip().lower())


# ------------------------------------------------------------------------------ files


def stored_files() -> Collection:
    return StoredFile._get_collection()


def push_file_version(
    file_id: ObjectId, expected_current: int, version: dict[str, Any], unlock: bool, now: Any
) -> bool:
    """Append a version if nobody added one since `expected_current` (compare-and-set)."""
    update: dict[str, Any] = {
        "$push": {"versions": version},
        "$set": {"current_version": version["number"], "updated_at": now},
    }
    if unlock:
        update["$set"].update({"locked_by": None, "locked_at": None})
    result = stored_files().update_one(
        {"_id": file_id, "current_version": expected_current}, update
    )
    return result.modified_count == 1


def lock_file(file_id: ObjectId, username: str, now: Any) -> bool:
    """Check a file out to `username` unless someone else holds it."""
    result = stored_files().update_one(
        {"_id": file_id, "$or": [{"locked_by": None}, {"locked_by": username}]},
        {"$set": {"locked_by": username, "locked_at": now}},
    )
    return result.matched_count == 1


def unlock_file(file_id: ObjectId, username: str | None) -> bool:
    """Release a lock held by `username` (any lock when None)."""
    query: dict[str, Any] = {"_id": file_id, "locked_by": {"$ne": None}}
    if username is not None:
        query["locked_by"] = username
    result = stored_files().update_one(query, {"$set": {"locked_by": None, "locked_at": None}})
    return result.matched_count == 1


def visible_files(actor: Actor) -> Any:
    """Files whose own access list lets the actor read them."""
    return StoredFile.objects(read_q(actor)).order_by("-updated_at")


def readable_documents_linking(actor: Actor, file_id: ObjectId) -> int:
    """How many documents the actor may read have this file attached."""
    return int(OfficeDocument.objects(Q(files__file_id=file_id) & read_q(actor)).count())


def writable_documents_linking(actor: Actor, file_id: ObjectId) -> int:
    """How many documents the actor may change have this file attached."""
    if actor.is_admin:
        return int(OfficeDocument.objects(files__file_id=file_id).count())
    principals = [*actor.principals, "*"]
    return int(OfficeDocument.objects(files__file_id=file_id, access__write__in=principals).count())


# ------------------------------------------------------------------------------ documents


def visible_documents(
    actor: Actor,
    kind: str | None = None,
    journal_id: ObjectId | None = None,
    q: str = "",
    link_type: str = "",
    link_id: str = "",
) -> Any:
    """Documents the actor may read, newest first, filtered in the query itself."""
    query = read_q(actor)
    if kind:
        query &= Q(kind=kind)
    if journal_id is not None:
        query &= Q(journal_id=journal_id)
    if q:
        query &= Q(__raw__={"title_lower": {"$regex": prefix_pattern(q)}})
    if link_type and link_id:
        query &= Q(__raw__={"links": {"$elemMatch": {"type": link_type, "id": link_id}}})
    return OfficeDocument.objects(query).order_by("-created_at")


def visible_document(actor: Actor, document_id: Any) -> OfficeDocument | None:
    """One document if it exists and the actor may read it."""
    oid = object_id(document_id)
    if oid is None:
        return None
    return OfficeDocument.objects(Q(id=oid) & read_q(actor)).first()


def set_access_of_journal_documents(journal_id: ObjectId, access: dict[str, Any]) -> None:
    """Copy a journal's new access list to its unrestricted documents, cards and appeals."""
    docs = OfficeDocument.objects(journal_id=journal_id, restricted=False)
    ids = [d.id for d in docs.only("id")]
    docs.update(set__access=access)
    if ids:
        RegistrationCard.objects(document_id__in=ids).update(set__access=access)
        CitizenAppeal.objects(document_id__in=ids).update(set__access=access)


# ------------------------------------------------------------------------------ numbering


def next_seq(journal_id: ObjectId, year: int) -> int:
    """Atomically take the next sequence number of a journal and year (by `_id`)."""
    counters = NumberCounter._get_collection()
    key = f"{journal_id}:{year}"
    for _ in range(5):
        doc = counters.find_one_and_update(
            {"_id": key}, {"$inc": {"seq": 1}}, return_document=ReturnDocument.AFTER
        )
        if doc is not None:
            return int(doc["seq"])
        # The year's first number: create the counter, then increment it. Not an upsert:
        # concurrent upserts on the embedded database sometimes return no document.
        with contextlib.suppress(DuplicateKeyError):
            counters.insert_one({"_id": key, "journal_id": journal_id, "year": year, "seq": 0})
    raise RuntimeError(f"cannot take a number for {key}")


def current_seq(journal_id: ObjectId, year: int) -> int:
    """The last number given in a journal and year (0 if none)."""
    doc = NumberCounter._get_collection().find_one({"_id": f"{journal_id}:{year}"})
    return int(doc["seq"]) if doc else 0


# ------------------------------------------------------------------------------ cards


def visible_cards(
    actor: Actor,
    journal_id: ObjectId | None = None,
    status: str = "",
    executor: str = "",
    under_control: bool | None = None,
    overdue_on: Any = None,
    kind: str = "",
) -> Any:
    """Cards the actor may read, newest first, filtered in the query itself."""
    query = read_q(actor)
    if journal_id is not None:
        query &= Q(journal_id=journal_id)
    if status:
        query &= Q(status=status)
    if kind:
        query &= Q(kind=kind)
    if executor:
        query &= Q(executors=executor)
    if under_control is not None:
        query &= Q(under_control=under_control)
    if overdue_on is not None:
        query &= Q(deadline__lt=overdue_on, status__in=["registered", "in_work"])
    return RegistrationCard.objects(query).order_by("-registered_at")


def visible_card(actor: Actor, card_id: Any) -> RegistrationCard | None:
    """One card if it exists and the actor may read it."""
    oid = object_id(card_id)
    if oid is None:
        return None
    return RegistrationCard.objects(Q(id=oid) & read_q(actor)).first()


# ------------------------------------------------------------------------------ appeals


def visible_appeals(actor: Actor, status: str = "", overdue_on: Any = None) -> Any:
    """Appeals the actor may read, newest first."""
    query = read_q(actor)
    if status:
        query &= Q(status=status)
    if overdue_on is not None:
        query &= Q(deadline__lt=overdue_on, status="registered")
    return CitizenAppeal.objects(query).order_by("-registered_on", "-id")


def visible_appeal(actor: Actor, appeal_id: Any) -> CitizenAppeal | None:
    """One appeal if it exists and the actor may read it."""
    oid = object_id(appeal_id)
    if oid is None:
        return None
    return CitizenAppeal.objects(Q(id=oid) & read_q(actor)).first()


def earlier_appeals(author_keys: list[str], topic: str, before: ObjectId | None) -> list[Any]:
    """Appeals with any of these authors on this topic (for repeated-appeal detection)."""
    if not author_keys:
        return []
    query = Q(author_keys__in=author_keys, topic=topic)
    if before is not None:
        query &= Q(id__ne=before)
    return list(CitizenAppeal.objects(query).order_by("registered_on").only("id"))
