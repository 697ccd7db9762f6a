"""Inbound messages: correlate to a waiting instance, start a process, or buffer.

A message `{name, correlation_key, payload}` goes, in this order, to
1. the oldest active instance with a task waiting for `name` whose correlation value equals
   `correlation_key` (both absent counts as equal; see `runtime.WaitingMessage`);
2. else a new instance of the most recently deployed process with a message start event
   of that name;
3. else, if the sender gave a `ttl`, into a buffer for that many seconds: an instance that
   starts waiting for it takes it right after its write (`instances._receive_buffered`);
4. else NoReceiver.
A `message_id` is remembered for 7 days: its route is recorded before the effect, and both
effects are idempotent (an instance ignores an id it received; a start with a chosen
instance id happens once), so a repeat or a retry after a crash has exactly one effect.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bson import ObjectId

from . import data as data_rules
from . import instances, message_store, queries
from .actor import Actor
from .errors import EngineError, MessageInProgress, NoReceiver
from .message_store import InboundMessage
from .models import ProcessDefinition

ROUTE_ATTEMPTS = 3  # a receiver may move on between lookup and delivery: look again


def _request_hash(message: InboundMessage) -> str:
    text = json.dumps([message.name, message.correlation_key, message.payload], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _starting_process(name: str) -> str | None:
    """Key of the latest-deployed process whose latest version starts with message `name`."""
    candidates = (
        ProcessDefinition.objects(kind="bpmn", message_starts=name)
        .only("key", "version", "deployed_at")
        .order_by("-deployed_at")
    )
    for found in candidates:
        latest = (
            ProcessDefinition.objects(kind="bpmn", key=found.key)
            .only("version", "message_starts")
            .order_by("-version")
            .first()
        )
        if latest is not None and name in latest.message_starts:
            return str(found.key)
    return None


def _route(message: InboundMessage) -> tuple[str, ObjectId | None, str | None]:
    """(action, target instance, process key) for a new message."""
    target = queries.waiting_instance(message.name, message.correlation_key)
    if target is not None:
        return "deliver", target, None
    process_key = _starting_process(message.name)
    if process_key is not None:
        return "start", ObjectId(), process_key
    return "none", None, None


def _perform(
    action: str, target: ObjectId, process_key: str | None, actor: Actor, message: InboundMessage
) -> dict[str, Any]:
    if action == "deliver":
        doc = instances.deliver_message(target, actor, message)
        return {"status": "delivered", "instance_id": str(doc["_id"])}
    doc = instances.start(str(process_key), actor, instance_id=target, message=message)
    return {"status": "started", "instance_id": str(doc["_id"])}


def post(
    actor: Actor,
    name: str,
    payload: dict[str, Any] | None = None,
    correlation_key: str | None = None,
    message_id: str | None = None,
    ttl_seconds: int | None = None,
) -> dict[str, Any]:
    """Deliver, start or buffer a message; return {status, instance_id, duplicate, ...}."""
    message = InboundMessage(
        name=name,
        payload=data_rules.check_data(payload or {}, "payload"),
        correlation_key=correlation_key,
        message_id=message_id,
    )
    if message_id:
        seen = message_store.find_id(message_id)
        if seen is not None and seen["done"]:
            return {**seen["result"], "message_id": message_id, "duplicate": True}
    for attempt in range(ROUTE_ATTEMPTS):
        action, target, process_key = _route(message)
        if action == "none":
            return _buffer_or_refuse(actor, message, ttl_seconds)
        if message_id:
            record, new = message_store.claim_id(
                message_id, name, _request_hash(message), action, target, process_key
            )
            if not new:
                if record["done"]:
                    return {**record["result"], "message_id": message_id, "duplicate": True}
                if record["action"] == "buffer" or record["target"] is None:
                    raise MessageInProgress(f"message {message_id} is being processed")
                # Another request took this id (or crashed after taking it): follow its
                # route; the effect is idempotent, so only one of us changes anything.
                action, target = record["action"], record["target"]
                process_key = record.get("process_key")
        assert target is not None
        try:
            result = _perform(action, target, process_key, actor, message)
        except NoReceiver:
            if message_id:
                message_store.release_id(message_id)
            if attempt + 1 < ROUTE_ATTEMPTS:
                continue
            raise
        except EngineError:
            if message_id:
                message_store.release_id(message_id)
            raise
        if message_id:
            message_store.finish_id(message_id, result)
        return {**result, "message_id": message_id, "duplicate": False}
    raise NoReceiver(f"no instance waits for message {name!r}")  # pragma: no cover


def _buffer_or_refuse(
    actor: Actor, message: InboundMessage, ttl_seconds: int | None
) -> dict[str, Any]:
    if not ttl_seconds:
        raise NoReceiver(
            f"no instance waits for message {message.name!r}"
            + (
                f" with correlation key {message.correlation_key!r}"
                if message.correlation_key is not None
                else ""
            )
            + " and no process starts with it; send a ttl to keep it until one does",
            {"name": [message.name]},
        )
    if message.message_id:
        record, new = message_store.claim_id(
            message.message_id, message.name, _request_hash(message), "buffer", None
        )
        if not new:
            if record["done"]:
                return {**record["result"], "message_id": message.message_id, "duplicate": True}
            raise MessageInProgress(f"message {message.message_id} is being processed")
    buffer_id = message_store.buffer(
        message.name,
        message.correlation_key,
        message.payload,
        message.message_id,
        actor.username,
        ttl_seconds,
    )
    result: dict[str, Any] = {
        "status": "buffered",
        "instance_id": None,
        "buffer_id": str(buffer_id),
    }
    if message.message_id:
        message_store.finish_id(message.message_id, result, buffer_id)
    # An instance may have started waiting between our lookup and the buffer write.
    target = queries.waiting_instance(message.name, message.correlation_key)
    if target is not None:
        instances.receive_buffered(target)
        if message_store.find_buffered(buffer_id) is None:
            result = {"status": "delivered", "instance_id": str(target)}
    return {**result, "message_id": message.message_id, "duplicate": False}
