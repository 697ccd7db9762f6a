"""Marshmallow schemas of the sales API (sales/): strict input, declared output."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from sales.analytics import GROUPINGS
from sales.campaigns import CALL_OUTCOMES, CHANNELS
from sales.models import STAGE_KINDS
from sales.segments import TARGETS

from .registry_schemas import ArchivedQuery, TrackedSchema, VersionMixin, _money
from .schemas import StrictSchema, UtcDateTime

_ID = validate.Length(max=64)
_KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$", error="lowercase letters, digits and _")
_PERCENT = validate.Range(min=0, max=100)
_MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="a month YYYY-MM")


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
    campaign = fields.String(
        allow_none=True,
        validate=_ID,
        metadata={"description": "the campaign the deal came from; source defaults to campaign"},
    )
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
    campaign = fields.String(allow_none=True)
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
    campaign = fields.String(validate=_ID)
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
    campaign = fields.String(validate=_ID)


class GroupQuerySchema(StrictSchema):
    by = fields.String(load_default="source", validate=validate.OneOf(GROUPINGS))


class GroupStageSchema(ma.Schema):
    stage = fields.String()
    kind = fields.String()
    reached = fields.Integer()
    conversion = fields.Decimal(as_string=True, allow_none=True)


class GroupFunnelSchema(ma.Schema):
    key = fields.String(metadata={"description": "the source, or the campaign id; empty: none"})
    name = fields.String(metadata={"description": "the source, or the campaign's name"})
    deals = fields.Integer()
    open = fields.Integer()
    won = fields.Integer()
    lost = fields.Integer()
    win_rate = fields.Decimal(as_string=True, allow_none=True)
    won_amount = _money()
    funnel = fields.List(fields.Nested(GroupStageSchema))


class GroupAnalyticsSchema(ma.Schema):
    pipeline = fields.String()
    by = fields.String()
    groups = fields.List(fields.Nested(GroupFunnelSchema))


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
    channel = fields.String(
        load_default="email",
        validate=validate.OneOf(CHANNELS),
        metadata={"description": "email, or call: a call task per contact for its manager"},
    )
    subject = fields.String(
        validate=validate.Length(max=300), metadata={"description": "required for e-mail"}
    )
    template = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20000),
        metadata={
            "description": "the e-mail body or the call script, with {{ name }}, "
            "{{ position }}, {{ organization }}"
        },
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


class CampaignListSchema(ma.Schema):
    items = fields.List(fields.Nested(CampaignSchema))


class CampaignStatsSchema(ma.Schema):
    campaign = fields.Nested(CampaignSchema)
    statuses = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "recipients per status"},
    )
    sent = fields.Integer(metadata={"description": "e-mails the SMTP server accepted"})
    bounced = fields.Integer()
    unsubscribed = fields.Integer(
        metadata={"description": "not sent (unsubscribed earlier) or unsubscribed by its link"}
    )
    replied = fields.Integer(metadata={"description": "recipients who replied"})
    replies = fields.Integer()
    calls = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "call tasks per outcome (open: not called yet)"},
    )
    deals = fields.Integer(metadata={"description": "deals naming the campaign"})
    won_deals = fields.Integer()
    won_amount = _money()


class RecipientSchema(ma.Schema):
    id = fields.String()
    contact = fields.String()
    organization = fields.String()
    email = fields.String()
    status = fields.String()
    sent_at = UtcDateTime(allow_none=True)
    error = fields.String(allow_none=True)
    replied_at = UtcDateTime(allow_none=True)
    replies = fields.Integer()


class RecipientQuerySchema(StrictSchema):
    status = fields.String(validate=validate.Length(max=20))


class RecipientListSchema(ma.Schema):
    items = fields.List(fields.Nested(RecipientSchema), metadata={"description": "at most 500"})


class ResponseInSchema(StrictSchema):
    email = fields.Email(required=True, metadata={"description": "the recipient who replied"})
    content = fields.String(validate=validate.Length(max=20000))
    message_id = fields.String(
        validate=validate.Length(max=300),
        metadata={"description": "the reply's Message-ID: a repeated report is recorded once"},
    )
    at = fields.AwareDateTime(allow_none=True, metadata={"description": "default: now"})


class ResponseSchema(ma.Schema):
    id = fields.String()
    campaign = fields.String()
    recipient = fields.String()
    contact = fields.String()
    organization = fields.String()
    email = fields.String()
    at = UtcDateTime()
    action = fields.String(metadata={"description": "the e-mail action logged"})


class ResponseListSchema(ma.Schema):
    items = fields.List(fields.Nested(ResponseSchema))


class CallQuerySchema(StrictSchema):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "done", ""]))
    campaign = fields.String(validate=_ID)
    assignee = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "sales heads and admins: whose tasks (default: everyone's)"},
    )


class CallSchema(TrackedSchema):
    campaign = fields.String()
    contact = fields.String()
    organization = fields.String()
    assignee = fields.String()
    contact_name = fields.String()
    organization_name = fields.String()
    phones = fields.List(fields.String())
    script = fields.String()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    note = fields.String()
    action = fields.String(allow_none=True)
    done_at = UtcDateTime(allow_none=True)
    done_by = fields.String(allow_none=True)


class CallListSchema(ma.Schema):
    items = fields.List(fields.Nested(CallSchema))


class CallOutcomeSchema(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(CALL_OUTCOMES))
    note = fields.String(validate=validate.Length(max=4000))


class UnsubscribeStateSchema(ma.Schema):
    email = fields.String()
    unsubscribed = fields.Boolean()


class PlanInSchema(StrictSchema):
    manager = fields.String(
        validate=validate.Length(min=1, max=64), metadata={"description": "default: the caller"}
    )
    month = fields.String(required=True, validate=_MONTH)
    pipeline = fields.String(
        allow_none=True, validate=_ID, metadata={"description": "key or id; none: overall"}
    )
    amount = _money(non_negative=True, required=True)
    currency = fields.String(validate=validate.Length(equal=3))


class PlanPatchSchema(VersionMixin):
    amount = _money(non_negative=True)
    currency = fields.String(validate=validate.Length(equal=3))


class PlanSchema(TrackedSchema):
    manager = fields.String()
    month = fields.String()
    pipeline = fields.String(allow_none=True)
    amount = _money()
    currency = fields.String()


class PlanListSchema(ma.Schema):
    items = fields.List(fields.Nested(PlanSchema))


class PlanQuerySchema(StrictSchema):
    month_from = fields.String(validate=_MONTH, metadata={"description": "default: January"})
    month_to = fields.String(validate=_MONTH, metadata={"description": "default: December"})
    manager = fields.String(validate=validate.Length(max=64))
    pipeline = fields.String(validate=_ID)
    currency = fields.String(load_default="RUB", validate=validate.Length(equal=3))


class PlanFactRowSchema(ma.Schema):
    manager = fields.String()
    month = fields.String()
    plan = _money()
    fact = _money(metadata={"description": "won deals' amount, by their close date"})
    won_deals = fields.Integer()
    percent = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "fact/plan"})


class PlanFactSchema(ma.Schema):
    month_from = fields.String()
    month_to = fields.String()
    currency = fields.String()
    pipeline = fields.String(allow_none=True)
    rows = fields.List(fields.Nested(PlanFactRowSchema))
    plan = _money()
    fact = _money()
    percent = fields.Decimal(as_string=True, allow_none=True)


class BounceSchema(StrictSchema):
    email = fields.Email(required=True)
    reason = fields.String(validate=validate.Length(max=1000))


class BounceResultSchema(ma.Schema):
    changed = fields.Integer()


class UnsubscribedSchema(ma.Schema):
    email = fields.String()
