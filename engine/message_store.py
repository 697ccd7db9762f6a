"""Storage of inbound messages: processed message ids and the buffer of undelivered ones.

Kept apart from `engine.messages` (the service) so that `engine.instances` can deliver
buffered messages right after an instance write without importing the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    ObjectIdField,
    StringField,
)
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from .models import utcnow

BUFFER_SCAN = 10  # buffered messages looked at per instance write
PROCESSED_KEEP_DAYS = 7  # how long a message id is remembered


@dataclass(frozen=True)
class InboundMessage:
    """A message for an instance: its name, correlation value, payload and sender's id."""

    name: str
    payload: dict[str, Any]
    correlation_key: str | None = None
    message_id: str | None = None


class BufferedMessage(Document):
    """A message no instance waited for, kept `ttl` seconds for one that will."""

    name = StringField(required=True)
    correlation_key = StringField(null=True)
    payload = DictField()
    message_id = StringField(null=True)
    sent_by = StringField(required=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(required=True)
    claimed_by = ObjectIdField(null=True)  # the instance it is being delivered to
    failed = BooleanField(default=False)
    error = StringField(null=True)

    meta = {
        "collection": "message_buffer",
        "indexes": [
            {"fields": ["name", "correlation_key", "created_at"]},
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }


class ProcessedMessage(Document):
    """A message id seen before, with what it did: a repeat has no second effect."""

    id = StringField(primary_key=True)  # the sender's message_id
    name = StringField(required=True)
    request_hash = StringField(required=True)
    action = StringField(required=True, choices=("deliver", "start", "buffer"))
    target = ObjectIdField(null=True)  # the instance it goes to (chosen before the effect)
    process_key = StringField(null=True)  # the process it starts
    buffer_id = ObjectIdField(null=True)
    done = BooleanField(default=False)
    result = DictField(default=None, null=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(required=True)

    meta = {
        "collection": "processed_messages",
        "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}],
    }


MODELS = (BufferedMessage, ProcessedMessage)


def _buffer() -> Collection:
    return BufferedMessage._get_collection()


def _processed() -> Collection:
    return ProcessedMessage._get_collection()


# ----------------------------------------------------------------------------- buffer


def buffer(
    name: str,
    correlation_key: str | None,
    payload: dict[str, Any],
    message_id: str | None,
    sent_by: str,
    ttl_seconds: int,
) -> ObjectId:
    """Keep a message for `ttl_seconds`; return its buffer id."""
    now = utcnow()
    buffer_id = ObjectId()
    doc = {
        "_id": buffer_id,
        "name": name,
        "correlation_key": correlation_key,
        "payload": payload,
        "message_id": message_id,
        "sent_by": sent_by,
        "created_at": now,
        "expires_at": now + timedelta(seconds=ttl_seconds),
        "claimed_by": None,
        "failed": False,
        "error": None,
    }
    _buffer().insert_one(doc)
    return buffer_id


def buffered_for(
    waiting: list[dict[str, Any]], instance_id: ObjectId, now: datetime | None = None
) -> dict[str, Any] | None:
    """The oldest live buffered message matching one of `waiting`, free or ours."""
    if not waiting:
        return None
    now = now or utcnow()
    matches = [{"name": w["name"], "correlation_key": w.get("correlation_key")} for w in waiting]
    return _buffer().find_one(
        {
            "$or": matches,
            "expires_at": {"$gt": now},
            "failed": False,
            "claimed_by": {"$in": [None, instance_id]},
        },
        sort=[("created_at", 1)],
    )


def claim_buffered(buffer_id: ObjectId, instance_id: ObjectId) -> bool:
    """Reserve a buffered message for one instance; False if another took it."""
    result = _buffer().update_one(
        {"_id": buffer_id, "claimed_by": {"$in": [None, instance_id]}},
        {"$set": {"claimed_by": instance_id}},
    )
    return result.matched_count == 1


def drop_buffered(buffered: dict[str, Any], instance_id: ObjectId) -> None:
    """Forget a delivered message, and record where its id went."""
    if buffered.get("message_id"):
        _processed().update_one(
            {"_id": buffered["message_id"]},
            {
                "$set": {
                    "done": True,
                    "action": "deliver",
                    "target": instance_id,
                    "result": {"status": "delivered", "instance_id": str(instance_id)},
                }
            },
        )
    _buffer().delete_one({"_id": buffered["_id"]})


def find_buffered(buffer_id: ObjectId) -> dict[str, Any] | None:
    """A buffered message, while it waits."""
    return _buffer().find_one({"_id": buffer_id})


def fail_buffered(buffer_id: ObjectId, error: str) -> None:
    """Keep a message that could not be received out of further deliveries."""
    _buffer().update_one({"_id": buffer_id}, {"$set": {"failed": True, "error": error[:1000]}})


# -------------------------------------------------------------------------- processed ids


def claim_id(
    message_id: str,
    name: str,
    request_hash: str,
    action: str,
    target: ObjectId | None,
    process_key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Record that `message_id` goes to `target`; return (record, whether it is new)."""
    now = utcnow()
    record = {
        "_id": message_id,
        "name": name,
        "request_hash": request_hash,
        "action": action,
        "target": target,
        "process_key": process_key,
        "buffer_id": None,
        "done": False,
        "result": None,
        "created_at": now,
        "expires_at": now + timedelta(days=PROCESSED_KEEP_DAYS),
    }
    try:
        _processed().insert_one(record)
        return record, True
    except DuplicateKeyError:
        existing = _processed().find_one({"_id": message_id})
        if existing is None or existing["expires_at"] <= now:
            # Forgotten (or due to be): the id is free again.
            _processed().delete_one({"_id": message_id, "expires_at": {"$lte": now}})
            return claim_id(message_id, name, request_hash, action, target, process_key)
        return existing, False


def find_id(message_id: str) -> dict[str, Any] | None:
    """The record of a message id seen before, if it is still remembered."""
    return _processed().find_one({"_id": message_id, "expires_at": {"$gt": utcnow()}})


def finish_id(message_id: str, result: dict[str, Any], buffer_id: ObjectId | None = None) -> None:
    """Store what the message did."""
    _processed().update_one(
        {"_id": message_id}, {"$set": {"done": True, "result": result, "buffer_id": buffer_id}}
    )


def release_id(message_id: str) -> None:
    """Forget a message id whose effect failed, so that the sender may retry it."""
    _processed().delete_one({"_id": message_id, "done": False})
