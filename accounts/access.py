"""Access lists on business objects, applied inside database queries.

A protected document stores `access = {"read": [...], "write": [...]}` whose entries are
principals: a username, `group:NAME`, or `*` for everyone. Lists are filtered with
`read_filter(actor)` in the query itself, never by dropping rows afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mongoengine import EmbeddedDocument, ListField, Q, StringField

from engine.actor import Actor

EVERYONE = "*"


class AccessList(EmbeddedDocument):
    """Who may read and who may change an object."""

    read = ListField(StringField(), default=lambda: [EVERYONE])
    write = ListField(StringField(), default=list)


def principals(actor: Actor) -> list[str]:
    """Every entry of an access list that matches the actor."""
    return [*actor.principals, EVERYONE]


def read_filter(actor: Actor, field: str = "access") -> dict[str, Any]:
    """A pymongo filter matching the objects the actor may read (empty for admins)."""
    if actor.is_admin:
        return {}
    return {f"{field}.read": {"$in": principals(actor)}}


def read_q(actor: Actor, field: str = "access") -> Q:
    """The same filter as a MongoEngine Q object."""
    if actor.is_admin:
        return Q()
    return Q(**{f"{field}__read__in": principals(actor)})


def can_read(actor: Actor, access: AccessList | dict[str, Any] | None) -> bool:
    return actor.is_admin or _matches(actor, _entries(access, "read"))


def can_write(actor: Actor, access: AccessList | dict[str, Any] | None) -> bool:
    return actor.is_admin or _matches(actor, _entries(access, "write"))


def make_access(read: Iterable[str] = (EVERYONE,), write: Iterable[str] = ()) -> AccessList:
    """An access list; writers may always read."""
    writers = list(dict.fromkeys(write))
    readers = list(dict.fromkeys([*read, *writers]))
    return AccessList(read=readers, write=writers)


def _entries(access: AccessList | dict[str, Any] | None, kind: str) -> list[str]:
    if access is None:
        return []
    if isinstance(access, dict):
        return list(access.get(kind) or [])
    return list(getattr(access, kind) or [])


def _matches(actor: Actor, entries: list[str]) -> bool:
    return bool(set(principals(actor)) & set(entries))
