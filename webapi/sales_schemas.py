"""Marshmallow schemas of the sales API (sales/): strict input, declared output."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from sales.models import STAGE_KINDS
from sales.segments import TARGETS

from .registry_schemas import ArchivedQuery, TrackedSchema, VersionMixin, _money
from .schemas import StrictSchema, UtcDateTime

_ID = validate.Length(max=64)
_KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$", error="lowercase letters, digits and _")
_PERCENT = validate.Range(min=0, max=100)


class StageInSchema(StrictSchema):
    key = fields.String(required=True, validate=_KEY)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    order = fields.Integer(metadata={"description": "board order; default: the list order"})
    probability = fields.Integer(
        validate=_PERCENT, metadata={"description": "percent; default 0, won 100"}
    )
    kind = fields.String(validate=validate.OneOf(STAGE_KINDS), load_default="open")
    process_key = fields.String(
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "a procedure started when a deal enters the stage"},
    )


class PipelinePatchSchema(VersionMixin):
    name = fields.String(validate=validate.Length(min=1, max=200))
    stages = fields.List(fields.Nested(StageInSchema), validate=validate.Length(min=1, max=30))


class PipelineInSchema(PipelinePatchSchema):
    key = fields.String(required=True, validate=_KEY)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    stages = fields.List(
        fields.Nested(StageInSchema), required=True, validate=validate.Length(min=1, max=30)
    )


class StageSchema(ma.Schema):
    key = fields.String()
    name = fields.String()
    order = fields.Integer()
    probability = fields.Integer()
    kind = fields.String()
    process_key = fields.String(allow_none=True)


class PipelineSchema(TrackedSchema):
    key = fields.String()
    name = fields.String()
    stages = fields.Method("_stages")

    def _stages(self, obj: object) -> list[dict[str, object]]:
        return StageSchema(many=True).dump(obj.ordered())  # type: ignore[attr-defined]


class PipelineListSchema(ma.Schema):
    items = fields.List(fields.Nested(PipelineSchema))


class DealLineInSchema(StrictSchema):
    product = fields.String(required=True, validate=_ID)
    quantity = fields.Decimal(
        as_string=True, allow_none=True, metadata={"description": "default 1"}
    )
    price = _money(non_negative=True, allow_none=True)
    discount = fields.Decimal(as_string=True, allow_none=True)


class DealPatchSchema(VersionMixin):
    title = fields.String(validate=validate.Length(min=1, max=300))
    contacts = fields.List(fields.String(validate=_ID), validate=validate.Length(max=50))
    responsible = fields.String(validate=validate.Length(max=64))
    source = fields.String(validate=validate.Length(max=200))
    lines = fields.List(fields.Nested(DealLineInSchema), validate=validate.Length(max=100))
    amount = _money(non_negative=True, metadata={"description": "ignored when lines are given"})
    currency = fields.String(validate=validate.Length(equal=3))
    probability = fields.Integer(validate=_PERCENT, allow_none=True)
    expected_close = fields.Date(allow_none=True)
    notes = fields.String(validate=validate.Length(max=4000))


class DealInSchema(DealPatchSchema):
    pipeline = fields.String(required=True, validate=_ID, metadata={"description": "key or id"})
    organization = fields.String(required=True, validate=_ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    stage = fields.String(validate=_ID, metadata={"description": "default: the first stage"})


class MoveSchema(VersionMixin):
    stage = fields.String(required=True, validate=_ID)
    lost_reason = fields.String(
        validate=validate.Length(max=1000), metadata={"description": "required to lose a deal"}
    )
    probability = fields.Integer(validate=_PERCENT, allow_none=True)


class DealLineSchema(ma.Schema):
    product = fields.String()
    name = fields.String()
    quantity = fields.String()
    price = _money()
    discount = fields.String()
    amount = _money()


class StageEntrySchema(ma.Schema):
    stage = fields.String()
    at = UtcDateTime()
    by = fields.String()
    left_at = UtcDateTime(allow_none=True)
    instance_id = fields.String(allow_none=True)
    process_key = fields.String(allow_none=True)


class DealSchema(TrackedSchema):
    title = fields.String()
    pipeline = fields.String()
    stage = fields.String()
    stage_kind = fields.String()
    stage_entered_at = UtcDateTime()
    organization = fields.String()
    contacts = fields.List(fields.String())
    responsible = fields.String()
    source = fields.String()
    lines = fields.List(fields.Nested(DealLineSchema))
    amount = _money()
    currency = fields.String()
    probability = fields.Integer()
    expected_close = fields.Date(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    lost_reason = fields.String()
    contract = fields.String(allow_none=True)
    notes = fields.String()
    stage_log = fields.List(fields.Nested(StageEntrySchema))


class DealQuerySchema(ArchivedQuery):
    pipeline = fields.String(validate=_ID)
    stage = fields.String(validate=_ID)
    stage_kind = fields.String(validate=validate.OneOf(STAGE_KINDS))
    organization = fields.String(validate=_ID)
    responsible = fields.String(validate=validate.Length(max=64))
    source = fields.String(validate=validate.Length(max=200))
    sort = fields.String(
        load_default="-created",
        validate=validate.OneOf(["-created", "created", "amount", "-amount"]),
    )


class DealPageSchema(ma.Schema):
    items = fields.List(fields.Nested(DealSchema))
    next_cursor = fields.String(allow_none=True)


class AnalyticsQuerySchema(StrictSchema):
    responsible = fields.String(validate=validate.Length(max=64))
    source = fields.String(validate=validate.Length(max=200))


class FunnelRowSchema(ma.Schema):
    stage = fields.String()
    name = fields.String()
    kind = fields.String()
    count = fields.Integer(metadata={"description": "deals in the stage now"})
    amount = _money()
    reached = fields.Integer(metadata={"description": "deals that ever entered the stage"})
    conversion = fields.Decimal(
        as_string=True,
        allow_none=True,
        metadata={"description": "share of those that reached the next open (or won) stage"},
    )
    average_days_in_stage = fields.Decimal(as_string=True, allow_none=True)


class AnalyticsSchema(ma.Schema):
    pipeline = fields.String()
    funnel = fields.List(fields.Nested(FunnelRowSchema))
    won = fields.Integer()
    lost = fields.Integer()
    open = fields.Integer()
    win_rate = fields.Decimal(as_string=True, allow_none=True)
    won_amount = _money()
    average_won_amount = _money(allow_none=True)
    average_cycle_days = fields.Decimal(as_string=True, allow_none=True)
    forecast = _money(metadata={"description": "Σ amount × probability over open deals"})


class SegmentConditionsSchema(StrictSchema):
    tags = fields.List(
        fields.String(validate=validate.Length(max=200)), validate=validate.Length(max=50)
    )
    region = fields.String(validate=validate.Length(max=200))
    industry = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "the organization's custom attribute `industry`"},
    )
    responsible = fields.String(validate=validate.Length(max=64))
    last_action_before = fields.Date()
    last_action_after = fields.Date()
    deal_pipeline = fields.String(validate=_ID)
    deal_stage = fields.String(validate=_ID)
    contracts_amount_min = _money(non_negative=True)


class SegmentPatchSchema(VersionMixin):
    name = fields.String(validate=validate.Length(min=1, max=200))
    conditions = fields.Nested(SegmentConditionsSchema)


class SegmentInSchema(SegmentPatchSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    target = fields.String(load_default="organizations", validate=validate.OneOf(TARGETS))
    conditions = fields.Nested(SegmentConditionsSchema, load_default=dict)


class SegmentSchema(TrackedSchema):
    name = fields.String()
    target = fields.String()
    owner = fields.String()
    conditions = fields.Dict()


class SegmentListSchema(ma.Schema):
    items = fields.List(fields.Nested(SegmentSchema))


class MemberSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    organization = fields.String(metadata={"description": "contacts: their organization"})
    emails = fields.List(fields.String())


class MembersSchema(ma.Schema):
    segment = fields.Nested(SegmentSchema)
    count = fields.Integer()
    items = fields.List(fields.Nested(MemberSchema), metadata={"description": "the first 200"})


class CampaignInSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    segment = fields.String(required=True, validate=_ID, metadata={"description": "of contacts"})
    subject = fields.String(required=True, validate=validate.Length(min=1, max=300))
    template = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20000),
        metadata={"description": "text with {{ name }}, {{ position }}, {{ organization }}"},
    )
    send_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "when to send; default: at launch"}
    )


class CampaignSchema(TrackedSchema):
    name = fields.String()
    segment = fields.String()
    channel = fields.String()
    subject = fields.String()
    template = fields.String()
    send_at = UtcDateTime(allow_none=True)
    status = fields.String()
    recipients = fields.Integer()
    launched_by = fields.String(allow_none=True)


class CampaignStatsSchema(ma.Schema):
    campaign = fields.Nested(CampaignSchema)
    statuses = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "status → count"}
    )


class BounceSchema(StrictSchema):
    email = fields.Email(required=True)
    reason = fields.String(validate=validate.Length(max=1000))


class BounceResultSchema(ma.Schema):
    changed = fields.Integer()


class UnsubscribedSchema(ma.Schema):
    email = fields.String()
