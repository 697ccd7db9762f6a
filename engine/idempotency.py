"""Idempotent instance starts: the same key from the same caller within 24 h starts once.

The record is written before the start and names the instance id the start will use; the
start inserts with that id, so a repeat, a concurrent duplicate or a retry after a crash
finds or creates that one instance and never a second.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from bson import ObjectId
from mongoengine import DateTimeField, DictField, Document, ObjectIdField, StringField
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from . import instances
from .actor import Actor
from .errors import EngineError, IdempotencyKeyReused
from .models import utcnow

DEFAULT_TTL_SECONDS = 24 * 3600


class IdempotencyRecord(Document):
    """What one (caller, key) did: the instance it started and the response it got."""

    username = StringField(required=True)
    key = StringField(required=True)
    request_hash = StringField(required=True)
    instance_id = ObjectIdField(required=True)
    response = DictField(default=None, null=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(required=True)

    meta = {
        "collection": "idempotency_keys",
        "indexes": [
            {"fields": ["username", "key"], "unique": True},
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }


MODELS = (IdempotencyRecord,)


def _records() -> Collection:
    return IdempotencyRecord._get_collection()


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """What a start answers: the instance id, status, process and version."""
    return {
        "id": str(doc["_id"]),
        "status": doc["status"],
        "process_key": doc["process_key"],
        "version": doc["definition_version"],
    }


def _claim(
    actor: Actor, key: str, request_hash: str, ttl_seconds: int
) -> tuple[dict[str, Any], bool]:
    for _ in range(3):
        now = utcnow()
        record = {
            "_id": ObjectId(),
            "username": actor.username,
            "key": key,
            "request_hash": request_hash,
            "instance_id": ObjectId(),
            "response": None,
            "created_at": now,
            "expires_at": now + timedelta(seconds=ttl_seconds),
        }
        try:
            _records().insert_one(record)
            return record, True
        except DuplicateKeyError:
            existing = _records().find_one({"username": actor.username, "key": key})
            if existing is not None and existing["expires_at"] > now:
                return existing, False
            # Expired (the TTL monitor runs once a minute): the key is free again.
            _records().delete_one(
                {"username": actor.username, "key": key, "expires_at": {"$lte": now}}
            )
    raise IdempotencyKeyReused("the idempotency key is contended; retry")


def start(
    key: str | None,
    actor: Actor,
    process_key: str,
    variables: dict[str, Any] | None = None,
    subject: dict[str, Any] | None = None,
    version: int | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> tuple[dict[str, Any], bool]:
    """Start an instance once per idempotency key; return (summary, whether it is new)."""
    if not key:
        doc = instances.start(process_key, actor, variables, subject, version)
        return summary(doc), True
    request = {
        "process_key": process_key,
        "version": version,
        "variables": variables or {},
        "subject": subject,
    }
    request_hash = hashlib.sha256(
        json.dumps(request, sort_keys=True, default=str).encode()
    ).hexdigest()
    record, new = _claim(actor, key, request_hash, ttl_seconds)
    if record["request_hash"] != request_hash:
        raise IdempotencyKeyReused(
            "this idempotency key was used with a different request",
            {"Idempotency-Key": ["already used for another request within 24 h"]},
        )
    if record.get("response"):
        return dict(record["response"]), False
    try:
        doc = instances.start(
            process_key, actor, variables, subject, version, instance_id=record["instance_id"]
        )
    except EngineError:
        if new:  # nothing started: let the caller correct the request and retry the key
            _records().delete_one({"_id": record["_id"], "response": None})
        raise
    response = summary(doc)
    _records().update_one({"_id": record["_id"]}, {"$set": {"response": response}})
    return response, new
