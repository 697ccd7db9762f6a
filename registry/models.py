"""Stored CRM directories: organizations and everything linked to them.

Money is stored in minor units (kopecks) as integers, so sums are exact in the database;
the `amount`-style properties give Decimals. Objects linked to an organization carry a copy
of its access list (`access`), so every list query filters by access in the database.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mongoengine import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    DictField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from accounts.access import AccessList
from engine.models import utcnow

ACTION_KINDS = ("call_in", "call_out", "meeting", "email", "visit", "note")
CONTRACT_ROLES = ("executor", "customer")  # executor: we sell; customer: we buy
CONTRACT_STAGES = ("draft", "approval", "signed", "in_force", "closed", "terminated")
ACTIVE_CONTRACT_STAGES = ("approval", "signed", "in_force")
INVOICE_STATUSES = ("issued", "partially_paid", "paid", "cancelled")
DELIVERY_STATUSES = ("planned", "shipped", "delivered", "cancelled")
VAT_RATES = (0, 5, 7, 10, 20)


def to_money(minor: int | None) -> Decimal:
    """Minor units (kopecks) as a Decimal amount with two places."""
    return (Decimal(minor or 0) / 100).quantize(Decimal("0.01"))


class Tracked(Document):
    """Fields every directory object has: who made and changed it, when, its version."""

    meta: dict[str, Any] = {"abstract": True}

    created_at = DateTimeField(default=utcnow)
    created_by = StringField(default="")
    updated_at = DateTimeField(default=utcnow)
    updated_by = StringField(default="")
    version = IntField(default=1)
    archived = BooleanField(default=False)
    archived_at = DateTimeField(null=True)
    archived_by = StringField(null=True)


class Address(EmbeddedDocument):
    """A structured postal address."""

    index = StringField(default="")  # postal code, 6 digits
    region = StringField(default="")
    city = StringField(default="")
    street = StringField(default="")
    house = StringField(default="")
    office = StringField(default="")


class BankAccount(EmbeddedDocument):
    """Bank requisites: the bank and the organization's settlement account in it."""

    bank_name = StringField(default="")
    bik = StringField(default="")
    correspondent_account = StringField(default="")
    settlement_account = StringField(default="")


class Organization(Tracked):
    """A counterparty (контрагент)."""

    name = StringField(required=True)  # full name
    short_name = StringField(default="")
    legal_form = StringField(default="")
    inn = StringField(default="")
    kpp = StringField(default="")
    ogrn = StringField(default="")  # OGRN (13 digits) or OGRNIP (15)
    okpo = StringField(default="")
    legal_address = EmbeddedDocumentField(Address, null=True)
    actual_address = EmbeddedDocumentField(Address, null=True)
    postal_address = EmbeddedDocumentField(Address, null=True)
    phones = ListField(StringField())
    emails = ListField(StringField())
    website = StringField(default="")
    bank_accounts = ListField(EmbeddedDocumentField(BankAccount))
    tags = ListField(StringField())
    responsible = StringField(default="")  # username of the responsible manager
    notes = StringField(default="")
    attributes = DictField()  # custom attributes: name -> JSON value
    # The access rule (docs/registry.md): `access` is derived from these at every change.
    restricted = BooleanField(default=False)
    readers = ListField(StringField())
    writers = ListField(StringField())
    access = EmbeddedDocumentField(AccessList, default=AccessList)
    import_batch = StringField()
    # Search keys (registry.search), derived at every change.
    search_text = StringField(default="")
    search_tokens = ListField(StringField())
    sort_name = StringField(default="")
    phone_keys = ListField(StringField())
    email_keys = ListField(StringField())
    tag_keys = ListField(StringField())
    requisites_key = StringField()  # "INN/KPP"; absent without an INN

    meta = {
        "collection": "organizations",
        "indexes": [
            {"fields": ["requisites_key"], "unique": True, "sparse": True},
            {"fields": ["search_tokens", "sort_name"]},
            {"fields": ["archived", "sort_name"]},
            {"fields": ["inn"]},
            {"fields": ["ogrn"]},
            {"fields": ["phone_keys"]},
            {"fields": ["email_keys"]},
            {"fields": ["tag_keys"]},
            {"fields": ["responsible"]},
            {"fields": ["access.read"]},
            {"fields": ["import_batch"], "sparse": True},
        ],
    }

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


class Contact(Tracked):
    """A person at an organization."""

    organization = ObjectIdField(required=True)
    name = StringField(required=True)
    position = StringField(default="")
    phones = ListField(StringField())
    emails = ListField(StringField())
    notes = StringField(default="")
    is_primary = BooleanField(default=False)
    access = EmbeddedDocumentField(AccessList, default=AccessList)
    import_batch = StringField()
    search_text = StringField(default="")
    search_tokens = ListField(StringField())
    sort_name = StringField(default="")
    phone_keys = ListField(StringField())
    email_keys = ListField(StringField())

    meta = {
        "collection": "contacts",
        "indexes": [
            {"fields": ["organization", "archived"]},
            {"fields": ["search_tokens", "sort_name"]},
            {"fields": ["archived", "sort_name"]},
            {"fields": ["phone_keys"]},
            {"fields": ["email_keys"]},
            {"fields": ["access.read"]},
            {"fields": ["import_batch"], "sparse": True},
        ],
    }


class Action(Tracked):
    """A logged interaction with an organization: a call, a meeting, an e-mail, a visit."""

    organization = ObjectIdField(required=True)
    contact = ObjectIdField(null=True)
    kind = StringField(required=True, choices=ACTION_KINDS)
    by = StringField(required=True)  # who talked to the counterparty
    at = DateTimeField(required=True)
    subject = StringField(default="")
    content = StringField(default="")
    result = StringField(default="")
    follow_up_on = DateField(null=True)
    instance_id = StringField(null=True)  # the process that logged it, if any
    source_key = StringField()  # "<instance>:<call>" makes a repeated service call a no-op
    access = EmbeddedDocumentField(AccessList, default=AccessList)

    meta = {
        "collection": "actions",
        "indexes": [
            {"fields": ["organization", "-at"]},
            {"fields": ["by", "-at"]},
            {"fields": ["-at"]},  # periods without a manager: reports, the calls chart
            {"fields": ["access.read"]},
            {"fields": ["source_key"], "unique": True, "sparse": True},
        ],
    }


class ActionCount(Document):
    """How many live actions of one month share a manager, kind, result and readers
    (registry/action_counts.py keeps these; reports over long periods read them)."""

    month = DateTimeField(required=True)  # the first day, midnight UTC
    by = StringField(required=True)
    kind = StringField(required=True)
    result = StringField(default="")
    access = EmbeddedDocumentField(AccessList, default=AccessList)  # the actions' readers
    n = IntField(required=True)

    meta = {"collection": "action_counts", "indexes": [{"fields": ["month", "by"]}]}


class StaleMonth(Document):
    """A month whose action counts must be rebuilt before they are read."""

    month = DateTimeField(primary_key=True)
    stamp = ObjectIdField(required=True)  # changes with every mark (see action_counts)

    meta = {"collection": "action_counts_stale"}


class Product(Tracked):
    """An item of the nomenclature: goods or a service the company sells or buys."""

    code = StringField(required=True)
    name = StringField(required=True)
    unit = StringField(default="шт")
    product_type = StringField(default="")
    price_minor = IntField(default=0)
    currency = StringField(default="RUB")
    description = StringField(default="")
    search_text = StringField(default="")
    search_tokens = ListField(StringField())
    sort_name = StringField(default="")

    meta = {
        "collection": "products",
        "indexes": [
            {"fields": ["code"], "unique": True},
            {"fields": ["search_tokens", "sort_name"]},
            {"fields": ["archived", "sort_name"]},
            {"fields": ["product_type"]},
        ],
    }

    @property
    def price(self) -> Decimal:
        return to_money(self.price_minor)


class Supplier(Tracked):
    """An organization as a supplier: the product types it supplies and its products."""

    organization = ObjectIdField(required=True)
    product_types = ListField(StringField())
    products = ListField(ObjectIdField())
    notes = StringField(default="")
    access = EmbeddedDocumentField(AccessList, default=AccessList)
    sort_name = StringField(default="")  # the organization's, for ordering

    meta = {
        "collection": "suppliers",
        "indexes": [
            {"fields": ["organization"], "unique": True},
            {"fields": ["product_types"]},
            {"fields": ["products"]},
            {"fields": ["access.read"]},
        ],
    }


class Contract(Tracked):
    """A contract: we are the executor (we sell) or the customer (we buy)."""

    organization = ObjectIdField(required=True)
    role = StringField(required=True, choices=CONTRACT_ROLES)
    number = StringField(required=True)
    date = DateField(null=True)
    subject = StringField(default="")
    amount_minor = IntField(default=0)
    currency = StringField(default="RUB")
    vat_rate = IntField(null=True)  # percent; None: no VAT
    starts_on = DateField(null=True)
    ends_on = DateField(null=True)
    stage = StringField(required=True, default="draft", choices=CONTRACT_STAGES)
    responsible = StringField(default="")
    files = ListField(StringField())  # stored file ids (documents/)
    notes = StringField(default="")
    access = EmbeddedDocumentField(AccessList, default=AccessList)

    meta = {
        "collection": "contracts",
        "indexes": [
            {"fields": ["organization", "role"]},
            {"fields": ["stage"]},
            {"fields": ["number"]},
            {"fields": ["responsible"]},
            {"fields": ["access.read"]},
        ],
    }

    @property
    def amount(self) -> Decimal:
        return to_money(self.amount_minor)

    @property
    def vat_amount(self) -> Decimal | None:
        """The VAT included in the amount."""
        if not self.vat_rate:
            return None if self.vat_rate is None else Decimal("0.00")
        return to_money(round(self.amount_minor * self.vat_rate / (100 + self.vat_rate)))


class Invoice(Tracked):
    """An invoice under a contract."""

    contract = ObjectIdField(required=True)
    organization = ObjectIdField(required=True)
    role = StringField(required=True, choices=CONTRACT_ROLES)  # the contract's
    number = StringField(required=True)
    date = DateField(required=True)
    amount_minor = IntField(required=True)
    currency = StringField(default="RUB")
    due_on = DateField(null=True)
    paid_minor = IntField(default=0)
    paid_on = DateField(null=True)
    status = StringField(required=True, default="issued", choices=INVOICE_STATUSES)
    access = EmbeddedDocumentField(AccessList, default=AccessList)

    meta = {
        "collection": "invoices",
        "indexes": [
            {"fields": ["organization", "-date"]},
            {"fields": ["contract"]},
            {"fields": ["status", "due_on"]},
            {"fields": ["access.read"]},
        ],
    }

    @property
    def amount(self) -> Decimal:
        return to_money(self.amount_minor)

    @property
    def paid_amount(self) -> Decimal:
        return to_money(self.paid_minor)


class DeliveryItem(EmbeddedDocument):
    """A line of a delivery: a product, how much, at what price."""

    product = ObjectIdField(null=True)
    name = StringField(required=True)
    unit = StringField(default="шт")
    quantity = DecimalField(precision=3, force_string=True, min_value=0)
    price_minor = IntField(default=0)

    @property
    def price(self) -> Decimal:
        return to_money(self.price_minor)


class Delivery(Tracked):
    """A shipment of products under a contract."""

    contract = ObjectIdField(required=True)
    organization = ObjectIdField(required=True)
    role = StringField(required=True, choices=CONTRACT_ROLES)
    date = DateField(required=True)
    items = ListField(EmbeddedDocumentField(DeliveryItem))
    total_minor = IntField(default=0)
    status = StringField(required=True, default="planned", choices=DELIVERY_STATUSES)
    notes = StringField(default="")
    access = EmbeddedDocumentField(AccessList, default=AccessList)

    meta = {
        "collection": "deliveries",
        "indexes": [
            {"fields": ["organization", "-date"]},
            {"fields": ["contract"]},
            {"fields": ["access.read"]},
        ],
    }

    @property
    def total(self) -> Decimal:
        return to_money(self.total_minor)


class AuditEvent(Document):
    """Who changed which directory object, when, and what changed (field: from, to)."""

    object_type = StringField(required=True)
    object_id = StringField(required=True)
    organization_id = StringField(null=True)
    action = StringField(required=True)  # created, updated, archived, restored, imported, ...
    actor = StringField(required=True)
    at = DateTimeField(required=True, default=utcnow)
    changes = DictField()
    batch = StringField(null=True)

    meta = {
        "collection": "registry_audit",
        "indexes": [
            {"fields": ["object_type", "object_id", "at"]},
            {"fields": ["organization_id", "at"]},
        ],
    }


ALL_MODELS = (
    Organization,
    Contact,
    Action,
    Product,
    Supplier,
    Contract,
    Invoice,
    Delivery,
    AuditEvent,
)
