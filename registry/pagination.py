"""Cursor pagination: a page of items and an opaque cursor to the next page.

A cursor carries the sort it was made for and the sort values of the last item; the next
page is "after that item" in the same order, so inserts and deletes between requests do not
shift pages. It is built from stored values only: a tampered cursor is refused, never used
as a query operator.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from bson import ObjectId, json_util
from mongoengine import Document

from .common import merge_filters
from .errors import RegistryInvalid

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Sort:
    """One sort order: a stored field, its direction, and whether it alone is unique."""

    name: str  # what clients pass, e.g. "name", "-created"
    field: str  # the document attribute ("id" for the primary key)
    descending: bool = False
    unique: bool = False

    @property
    def db_field(self) -> str:
        return "_id" if self.field == "id" else self.field

    def order_by(self) -> list[str]:
        """MongoEngine order_by keys."""
        sign = "-" if self.descending else "+"
        keys = [sign + self.field]
        return keys if self.unique else [*keys, sign + "id"]


@dataclass
class Page(Generic[T]):
    """Items of one page and the cursor to the next page (None on the last page)."""

    items: list[T]
    next_cursor: str | None


def sorts(*items: Sort) -> dict[str, Sort]:
    """A table of sort orders by name."""
    return {s.name: s for s in items}


def pick_sort(table: dict[str, Sort], name: str | None, default: str) -> Sort:
    """The sort named `name`, or InvalidInput listing the choices."""
    key = name or default
    if key not in table:
        raise RegistryInvalid("unknown sort", {"sort": [f"one of: {', '.join(table)}"]})
    return table[key]


def _check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise RegistryInvalid("bad limit", {"limit": [f"from 1 to {MAX_LIMIT}"]})
    return limit


def encode_cursor(sort: Sort, item: Any) -> str:
    """The cursor that continues after `item` in `sort` order."""
    payload = {"s": sort.name, "v": getattr(item, sort.field), "id": item.id}
    raw = json_util.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str) -> dict[str, Any]:
    """The filter selecting what comes after the cursor's item; InvalidInput if malformed."""
    bad = RegistryInvalid("bad cursor", {"cursor": ["invalid or made for another sort"]})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json_util.loads(raw.decode())
    except (ValueError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad from exc
    if not isinstance(payload, dict) or payload.get("s") != sort.name:
        raise bad
    value, last_id = payload.get("v"), payload.get("id")
    if (
        not isinstance(last_id, ObjectId)
        or not isinstance(value, str | int | datetime | ObjectId)
        or isinstance(value, bool)
    ):
        raise bad
    op = "$lt" if sort.descending else "$gt"
    if sort.unique:
        return {sort.db_field: {op: value}}
    return {"$or": [{sort.db_field: {op: value}}, {sort.db_field: value, "_id": {op: last_id}}]}


def paginate(
    model: type[Document], where: dict[str, Any], sort: Sort, limit: int | None, cursor: str | None
) -> Page[Any]:
    """One page of `model` documents matching the pymongo filter `where`."""
    size = _check_limit(limit)
    if cursor:
        where = merge_filters(where, decode_cursor(sort, cursor))
    found = list(model.objects(__raw__=where).order_by(*sort.order_by()).limit(size + 1))
    more = len(found) > size
    items = found[:size]
    return Page(items, encode_cursor(sort, items[-1]) if more and items else None)
