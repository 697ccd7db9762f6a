"""Contacts: people at an organization. Readable and changeable as their organization is."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from accounts.access import read_filter
from engine.actor import Actor

from . import audit, organizations, search
from .common import (
    FieldErrors,
    check_emails,
    check_length,
    check_phones,
    check_version,
    ensure_active,
    ensure_writable,
    filter_id,
    load_readable,
    merge_filters,
    object_id,
    save_changed,
    stamp_created,
    text,
    texts,
)
from .errors import ContactNotFound
from .models import Contact, Organization
from .pagination import Page, Sort, paginate, pick_sort, sorts

EDITABLE = ("name", "position", "phones", "emails", "notes", "is_primary")
AUDITED = ("organization", *EDITABLE)
SORTS = sorts(
    Sort("name", "sort_name", unique=True),
    Sort("-name", "sort_name", descending=True, unique=True),
    Sort("created", "id", unique=True),
    Sort("-created", "id", descending=True, unique=True),
)


def clean(values: dict[str, Any]) -> tuple[dict[str, Any], FieldErrors]:
    """Normalized contact fields and the field errors found (no database access)."""
    errors = FieldErrors()
    out: dict[str, Any] = {k: text(values.get(k)) for k in ("name", "position", "notes")}
    out["phones"] = texts(values.get("phones"))
    out["emails"] = texts(values.get("emails"))
    out["is_primary"] = bool(values.get("is_primary"))
    if not out["name"]:
        errors.add("name", "is required")
    check_length(errors, "name", out["name"], 300)
    check_length(errors, "position", out["position"], 300)
    check_length(errors, "notes", out["notes"])
    check_phones(errors, "phones", out["phones"])
    check_emails(errors, "emails", out["emails"])
    return out, errors


def apply(contact: Contact, values: dict[str, Any]) -> None:
    """Set cleaned fields and the search keys on `contact`."""
    for key in EDITABLE:
        setattr(contact, key, values[key])
    if contact.id is None:
        contact.id = ObjectId()
    contact.search_text = search.normalize(contact.name)
    contact.search_tokens = search.tokens(contact.name)
    contact.sort_name = search.sort_key(contact.name, contact.id)
    contact.phone_keys = search.phone_keys(contact.phones)
    contact.email_keys = search.lower_keys(contact.emails)


def _only_primary(contact: Contact) -> None:
    if contact.is_primary:
        Contact.objects(
            organization=contact.organization, id__ne=contact.id, is_primary=True
        ).update(set__is_primary=False)


def create(actor: Actor, values: dict[str, Any]) -> Contact:
    """Add a contact to an organization the actor may change."""
    org: Organization = organizations.parent(actor, values.get("organization"))
    cleaned, errors = clean(values)
    errors.raise_if_any("the contact has invalid fields")
    contact = Contact(organization=org.id, access=org.access)
    apply(contact, cleaned)
    stamp_created(contact, actor)
    contact.save(force_insert=True)
    _only_primary(contact)
    audit.record(
        actor,
        "created",
        "contact",
        contact.id,
        org.id,
        audit.created(audit.snapshot(contact, AUDITED)),
    )
    return contact


def get(actor: Actor, contact_id: Any) -> Contact:
    """A contact the actor may read."""
    oid = object_id(contact_id, ContactNotFound, "contact")
    return load_readable(Contact, oid, actor, ContactNotFound, "contact")


def update(
    actor: Actor, contact_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Contact:
    """Change the given fields of a contact."""
    contact = get(actor, contact_id)
    ensure_writable(actor, contact.access, "contact")
    ensure_active(contact, "contact")
    before = audit.snapshot(contact, AUDITED)
    check_version(contact, expected_version)
    cleaned, errors = clean({**{k: getattr(contact, k) for k in EDITABLE}, **changes})
    errors.raise_if_any("the contact has invalid fields")
    apply(contact, cleaned)
    changed = audit.diff(before, audit.snapshot(contact, AUDITED))
    if not changed:
        return contact
    save_changed(contact, actor, expected_version)
    _only_primary(contact)
    audit.record(actor, "updated", "contact", contact.id, contact.organization, changed)
    return contact


def archive(actor: Actor, contact_id: Any) -> Contact:
    """Archive (soft-delete) a contact."""
    contact = get(actor, contact_id)
    ensure_writable(actor, contact.access, "contact")
    if contact.archived:
        return contact
    contact.archived, contact.archived_by = True, actor.username
    contact.archived_at = contact.updated_at
    save_changed(contact, actor)
    audit.record(
        actor,
        "archived",
        "contact",
        contact.id,
        contact.organization,
        {"archived": {"from": False, "to": True}},
    )
    return contact


def find(
    actor: Actor,
    *,
    organization: str | None = None,
    q: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    archived: bool | None = False,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Contact]:
    """Contacts the actor may read that match the filters, one page at a time."""
    parts: list[dict[str, Any]] = [f for f in (read_filter(actor),) if f]
    if archived is not None:
        parts.append({"archived": archived})
    if organization:
        parts.append({"organization": filter_id(organization, "organization")})
    if q:
        parts.append(search.word_filter(q) or {"_id": None})
    if phone:
        parts.append({"phone_keys": search.phone_key(phone) or "-"})
    if email:
        parts.append({"email_keys": text(email).lower()})
    where = merge_filters(*parts)
    return paginate(Contact, where, pick_sort(SORTS, sort, "name"), limit, cursor)


def of_organization(organization_id: ObjectId) -> list[Contact]:
    """The active contacts of an organization, the primary first (its card)."""
    return list(
        Contact.objects(organization=organization_id, archived=False)
        .order_by("-is_primary", "sort_name")
        .limit(200)
    )
