"""Stored pipelines and deals.

Money is kept in minor units (kopecks) as integers, as in registry/, so sums in the
database are exact. A deal carries a copy of its organization's access list, so every
list and aggregation filters by access inside the query.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mongoengine import (
    DateField,
    DateTimeField,
    EmbeddedDocument,
    EmbeddedDocumentField,
    EmbeddedDocumentListField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from accounts.access import AccessList
from registry import repository
from registry.models import Tracked, to_money

STAGE_KINDS = ("open", "won", "lost")


class Stage(EmbeddedDocument):
    """One column of a pipeline."""

    key = StringField(required=True)  # stable within the pipeline; deals store it
    name = StringField(required=True)
    order = IntField(required=True)
    probability = IntField(default=0)  # percent, the default for deals entering the stage
    kind = StringField(required=True, default="open", choices=STAGE_KINDS)
    process_key = StringField(null=True)  # a procedure started when a deal enters the stage


class Pipeline(Tracked):
    """A configurable sequence of stages a deal moves through."""

    key = StringField(required=True)
    name = StringField(required=True)
    stages = EmbeddedDocumentListField(Stage)

    meta = {"collection": "sales_pipelines", "indexes": [{"fields": ["key"], "unique": True}]}

    def stage(self, key: str) -> Stage | None:
        """The stage with `key`, if the pipeline has it."""
        return next((s for s in self.stages if s.key == key), None)

    def ordered(self) -> list[Stage]:
        """Stages in board order."""
        return sorted(self.stages, key=lambda s: s.order)


class DealLine(EmbeddedDocument):
    """A product line: quantity × price less a discount (percent)."""

    product = ObjectIdField(required=True)
    name = StringField(default="")  # the product's name when the line was written
    quantity = StringField(required=True)  # a Decimal as text: quantities may be fractional
    price_minor = IntField(required=True)
    discount = StringField(default="0")  # percent, a Decimal as text
    amount_minor = IntField(required=True)

    @property
    def price(self) -> Decimal:
        return to_money(self.price_minor)

    @property
    def amount(self) -> Decimal:
        return to_money(self.amount_minor)


class StageEntry(EmbeddedDocument):
    """A deal entering a stage: when, by whom, and the procedure started for it."""

    stage = StringField(required=True)
    at = DateTimeField(required=True)
    by = StringField(required=True)
    left_at = DateTimeField(null=True)
    instance_id = ObjectIdField(null=True)  # reserved before the start: retries reuse it
    process_key = StringField(null=True)


class Deal(Tracked):
    """An opportunity: an organization may buy these products for this amount."""

    title = StringField(required=True)
    pipeline = ObjectIdField(required=True)
    stage = StringField(required=True)
    stage_kind = StringField(required=True, default="open", choices=STAGE_KINDS)
    stage_entered_at = DateTimeField(required=True)
    organization = ObjectIdField(required=True)
    contacts = ListField(ObjectIdField())
    responsible = StringField(default="")
    source = StringField(default="")
    campaign = ObjectIdField(null=True)  # the campaign the deal came from (sales/campaigns)
    lines = EmbeddedDocumentListField(DealLine)
    amount_minor = IntField(default=0)
    currency = StringField(default="RUB")
    probability = IntField(default=0)
    expected_close = DateField(null=True)
    closed_at = DateTimeField(null=True)
    lost_reason = StringField(default="")
    contract = ObjectIdField(null=True)  # made when the deal was won
    notes = StringField(default="")
    stage_log = EmbeddedDocumentListField(StageEntry)
    access = EmbeddedDocumentField(AccessList, default=AccessList)

    meta: dict[str, Any] = {
        "collection": "sales_deals",
        "indexes": [
            {"fields": ["pipeline", "stage"]},
            {"fields": ["organization"]},
            {"fields": ["responsible"]},
            {"fields": ["campaign"], "sparse": True},
            {"fields": ["access.read"]},
        ],
    }

    @property
    def amount(self) -> Decimal:
        return to_money(self.amount_minor)


# Deals carry the organization's access list: keep the copy when the organization's changes.
repository.link_to_organizations(Deal)
