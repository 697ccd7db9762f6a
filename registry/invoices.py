"""Invoices under a contract. The status follows the paid amount unless cancelled."""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.access import read_filter
from engine.actor import Actor
from engine.models import utcnow

from . import audit, contracts
from .common import (
    FieldErrors,
    check_currency,
    check_length,
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
    to_minor,
)
from .errors import InvoiceNotFound
from .models import Invoice
from .pagination import Page, Sort, paginate, pick_sort, sorts
from .repository import as_datetime

EDITABLE = ("number", "date", "amount", "currency", "due_on", "paid_amount", "paid_on", "cancelled")
AUDITED = (
    "contract",
    "number",
    "date",
    "amount_minor",
    "currency",
    "due_on",
    "paid_minor",
    "paid_on",
    "status",
)
SORTS = sorts(
    Sort("-created", "id", descending=True, unique=True), Sort("created", "id", unique=True)
)


def status_of(amount_minor: int, paid_minor: int, cancelled: bool) -> str:
    """issued, partially_paid, paid or cancelled."""
    if cancelled:
        return "cancelled"
    if paid_minor >= amount_minor > 0:
        return "paid"
    return "partially_paid" if paid_minor > 0 else "issued"


def clean(values: dict[str, Any]) -> tuple[dict[str, Any], FieldErrors]:
    """Normalized invoice fields and the field errors found (no database access)."""
    errors = FieldErrors()
    out: dict[str, Any] = {
        "number": text(values.get("number")),
        "currency": text(values.get("currency")) or "RUB",
    }
    if not out["number"]:
        errors.add("number", "is required")
    check_length(errors, "number", out["number"], 100)
    check_currency(errors, "currency", out["currency"])
    out["amount_minor"] = to_minor(values.get("amount"), "amount", errors, required=True)
    if "amount" not in errors and out["amount_minor"] <= 0:
        errors.add("amount", "must be more than zero")
    out["paid_minor"] = to_minor(values.get("paid_amount"), "paid_amount", errors)
    for key in ("date", "due_on", "paid_on"):
        value = values.get(key)
        if value is not None and not isinstance(value, date):
            errors.add(key, "must be a date")
            value = None
        out[key] = value
    out["date"] = out["date"] or utcnow().date()
    if out["due_on"] and out["due_on"] < out["date"]:
        errors.add("due_on", "is before the invoice date")
    out["status"] = status_of(out["amount_minor"], out["paid_minor"], bool(values.get("cancelled")))
    return out, errors


def create(actor: Actor, values: dict[str, Any]) -> Invoice:
    """Issue (or register) an invoice under a contract the actor may change."""
    contract = contracts.parent(actor, values.get("contract"))
    cleaned, errors = clean({"currency": contract.currency, **values})
    errors.raise_if_any("the invoice has invalid fields")
    invoice = Invoice(
        contract=contract.id,
        organization=contract.organization,
        role=contract.role,
        access=contract.access,
        **cleaned,
    )
    stamp_created(invoice, actor)
    invoice.save(force_insert=True)
    audit.record(
        actor,
        "created",
        "invoice",
        invoice.id,
        contract.organization,
        audit.created(audit.snapshot(invoice, AUDITED)),
    )
    return invoice


def get(actor: Actor, invoice_id: Any) -> Invoice:
    """An invoice the actor may read."""
    oid = object_id(invoice_id, InvoiceNotFound, "invoice")
    return load_readable(Invoice, oid, actor, InvoiceNotFound, "invoice")


def update(
    actor: Actor, invoice_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Invoice:
    """Change the given fields of an invoice (a payment: `paid_amount`, `paid_on`)."""
    invoice = get(actor, invoice_id)
    ensure_writable(actor, invoice.access, "invoice")
    ensure_active(invoice, "invoice")
    before = audit.snapshot(invoice, AUDITED)
    check_version(invoice, expected_version)
    current = {
        "number": invoice.number,
        "date": invoice.date,
        "amount": invoice.amount,
        "currency": invoice.currency,
        "due_on": invoice.due_on,
        "paid_amount": invoice.paid_amount,
        "paid_on": invoice.paid_on,
        "cancelled": invoice.status == "cancelled",
    }
    cleaned, errors = clean({**current, **changes})
    errors.raise_if_any("the invoice has invalid fields")
    for key, value in cleaned.items():
        setattr(invoice, key, value)
    changed = audit.diff(before, audit.snapshot(invoice, AUDITED))
    if not changed:
        return invoice
    save_changed(invoice, actor, expected_version)
    audit.record(actor, "updated", "invoice", invoice.id, invoice.organization, changed)
    return invoice


def find(
    actor: Actor,
    *,
    organization: str | None = None,
    contract: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    today: date | None = None,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Invoice]:
    """Invoices the actor may read that match the filters, newest first."""
    parts: list[dict[str, Any]] = [f for f in (read_filter(actor),) if f]
    parts.append({"archived": False})
    if organization:
        parts.append({"organization": filter_id(organization, "organization")})
    if contract:
        parts.append({"contract": filter_id(contract, "contract")})
    if status:
        parts.append({"status": status})
    if overdue:
        parts.append(
            {
                "status": {"$in": ["issued", "partially_paid"]},
                "due_on": {"$lt": as_datetime(today or utcnow().date())},
            }
        )
    where = merge_filters(*parts)
    return paginate(Invoice, where, pick_sort(SORTS, sort, "-created"), limit, cursor)


def latest(organization_id: Any, limit: int = 50) -> list[Invoice]:
    """The latest invoices of an organization (its card)."""
    return list(
        Invoice.objects(organization=organization_id, archived=False)
        .order_by("-date", "-id")
        .limit(limit)
    )


def is_overdue(invoice: Invoice, today: date) -> bool:
    """Whether an unpaid invoice is past its due date."""
    return (
        invoice.status in ("issued", "partially_paid")
        and invoice.due_on is not None
        and invoice.due_on < today
    )
