"""Keyset pagination: a cursor holds the sort key of the last item, newest first."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from .errors import MailInvalid

MAX_LIMIT = 200


@dataclass(frozen=True)
class Cursor:
    """The position after an item: its time, kind and database id."""

    at: datetime
    kind: str
    id: ObjectId


@dataclass
class Page:
    """One page of a list and the cursor of the next one (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def encode(at: datetime, oid: ObjectId, kind: str = "") -> str:
    """An opaque cursor for the position after this item."""
    raw = json.dumps([at.isoformat(), kind, str(oid)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> Cursor | None:
    """The position a cursor names; MailInvalid if this service did not issue it."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, kind, oid = json.loads(raw)
        return Cursor(datetime.fromisoformat(at), str(kind), ObjectId(oid))
    except (binascii.Error, ValueError, TypeError, InvalidId, UnicodeDecodeError) as exc:
        raise MailInvalid("invalid cursor", {"cursor": ["not a cursor of this list"]}) from exc


def after(cursor: Cursor | None, field: str, kind: str = "") -> dict[str, Any]:
    """The condition for items after `cursor` in (field, kind, _id) descending order."""
    if cursor is None:
        return {}
    if kind < cursor.kind:
        return {field: {"$lte": cursor.at}}
    if kind > cursor.kind:
        return {field: {"$lt": cursor.at}}
    return {"$or": [{field: {"$lt": cursor.at}}, {field: cursor.at, "_id": {"$lt": cursor.id}}]}


def limit_of(value: int | None, default: int = 50) -> int:
    """A page size within 1..MAX_LIMIT."""
    return max(1, min(MAX_LIMIT, value or default))


def page_of(
    docs: list[dict[str, Any]], limit: int, field: str, kind: str = ""
) -> tuple[list[dict[str, Any]], str | None]:
    """The first `limit` documents and the cursor after them (None if there are no more)."""
    if len(docs) <= limit:
        return docs, None
    last = docs[limit - 1]
    return docs[:limit], encode(last[field], last["_id"], kind)


def combine(*conditions: dict[str, Any]) -> dict[str, Any]:
    """All non-empty conditions together."""
    parts = [c for c in conditions if c]
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}
