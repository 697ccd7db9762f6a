"""Deliveries: shipments of products under a contract."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bson import ObjectId

from accounts.access import read_filter
from engine.actor import Actor
from engine.models import utcnow

from . import audit, contracts
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
    to_minor,
)
from .errors import DeliveryNotFound
from .models import DELIVERY_STATUSES, Delivery, DeliveryItem, Product
from .pagination import Page, Sort, paginate, pick_sort, sorts

EDITABLE = ("date", "items", "status", "notes")
AUDITED = ("contract", "date", "items", "total_minor", "status", "notes")
SORTS = sorts(
    Sort("-created", "id", descending=True, unique=True), Sort("created", "id", unique=True)
)
MAX_ITEMS = 500


def _quantity(value: Any, field: str, errors: FieldErrors) -> Decimal:
    try:
        quantity = Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        errors.add(field, "not a number")
        return Decimal(0)
    if not quantity.is_finite() or quantity <= 0:
        errors.add(field, "must be more than zero")
    elif quantity != quantity.quantize(Decimal("0.001")):
        errors.add(field, "at most 3 decimal places")
    return quantity


def _items(values: list[Any], errors: FieldErrors) -> list[dict[str, Any]]:
    if len(values) > MAX_ITEMS:
        errors.add("items", f"at most {MAX_ITEMS} lines")
        return []
    ids = [
        reference_id(i.get("product"), f"items.{n}.product", errors) if i.get("product") else None
        for n, i in enumerate(values)
    ]
    known = {p.id: p for p in Product.objects(id__in=[i for i in ids if i])}
    out = []
    for n, (item, oid) in enumerate(zip(values, ids, strict=True)):
        where = f"items.{n}"
        product = known.get(oid) if oid else None
        if oid and product is None:
            errors.add(f"{where}.product", "no such product")
        name = text(item.get("name")) or (product.name if product else "")
        if not name:
            errors.add(f"{where}.name", "is required without a product")
        check_length(errors, f"{where}.name", name, 500)
        price = item.get("price")
        out.append(
            {
                "product": oid,
                "name": name,
                "unit": text(item.get("unit")) or (product.unit if product else "шт"),
                "quantity": _quantity(item.get("quantity"), f"{where}.quantity", errors),
                "price_minor": (
                    to_minor(price, f"{where}.price", errors)
                    if price is not None
                    else (product.price_minor if product else 0)
                ),
            }
        )
    return out


def total_minor(items: list[dict[str, Any]]) -> int:
    """The sum of quantity × price over the lines, in minor units, rounded half up."""
    total = sum((Decimal(i["price_minor"]) * i["quantity"] for i in items), Decimal(0))
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def clean(values: dict[str, Any]) -> tuple[dict[str, Any], FieldErrors]:
    """Normalized delivery fields and the field errors found (product ids are looked up)."""
    errors = FieldErrors()
    out: dict[str, Any] = {
        "status": text(values.get("status")) or "planned",
        "notes": text(values.get("notes")),
    }
    if out["status"] not in DELIVERY_STATUSES:
        errors.add("status", f"one of: {', '.join(DELIVERY_STATUSES)}")
    check_length(errors, "notes", out["notes"])
    day = values.get("date") or utcnow().date()
    if not isinstance(day, date):
        errors.add("date", "must be a date")
    out["date"] = day
    out["items"] = _items(list(values.get("items") or []), errors)
    if not out["items"] and "items" not in errors:
        errors.add("items", "at least one line")
    out["total_minor"] = total_minor(out["items"]) if not errors else 0
    return out, errors


def _apply(delivery: Delivery, values: dict[str, Any]) -> None:
    for key in ("date", "status", "notes", "total_minor"):
        setattr(delivery, key, values[key])
    delivery.items = [DeliveryItem(**i) for i in values["items"]]


def create(actor: Actor, values: dict[str, Any]) -> Delivery:
    """Record a delivery under a contract the actor may change."""
    contract = contracts.parent(actor, values.get("contract"))
    cleaned, errors = clean(values)
    errors.raise_if_any("the delivery has invalid fields")
    delivery = Delivery(
        contract=contract.id,
        organization=contract.organization,
        role=contract.role,
        access=contract.access,
    )
    _apply(delivery, cleaned)
    stamp_created(delivery, actor)
    delivery.save(force_insert=True)
    audit.record(
        actor,
        "created",
        "delivery",
        delivery.id,
        contract.organization,
        audit.created(audit.snapshot(delivery, AUDITED)),
    )
    return delivery


def get(actor: Actor, delivery_id: Any) -> Delivery:
    """A delivery the actor may read."""
    oid = object_id(delivery_id, DeliveryNotFound, "delivery")
    return load_readable(Delivery, oid, actor, DeliveryNotFound, "delivery")


def _item_values(item: DeliveryItem) -> dict[str, Any]:
    return {
        "product": item.product,
        "name": item.name,
        "unit": item.unit,
        "quantity": item.quantity,
        "price": item.price,
    }


def update(
    actor: Actor, delivery_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Delivery:
    """Change the given fields of a delivery (its status as it ships)."""
    delivery = get(actor, delivery_id)
    ensure_writable(actor, delivery.access, "delivery")
    ensure_active(delivery, "delivery")
    before = audit.snapshot(delivery, AUDITED)
    check_version(delivery, expected_version)
    current = {
        "date": delivery.date,
        "status": delivery.status,
        "notes": delivery.notes,
        "items": [_item_values(i) for i in delivery.items],
    }
    cleaned, errors = clean({**current, **changes})
    errors.raise_if_any("the delivery has invalid fields")
    _apply(delivery, cleaned)
    changed = audit.diff(before, audit.snapshot(delivery, AUDITED))
    if not changed:
        return delivery
    save_changed(delivery, actor, expected_version)
    audit.record(actor, "updated", "delivery", delivery.id, delivery.organization, changed)
    return delivery


def find(
    actor: Actor,
    *,
    organization: str | None = None,
    contract: str | None = None,
    status: str | None = None,
    product: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Delivery]:
    """Deliveries the actor may read that match the filters, newest first."""
    parts: list[dict[str, Any]] = [f for f in (read_filter(actor),) if f]
    parts.append({"archived": False})
    if organization:
        parts.append({"organization": filter_id(organization, "organization")})
    if contract:
        parts.append({"contract": filter_id(contract, "contract")})
    if status:
        parts.append({"status": status})
    if product:
        parts.append({"items.product": filter_id(product, "product")})
    return paginate(
        Delivery, merge_filters(*parts), pick_sort(SORTS, sort, "-created"), limit, cursor
    )


def latest(organization_id: ObjectId, limit: int = 50) -> list[Delivery]:
    """The latest deliveries of an organization (its card)."""
    return list(
        Delivery.objects(organization=organization_id, archived=False)
        .order_by("-date", "-id")
        .limit(limit)
    )
