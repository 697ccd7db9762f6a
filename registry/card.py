"""The organization card: the organization and everything linked to it, in one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.actor import Actor
from engine.models import utcnow

from . import actions, contacts, contracts, deliveries, invoices, organizations, repository
from . import suppliers as supplier_service
from .models import (
    CONTRACT_ROLES,
    Action,
    Contact,
    Contract,
    Delivery,
    Invoice,
    Organization,
    Product,
    Supplier,
    to_money,
)

LATEST_ACTIONS = 20


@dataclass
class Card:
    """What the card shows; totals are per contract role (executor, customer)."""

    organization: Organization
    contacts: list[Contact]
    actions: list[Action]
    contracts: list[Contract]
    contract_totals: dict[str, dict[str, Any]]
    invoices: list[Invoice]
    invoice_totals: dict[str, dict[str, Any]]
    deliveries: list[Delivery]
    supplier: Supplier | None
    supplier_products: list[Product] = field(default_factory=list)
    open_tasks: list[dict[str, Any]] = field(default_factory=list)
    processes: list[dict[str, Any]] = field(default_factory=list)


def _contract_totals(raw: dict[str, dict[str, int]]) -> dict[str, dict[str, Any]]:
    out = {}
    for role in CONTRACT_ROLES:
        row = raw.get(role, {})
        out[role] = {
            "count": row.get("count", 0),
            "active": row.get("active", 0),
            "amount": to_money(row.get("amount", 0)),
            "active_amount": to_money(row.get("active_amount", 0)),
        }
    return out


def _invoice_totals(raw: dict[str, dict[str, int]]) -> dict[str, dict[str, Any]]:
    out = {}
    for role in CONTRACT_ROLES:
        row = raw.get(role, {})
        issued, paid = row.get("issued", 0), row.get("paid", 0)
        out[role] = {
            "count": row.get("count", 0),
            "issued": to_money(issued),
            "paid": to_money(paid),
            "unpaid": to_money(max(issued - paid, 0)),
            "overdue": to_money(row.get("overdue", 0)),
            "overdue_count": row.get("overdue_count", 0),
        }
    return out


def card(actor: Actor, organization_id: Any, today: date | None = None) -> Card:
    """The card of an organization the actor may read."""
    org = organizations.get(actor, organization_id)
    today = today or utcnow().date()
    supplier = supplier_service.of_organization(org.id)
    linked = {
        "contract": list(Contract.objects(organization=org.id).scalar("id")),
        "invoice": list(Invoice.objects(organization=org.id).scalar("id")),
        "delivery": list(Delivery.objects(organization=org.id).scalar("id")),
        "contact": list(Contact.objects(organization=org.id).scalar("id")),
    }
    subjects = repository.subject_filter(org.id, linked)
    return Card(
        organization=org,
        contacts=contacts.of_organization(org.id),
        actions=actions.latest(org.id, LATEST_ACTIONS),
        contracts=contracts.of_organization(org.id),
        contract_totals=_contract_totals(repository.contract_totals(org.id)),
        invoices=invoices.latest(org.id),
        invoice_totals=_invoice_totals(repository.invoice_totals(org.id, today)),
        deliveries=deliveries.latest(org.id),
        supplier=supplier,
        supplier_products=(
            list(Product.objects(id__in=supplier.products))
            if supplier and supplier.products
            else []
        ),
        open_tasks=repository.open_tasks(actor, subjects),
        processes=repository.running_processes(actor, subjects),
    )
