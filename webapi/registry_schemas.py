"""Marshmallow schemas of the CRM directories' API (registry/): strict input, declared output."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from registry.models import (
    ACTION_KINDS,
    CONTRACT_ROLES,
    CONTRACT_STAGES,
    DELIVERY_STATUSES,
    INVOICE_STATUSES,
)

from .schemas import PageQuerySchema, StrictSchema, UtcDateTime

_TEXT = validate.Length(max=4000)
_SHORT = validate.Length(max=500)


class AmountField(fields.Decimal):
    """A decimal sent as a string; `positive` or `non_negative` checked here rather than
    with a Range validator, which OpenAPI would render as a numeric minimum on a string."""

    def __init__(
        self, *, positive: bool = False, non_negative: bool = False, **kwargs: Any
    ) -> None:
        pattern = r"^\d+(\.\d+)?$" if positive or non_negative else r"^-?\d+(\.\d+)?$"
        kwargs["metadata"] = {"pattern": pattern, **kwargs.get("metadata", {})}
        super().__init__(as_string=True, **kwargs)
        self.positive, self.non_negative = positive, non_negative

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        number = super()._deserialize(value, attr, data, **kwargs)
        if self.positive and number <= 0:
            raise ma.ValidationError("must be greater than 0")
        if self.non_negative and number < 0:
            raise ma.ValidationError("must be at least 0")
        return number


def _money(**kwargs: Any) -> fields.Decimal:
    return AmountField(places=2, **kwargs)


def _texts(limit: int = 50) -> fields.List:
    return fields.List(fields.String(validate=_SHORT), validate=validate.Length(max=limit))


class ArchivedQuery(PageQuerySchema):
    archived = fields.Boolean(
        load_default=False, metadata={"description": "true: only archived objects"}
    )


class TrackedSchema(ma.Schema):
    """Fields every directory object has."""

    id = fields.String()
    version = fields.Integer()
    archived = fields.Boolean()
    created_at = UtcDateTime()
    created_by = fields.String()
    updated_at = UtcDateTime()
    updated_by = fields.String()


class RegistryAccessSchema(ma.Schema):
    read = fields.List(fields.String())
    write = fields.List(fields.String())


class VersionMixin(StrictSchema):
    version = fields.Integer(
        load_only=True,
        metadata={
            "description": "the version you read: a stale one answers 409 instead of overwriting"
        },
    )


# --------------------------------------------------------------------- organizations


class AddressInSchema(StrictSchema):
    index = fields.String(validate=validate.Length(max=20))
    region = fields.String(validate=_SHORT)
    city = fields.String(validate=_SHORT)
    street = fields.String(validate=_SHORT)
    house = fields.String(validate=_SHORT)
    office = fields.String(validate=_SHORT)


class BankAccountSchema(StrictSchema):
    bank_name = fields.String(validate=_SHORT)
    bik = fields.String(
        required=True,
        validate=validate.Length(max=20),
        metadata={"description": "9 digits, starts with 04"},
    )
    correspondent_account = fields.String(validate=validate.Length(max=30))
    settlement_account = fields.String(required=True, validate=validate.Length(max=30))


class OrganizationInSchema(StrictSchema):
    name = fields.String(required=True, validate=_SHORT, metadata={"description": "full name"})
    short_name = fields.String(validate=_SHORT)
    legal_form = fields.String(validate=_SHORT)
    inn = fields.String(
        validate=validate.Length(max=20),
        metadata={"description": "10 digits (organization) or 12 (person)"},
    )
    kpp = fields.String(validate=validate.Length(max=20))
    ogrn = fields.String(
        validate=validate.Length(max=20),
        metadata={"description": "OGRN (13 digits) or OGRNIP (15)"},
    )
    okpo = fields.String(validate=validate.Length(max=20))
    legal_address = fields.Nested(AddressInSchema, allow_none=True)
    actual_address = fields.Nested(AddressInSchema, allow_none=True)
    postal_address = fields.Nested(AddressInSchema, allow_none=True)
    phones = _texts()
    emails = _texts()
    website = fields.String(validate=_SHORT)
    bank_accounts = fields.List(fields.Nested(BankAccountSchema), validate=validate.Length(max=20))
    tags = _texts(100)
    responsible = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "username of the responsible manager (default: you)"},
    )
    notes = fields.String(validate=_TEXT)
    attributes = fields.Dict(keys=fields.String(), metadata={"description": "custom attributes"})
    restricted = fields.Boolean(
        metadata={"description": "only writers and `readers` see a restricted organization"}
    )
    readers = _texts()
    writers = _texts()


class OrganizationPatchSchema(OrganizationInSchema, VersionMixin):
    pass


class AddressOutSchema(ma.Schema):
    index = fields.String()
    region = fields.String()
    city = fields.String()
    street = fields.String()
    house = fields.String()
    office = fields.String()


class BankAccountOutSchema(ma.Schema):
    bank_name = fields.String()
    bik = fields.String()
    correspondent_account = fields.String()
    settlement_account = fields.String()


class OrganizationSchema(TrackedSchema):
    name = fields.String()
    short_name = fields.String()
    display_name = fields.String()
    legal_form = fields.String()
    inn = fields.String()
    kpp = fields.String()
    ogrn = fields.String()
    okpo = fields.String()
    legal_address = fields.Nested(AddressOutSchema, allow_none=True)
    actual_address = fields.Nested(AddressOutSchema, allow_none=True)
    postal_address = fields.Nested(AddressOutSchema, allow_none=True)
    phones = fields.List(fields.String())
    emails = fields.List(fields.String())
    website = fields.String()
    bank_accounts = fields.List(fields.Nested(BankAccountOutSchema))
    tags = fields.List(fields.String())
    responsible = fields.String()
    notes = fields.String()
    attributes = fields.Dict()
    restricted = fields.Boolean()
    readers = fields.List(fields.String())
    writers = fields.List(fields.String())
    access = fields.Nested(RegistryAccessSchema)
    archived_at = UtcDateTime(allow_none=True)
    archived_by = fields.String(allow_none=True)


class OrganizationQuerySchema(ArchivedQuery):
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={
            "description": "name words (each matches the start of a word, any case, ё = е); "
            "10 or 12 digits search the INN, 13 or 15 the OGRN"
        },
    )
    match = fields.String(
        load_default="prefix",
        validate=validate.OneOf(["prefix", "contains"]),
        metadata={"description": "contains: fragments inside words too"},
    )
    inn = fields.String(validate=validate.Length(max=20))
    ogrn = fields.String(validate=validate.Length(max=20))
    phone = fields.String(validate=validate.Length(max=40))
    email = fields.String(validate=validate.Length(max=254))
    tag = fields.String(validate=validate.Length(max=100))
    responsible = fields.String(validate=validate.Length(max=64))
    sort = fields.String(
        load_default="name", validate=validate.OneOf(["name", "-name", "created", "-created"])
    )


class OrganizationPageSchema(ma.Schema):
    items = fields.List(fields.Nested(OrganizationSchema))
    next_cursor = fields.String(allow_none=True)


class RegistryAuditEventSchema(ma.Schema):
    id = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    action = fields.String()
    actor = fields.String()
    at = UtcDateTime()
    changes = fields.Dict()
    batch = fields.String(allow_none=True)


# -------------------------------------------------------------------------- contacts


class ContactInSchema(StrictSchema):
    organization = fields.String(required=True, validate=validate.Length(max=64))
    name = fields.String(required=True, validate=_SHORT)
    position = fields.String(validate=_SHORT)
    phones = _texts()
    emails = _texts()
    notes = fields.String(validate=_TEXT)
    is_primary = fields.Boolean()


class ContactPatchSchema(VersionMixin):
    name = fields.String(validate=_SHORT)
    position = fields.String(validate=_SHORT)
    phones = _texts()
    emails = _texts()
    notes = fields.String(validate=_TEXT)
    is_primary = fields.Boolean()


class ContactSchema(TrackedSchema):
    organization = fields.String()
    name = fields.String()
    position = fields.String()
    phones = fields.List(fields.String())
    emails = fields.List(fields.String())
    notes = fields.String()
    is_primary = fields.Boolean()


class ContactQuerySchema(ArchivedQuery):
    organization = fields.String(validate=validate.Length(max=64))
    q = fields.String(validate=validate.Length(max=200))
    phone = fields.String(validate=validate.Length(max=40))
    email = fields.String(validate=validate.Length(max=254))
    sort = fields.String(
        load_default="name", validate=validate.OneOf(["name", "-name", "created", "-created"])
    )


class ContactPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ContactSchema))
    next_cursor = fields.String(allow_none=True)


# --------------------------------------------------------------------------- actions


class ActionPatchSchema(VersionMixin):
    contact = fields.String(allow_none=True, validate=validate.Length(max=64))
    kind = fields.String(validate=validate.OneOf(ACTION_KINDS))
    by = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "who talked to the counterparty (default: you)"},
    )
    at = fields.AwareDateTime(default_timezone=None, metadata={"description": "when"})
    subject = fields.String(validate=_SHORT)
    content = fields.String(validate=_TEXT)
    result = fields.String(validate=_TEXT)
    follow_up_on = fields.Date(allow_none=True)


class ActionInSchema(ActionPatchSchema):
    organization = fields.String(required=True, validate=validate.Length(max=64))
    kind = fields.String(required=True, validate=validate.OneOf(ACTION_KINDS))


class ActionSchema(TrackedSchema):
    organization = fields.String()
    contact = fields.String(allow_none=True)
    kind = fields.String()
    by = fields.String()
    at = UtcDateTime()
    subject = fields.String()
    content = fields.String()
    result = fields.String()
    follow_up_on = fields.Date(allow_none=True)
    instance_id = fields.String(allow_none=True)


class ActionQuerySchema(ArchivedQuery):
    organization = fields.String(validate=validate.Length(max=64))
    contact = fields.String(validate=validate.Length(max=64))
    kind = fields.String(validate=validate.OneOf(ACTION_KINDS))
    by = fields.String(validate=validate.Length(max=64))
    since = fields.AwareDateTime(default_timezone=None)
    until = fields.AwareDateTime(default_timezone=None)
    sort = fields.String(load_default="-at", validate=validate.OneOf(["-at", "at"]))


class ActionPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ActionSchema))
    next_cursor = fields.String(allow_none=True)


# ------------------------------------------------------------------ products, suppliers


class ProductPatchSchema(VersionMixin):
    code = fields.String(validate=validate.Length(max=64))
    name = fields.String(validate=_SHORT)
    unit = fields.String(validate=validate.Length(max=20))
    product_type = fields.String(validate=validate.Length(max=100))
    price = _money(non_negative=True)
    currency = fields.String(validate=validate.Length(equal=3))
    description = fields.String(validate=_TEXT)


class ProductInSchema(ProductPatchSchema):
    code = fields.String(required=True, validate=validate.Length(max=64))
    name = fields.String(required=True, validate=_SHORT)


class ProductSchema(TrackedSchema):
    code = fields.String()
    name = fields.String()
    unit = fields.String()
    product_type = fields.String()
    price = _money()
    currency = fields.String()
    description = fields.String()


class ProductQuerySchema(ArchivedQuery):
    q = fields.String(validate=validate.Length(max=200))
    product_type = fields.String(validate=validate.Length(max=100))
    sort = fields.String(load_default="name", validate=validate.OneOf(["name", "-name", "code"]))


class ProductPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ProductSchema))
    next_cursor = fields.String(allow_none=True)


class SupplierPatchSchema(VersionMixin):
    product_types = _texts()
    products = fields.List(
        fields.String(validate=validate.Length(max=64)), validate=validate.Length(max=1000)
    )
    notes = fields.String(validate=_TEXT)


class SupplierInSchema(SupplierPatchSchema):
    organization = fields.String(required=True, validate=validate.Length(max=64))


class SupplierSchema(TrackedSchema):
    organization = fields.String()
    product_types = fields.List(fields.String())
    products = fields.List(fields.String())
    notes = fields.String()


class SupplierQuerySchema(ArchivedQuery):
    organization = fields.String(validate=validate.Length(max=64))
    product_type = fields.String(validate=validate.Length(max=100))
    product = fields.String(validate=validate.Length(max=64))
    sort = fields.String(load_default="name", validate=validate.OneOf(["name", "-name"]))


class SupplierPageSchema(ma.Schema):
    items = fields.List(fields.Nested(SupplierSchema))
    next_cursor = fields.String(allow_none=True)


# ----------------------------------------------------------- contracts, invoices, deliveries


class ContractPatchSchema(VersionMixin):
    role = fields.String(
        validate=validate.OneOf(CONTRACT_ROLES),
        metadata={"description": "executor: we sell; customer: we buy"},
    )
    number = fields.String(validate=validate.Length(max=100))
    date = fields.Date(allow_none=True)
    subject = fields.String(validate=_TEXT)
    amount = _money(non_negative=True)
    currency = fields.String(validate=validate.Length(equal=3))
    vat_rate = fields.Integer(allow_none=True, metadata={"description": "percent; null: no VAT"})
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    responsible = fields.String(validate=validate.Length(max=64))
    files = fields.List(
        fields.String(validate=validate.Length(max=64)), validate=validate.Length(max=100)
    )
    notes = fields.String(validate=_TEXT)


class ContractInSchema(ContractPatchSchema):
    organization = fields.String(required=True, validate=validate.Length(max=64))
    role = fields.String(required=True, validate=validate.OneOf(CONTRACT_ROLES))
    number = fields.String(required=True, validate=validate.Length(max=100))
    stage = fields.String(
        validate=validate.OneOf(CONTRACT_STAGES), metadata={"description": "default: draft"}
    )


class StageSchema(VersionMixin):
    stage = fields.String(required=True, validate=validate.OneOf(CONTRACT_STAGES))


class ContractSchema(TrackedSchema):
    organization = fields.String()
    role = fields.String()
    number = fields.String()
    date = fields.Date(allow_none=True)
    subject = fields.String()
    amount = _money()
    currency = fields.String()
    vat_rate = fields.Integer(allow_none=True)
    vat_amount = _money(allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    stage = fields.String()
    responsible = fields.String()
    files = fields.List(fields.String())
    notes = fields.String()


class ContractQuerySchema(ArchivedQuery):
    organization = fields.String(validate=validate.Length(max=64))
    role = fields.String(validate=validate.OneOf(CONTRACT_ROLES))
    stage = fields.String(validate=validate.OneOf(CONTRACT_STAGES))
    responsible = fields.String(validate=validate.Length(max=64))
    number = fields.String(validate=validate.Length(max=100))
    sort = fields.String(
        load_default="-created", validate=validate.OneOf(["-created", "created", "number"])
    )


class ContractPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ContractSchema))
    next_cursor = fields.String(allow_none=True)


class InvoicePatchSchema(VersionMixin):
    number = fields.String(validate=validate.Length(max=100))
    date = fields.Date()
    amount = _money(non_negative=True)
    currency = fields.String(validate=validate.Length(equal=3))
    due_on = fields.Date(allow_none=True)
    paid_amount = _money(non_negative=True)
    paid_on = fields.Date(allow_none=True)
    cancelled = fields.Boolean()


class InvoiceInSchema(InvoicePatchSchema):
    contract = fields.String(required=True, validate=validate.Length(max=64))
    number = fields.String(required=True, validate=validate.Length(max=100))
    amount = _money(required=True, non_negative=True)


class InvoiceSchema(TrackedSchema):
    contract = fields.String()
    organization = fields.String()
    role = fields.String()
    number = fields.String()
    date = fields.Date()
    amount = _money()
    currency = fields.String()
    due_on = fields.Date(allow_none=True)
    paid_amount = _money()
    paid_on = fields.Date(allow_none=True)
    status = fields.String()


class InvoiceQuerySchema(PageQuerySchema):
    organization = fields.String(validate=validate.Length(max=64))
    contract = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    overdue = fields.Boolean(metadata={"description": "unpaid and past the due date"})
    sort = fields.String(load_default="-created", validate=validate.OneOf(["-created", "created"]))


class InvoicePageSchema(ma.Schema):
    items = fields.List(fields.Nested(InvoiceSchema))
    next_cursor = fields.String(allow_none=True)


class DeliveryItemInSchema(StrictSchema):
    product = fields.String(allow_none=True, validate=validate.Length(max=64))
    name = fields.String(validate=_SHORT, metadata={"description": "default: the product's"})
    unit = fields.String(validate=validate.Length(max=20))
    quantity = AmountField(required=True, places=3, positive=True)
    price = _money(non_negative=True, metadata={"description": "default: the product's price"})


class DeliveryPatchSchema(VersionMixin):
    date = fields.Date()
    items = fields.List(fields.Nested(DeliveryItemInSchema), validate=validate.Length(max=500))
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    notes = fields.String(validate=_TEXT)


class DeliveryInSchema(DeliveryPatchSchema):
    contract = fields.String(required=True, validate=validate.Length(max=64))
    items = fields.List(
        fields.Nested(DeliveryItemInSchema), required=True, validate=validate.Length(min=1, max=500)
    )


class DeliveryItemSchema(ma.Schema):
    product = fields.String(allow_none=True)
    name = fields.String()
    unit = fields.String()
    quantity = AmountField()
    price = _money()


class DeliverySchema(TrackedSchema):
    contract = fields.String()
    organization = fields.String()
    role = fields.String()
    date = fields.Date()
    items = fields.List(fields.Nested(DeliveryItemSchema))
    total = _money()
    status = fields.String()
    notes = fields.String()


class DeliveryQuerySchema(PageQuerySchema):
    organization = fields.String(validate=validate.Length(max=64))
    contract = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    product = fields.String(validate=validate.Length(max=64))
    sort = fields.String(load_default="-created", validate=validate.OneOf(["-created", "created"]))


class DeliveryPageSchema(ma.Schema):
    items = fields.List(fields.Nested(DeliverySchema))
    next_cursor = fields.String(allow_none=True)


# ----------------------------------------------------------------------------- card


class ContractTotalsSchema(ma.Schema):
    count = fields.Integer()
    active = fields.Integer()
    amount = _money()
    active_amount = _money()


class InvoiceTotalsSchema(ma.Schema):
    count = fields.Integer()
    issued = _money()
    paid = _money()
    unpaid = _money()
    overdue = _money()
    overdue_count = fields.Integer()


class CardTaskSchema(ma.Schema):
    id = fields.String(attribute="task_guid")
    name = fields.String()
    bpmn_id = fields.String()
    process_key = fields.String()
    instance_id = fields.String()
    assignee = fields.String(allow_none=True)
    candidates = fields.List(fields.String())
    due_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime(allow_none=True)
    subject = fields.Dict(allow_none=True)


class CardProcessSchema(ma.Schema):
    id = fields.String(attribute="_id")
    process_key = fields.String()
    definition_version = fields.Integer()
    status = fields.String()
    started_by = fields.String()
    started_at = UtcDateTime(allow_none=True)
    subject = fields.Dict(allow_none=True)


class OrganizationCardSchema(ma.Schema):
    organization = fields.Nested(OrganizationSchema)
    contacts = fields.List(fields.Nested(ContactSchema))
    actions = fields.List(fields.Nested(ActionSchema))
    contracts = fields.List(fields.Nested(ContractSchema))
    contract_totals = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(ContractTotalsSchema),
        metadata={"description": "per role: executor, customer"},
    )
    invoices = fields.List(fields.Nested(InvoiceSchema))
    invoice_totals = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(InvoiceTotalsSchema),
        metadata={"description": "per role: executor, customer"},
    )
    deliveries = fields.List(fields.Nested(DeliverySchema))
    supplier = fields.Nested(SupplierSchema, allow_none=True)
    supplier_products = fields.List(fields.Nested(ProductSchema))
    open_tasks = fields.List(fields.Nested(CardTaskSchema))
    processes = fields.List(fields.Nested(CardProcessSchema))


# -------------------------------------------------------------------- import, export


class ImportFileSchema(StrictSchema):
    file = Upload(required=True, metadata={"description": "a CSV or XLSX file"})


class JsonMapping(fields.String):
    """A JSON object of strings sent as one form field."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            mapping = json.loads(text)
        except ValueError as exc:
            raise ma.ValidationError("not JSON") from exc
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str | None) for k, v in mapping.items()
        ):
            raise ma.ValidationError("a JSON object of column name → field name")
        return {k: v or "" for k, v in mapping.items()}


class ImportFormSchema(StrictSchema):
    format = fields.String(
        validate=validate.OneOf(["csv", "xlsx"]),
        metadata={"description": "default: from the file name or content"},
    )
    mapping = JsonMapping(
        validate=validate.Length(max=20000),
        metadata={"description": 'JSON object: file column → field ("" ignores the column)'},
    )
    dry_run = fields.Boolean(load_default=False)
    allow_partial = fields.Boolean(
        load_default=False, metadata={"description": "write the good rows even if some are bad"}
    )


class ImportRowErrorSchema(ma.Schema):
    row = fields.Integer(metadata={"description": "line of the file; the header is line 1"})
    errors = fields.Dict()


class ImportReportSchema(ma.Schema):
    kind = fields.String()
    batch = fields.String()
    dry_run = fields.Boolean()
    total = fields.Integer()
    valid = fields.Integer()
    created = fields.Integer()
    skipped = fields.Integer()
    written = fields.Boolean()
    columns = fields.Dict(keys=fields.String(), values=fields.String())
    ignored = fields.List(fields.String())
    errors = fields.List(fields.Nested(ImportRowErrorSchema))


class OrganizationExportQuerySchema(OrganizationQuerySchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))


class ContactExportQuerySchema(StrictSchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))
    organization = fields.String(validate=validate.Length(max=64))
