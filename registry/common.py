"""Helpers every directory service shares: ids, field errors, access checks, saving."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from bson import ObjectId
from bson.errors import InvalidId
from mongoengine import Document
from mongoengine.errors import SaveConditionError

from accounts.access import AccessList, can_write, read_filter
from engine.actor import Actor
from engine.models import utcnow

from .errors import (
    ObjectArchived,
    ObjectNotFound,
    RegistryForbidden,
    RegistryInvalid,
    StaleObject,
)

D = TypeVar("D", bound=Document)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PRINCIPAL = re.compile(r"^(\*|group:[A-Za-z0-9_.-]{1,64}|[A-Za-z0-9_.@-]{1,64})$")
MAX_TEXT = 4000
MAX_ATTRIBUTES_BYTES = 64 * 1024


class FieldErrors(dict[str, list[str]]):
    """Field → messages, collected while checking input."""

    def add(self, field: str, message: str) -> None:
        """Record one message for a field."""
        self.setdefault(field, []).append(message)

    def check(self, field: str, problem: str | None) -> None:
        """Record `problem` for `field` if there is one."""
        if problem:
            self.add(field, problem)

    def raise_if_any(self, message: str = "invalid input") -> None:
        """Raise RegistryInvalid naming the fields, if any message was recorded."""
        if self:
            raise RegistryInvalid(message, dict(self))


def object_id(value: Any, not_found: type[ObjectNotFound], what: str = "object") -> ObjectId:
    """`value` as an ObjectId, or `not_found`."""
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError) as exc:
        raise not_found(f"no {what} {value}") from exc


def reference_id(value: Any, field: str, errors: FieldErrors) -> ObjectId | None:
    """`value` as an ObjectId, or a field error."""
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        errors.add(field, "not a valid id")
        return None


def load_readable(
    model: type[D], oid: ObjectId, actor: Actor, not_found: type[ObjectNotFound], what: str
) -> D:
    """The object if it exists and the actor may read it, else `not_found`."""
    doc = model.objects(__raw__={"_id": oid, **read_filter(actor)}).first()
    if doc is None:
        raise not_found(f"no {what} {oid}")
    return doc


def ensure_writable(actor: Actor, access: AccessList | None, what: str) -> None:
    """Raise RegistryForbidden unless the actor may change an object with `access`."""
    if not can_write(actor, access):
        raise RegistryForbidden(f"you may not change this {what}")


def ensure_active(doc: Document, what: str) -> None:
    """Raise ObjectArchived if the object is archived."""
    if getattr(doc, "archived", False):
        raise ObjectArchived(f"the {what} is archived; restore it first")


def text(value: Any) -> str:
    """A stripped string ('' for None)."""
    return "" if value is None else str(value).strip()


def texts(values: Iterable[Any] | None) -> list[str]:
    """Stripped, non-empty strings, without repeats, in order."""
    return list(dict.fromkeys(t for t in (text(v) for v in values or ()) if t))


def check_length(errors: FieldErrors, field: str, value: str, limit: int = MAX_TEXT) -> None:
    """A field error if `value` is longer than `limit`."""
    if len(value) > limit:
        errors.add(field, f"at most {limit} characters")


def check_emails(errors: FieldErrors, field: str, emails: list[str]) -> None:
    """Field errors for values that are not e-mail addresses."""
    for i, email in enumerate(emails):
        if len(email) > 254 or not _EMAIL.match(email):
            errors.add(f"{field}.{i}", "not an e-mail address")


def check_phones(errors: FieldErrors, field: str, phones: list[str]) -> None:
    """Field errors for values that are not phone numbers."""
    for i, phone in enumerate(phones):
        count = sum(c.isdigit() for c in phone)
        if not 3 <= count <= 15 or len(phone) > 40 or re.search(r"[^\d\s()+\-.,;доб#ext]", phone):
            errors.add(f"{field}.{i}", "not a phone number")


def check_principals(
    errors: FieldErrors, field: str, values: list[str], everyone: bool = True
) -> None:
    """Field errors for entries that are not a username, `group:NAME` or `*`."""
    for i, value in enumerate(values):
        if not _PRINCIPAL.match(value) or (value == "*" and not everyone):
            errors.add(f"{field}.{i}", "a username, group:NAME" + (" or *" if everyone else ""))


def check_attributes(errors: FieldErrors, field: str, values: dict[str, Any]) -> None:
    """Field errors unless custom attributes are a small JSON object with plain keys."""
    for key in values:
        if not key or key.startswith("$") or "." in key or len(key) > 100:
            errors.add(f"{field}.{key}", "names are 1 to 100 characters, no '.' or leading '$'")
    try:
        size = len(json.dumps(values, ensure_ascii=False))
    except (TypeError, ValueError):
        errors.add(field, "must be a JSON object")
        return
    if size > MAX_ATTRIBUTES_BYTES:
        errors.add(field, f"larger than {MAX_ATTRIBUTES_BYTES} bytes")


def stamp_created(doc: Document, actor: Actor) -> None:
    """Set who created the object and when."""
    now = utcnow()
    doc.created_at = doc.updated_at = now
    doc.created_by = doc.updated_by = actor.username
    doc.version = 1


def check_version(doc: Document, expected_version: int | None) -> None:
    """Refuse a write that expects another version than the one read, even one that would
    change nothing (a client holding a stale copy must learn it)."""
    if expected_version is not None and expected_version != int(doc.version):
        raise StaleObject("the object was changed by someone else", int(doc.version))


def save_changed(doc: Document, actor: Actor, expected_version: int | None = None) -> None:
    """Write a changed object if nobody changed it since it was read (compare-and-set)."""
    check_version(doc, expected_version)
    current = int(doc.version)
    doc.version = current + 1
    doc.updated_at = utcnow()
    doc.updated_by = actor.username
    try:
        doc.save(save_condition={"version": current})
    except SaveConditionError as exc:
        stored = type(doc).objects(id=doc.pk).only("version").first()
        raise StaleObject(
            "the object was changed by someone else", stored.version if stored else None
        ) from exc


def filter_id(value: Any, field: str) -> ObjectId:
    """A filter value as an ObjectId, or a field error."""
    errors = FieldErrors()
    oid = reference_id(value, field, errors)
    errors.raise_if_any("invalid filter")
    assert oid is not None
    return oid


def field_error(field: str, message: str, summary: str = "invalid input") -> RegistryInvalid:
    """An exception naming one bad field."""
    return RegistryInvalid(summary, {field: [message]})


def to_minor(value: Any, field: str, errors: FieldErrors, required: bool = False) -> int:
    """A non-negative money amount (Decimal, int or text) in minor units (kopecks)."""
    if value is None or value == "":
        if required:
            errors.add(field, "is required")
        return 0
    try:
        amount = Decimal(str(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        errors.add(field, "not a number")
        return 0
    if not amount.is_finite() or amount < 0:
        errors.add(field, "must be zero or more")
        return 0
    if amount != amount.quantize(Decimal("0.01")):
        errors.add(field, "at most 2 decimal places")
        return 0
    if amount >= Decimal("1e15"):
        errors.add(field, "too large")
        return 0
    return int(amount * 100)


def check_currency(errors: FieldErrors, field: str, value: str) -> None:
    """A field error unless `value` is a 3-letter ISO 4217 code."""
    if not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
        errors.add(field, "a 3-letter currency code such as RUB")


def merge_filters(*parts: dict[str, Any]) -> dict[str, Any]:
    """One flat pymongo filter of all `parts` (ANDed), the most selective conditions first.

    SecantusDB plans an index only for top-level conditions (not those inside `$and`) and
    takes the first indexed one it meets, so the broad ones (access, archived) go last.
    """
    out: dict[str, Any] = {}
    extra: list[dict[str, Any]] = []
    for part in parts:
        for key, value in part.items():
            if key == "$and":
                extra.extend(value)
            elif key in out:
                extra.append({key: value})
            else:
                out[key] = value
    ordered = {k: v for k, v in out.items() if k not in BROAD_KEYS}
    ordered.update((k, out[k]) for k in BROAD_KEYS if k in out)
    if extra:
        ordered["$and"] = extra
    return ordered


BROAD_KEYS = ("archived", "access.read")
