"""Suppliers: an organization's supplier section (product types and products it supplies).

A supplier is read and changed as its organization is.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from mongoengine.errors import NotUniqueError

from accounts.access import read_filter
from engine.actor import Actor

from . import audit, organizations, products
from .common import (
    FieldErrors,
    check_length,
    check_version,
    ensure_active,
    ensure_writable,
    filter_id,
    load_readable,
    merge_filters,
    object_id,
    reference_id,
    save_changed,
    stamp_created,
    text,
    texts,
)
from .errors import DuplicateObject, SupplierNotFound
from .models import Supplier
from .pagination import Page, Sort, paginate, pick_sort, sorts

EDITABLE = ("product_types", "products", "notes")
AUDITED = ("organization", *EDITABLE)
SORTS = sorts(Sort("name", "sort_name"), Sort("-name", "sort_name", descending=True))


def clean(values: dict[str, Any]) -> tuple[dict[str, Any], FieldErrors]:
    """Normalized supplier fields and the field errors found; product ids must exist."""
    errors = FieldErrors()
    out: dict[str, Any] = {
        "product_types": texts(values.get("product_types")),
        "notes": text(values.get("notes")),
    }
    for i, item in enumerate(out["product_types"]):
        check_length(errors, f"product_types.{i}", item, 100)
    check_length(errors, "notes", out["notes"])
    ids: list[ObjectId] = []
    for i, value in enumerate(values.get("products") or []):
        oid = reference_id(value, f"products.{i}", errors)
        if oid is not None and oid not in ids:
            ids.append(oid)
    known = products.existing_ids(ids) if ids else set()
    for i, oid in enumerate(ids):
        if oid not in known:
            errors.add(f"products.{i}", "no such product")
    out["products"] = ids
    return out, errors


def create(actor: Actor, values: dict[str, Any]) -> Supplier:
    """Make an organization the actor may change a supplier."""
    org = organizations.parent(actor, values.get("organization"))
    cleaned, errors = clean(values)
    errors.raise_if_any("the supplier has invalid fields")
    supplier = Supplier(organization=org.id, access=org.access, sort_name=org.sort_name, **cleaned)
    stamp_created(supplier, actor)
    try:
        supplier.save(force_insert=True)
    except NotUniqueError as exc:
        raise DuplicateObject(
            f"{org.display_name} is a supplier already", {"organization": ["is a supplier already"]}
        ) from exc
    audit.record(
        actor,
        "created",
        "supplier",
        supplier.id,
        org.id,
        audit.created(audit.snapshot(supplier, AUDITED)),
    )
    return supplier


def get(actor: Actor, supplier_id: Any) -> Supplier:
    """A supplier the actor may read."""
    oid = object_id(supplier_id, SupplierNotFound, "supplier")
    return load_readable(Supplier, oid, actor, SupplierNotFound, "supplier")


def update(
    actor: Actor, supplier_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Supplier:
    """Change the given fields of a supplier."""
    supplier = get(actor, supplier_id)
    ensure_writable(actor, supplier.access, "supplier")
    ensure_active(supplier, "supplier")
    before = audit.snapshot(supplier, AUDITED)
    check_version(supplier, expected_version)
    cleaned, errors = clean({**{k: getattr(supplier, k) for k in EDITABLE}, **changes})
    errors.raise_if_any("the supplier has invalid fields")
    for key, value in cleaned.items():
        setattr(supplier, key, value)
    changed = audit.diff(before, audit.snapshot(supplier, AUDITED))
    if not changed:
        return supplier
    save_changed(supplier, actor, expected_version)
    audit.record(actor, "updated", "supplier", supplier.id, supplier.organization, changed)
    return supplier


def archive(actor: Actor, supplier_id: Any) -> Supplier:
    """Archive the supplier section of an organization."""
    supplier = get(actor, supplier_id)
    ensure_writable(actor, supplier.access, "supplier")
    if supplier.archived:
        return supplier
    supplier.archived, supplier.archived_by = True, actor.username
    save_changed(supplier, actor)
    audit.record(
        actor,
        "archived",
        "supplier",
        supplier.id,
        supplier.organization,
        {"archived": {"from": False, "to": True}},
    )
    return supplier


def find(
    actor: Actor,
    *,
    organization: str | None = None,
    product_type: str | None = None,
    product: str | None = None,
    archived: bool | None = False,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Supplier]:
    """Suppliers the actor may read that match the filters, by organization name."""
    parts: list[dict[str, Any]] = [f for f in (read_filter(actor),) if f]
    if archived is not None:
        parts.append({"archived": archived})
    if organization:
        parts.append({"organization": filter_id(organization, "organization")})
    if product_type:
        parts.append({"product_types": product_type})
    if product:
        parts.append({"products": filter_id(product, "product")})
    where = merge_filters(*parts)
    return paginate(Supplier, where, pick_sort(SORTS, sort, "name"), limit, cursor)


def of_organization(organization_id: ObjectId) -> Supplier | None:
    """The active supplier section of an organization, if it has one."""
    return Supplier.objects(organization=organization_id, archived=False).first()
