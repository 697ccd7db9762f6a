"""Deals: an organization may buy products; the deal moves through a pipeline's stages.

A deal is read and changed as its organization is (it carries a copy of the organization's
access list). Every stage entry is appended to `stage_log` with its time, so time in stage
is measurable; entering a stage that names a procedure starts it once per entry (the
instance id is reserved in the log entry before the start, so a retry reuses it).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bson import ObjectId

from accounts.access import read_filter
from engine import instances
from engine.actor import Actor
from engine.models import ProcessInstance, utcnow
from registry import contracts, organizations
from registry.common import (
    FieldErrors,
    check_currency,
    check_length,
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
from registry.errors import RegistryInvalid
from registry.models import Contact, Product
from registry.pagination import Page, Sort, paginate, pick_sort, sorts

from . import pipelines
from .campaigns import Campaign
from .errors import DealClosed, DealNotFound, PipelineNotFound
from .models import Deal, DealLine, Pipeline, Stage, StageEntry

MAX_LINES = 100
CAMPAIGN_SOURCE = "campaign"  # a deal's source when it names a campaign and no source
EDITABLE = (
    "title",
    "contacts",
    "responsible",
    "source",
    "campaign",
    "lines",
    "amount",
    "currency",
    "probability",
    "expected_close",
    "notes",
)
SORTS = sorts(
    Sort("-created", "id", descending=True, unique=True),
    Sort("created", "id", unique=True),
    Sort("amount", "amount_minor"),
    Sort("-amount", "amount_minor", descending=True),
)
_HUNDRED = Decimal(100)


def _decimal(value: Any, field: str, errors: FieldErrors) -> Decimal | None:
    try:
        number = Decimal(str(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        errors.add(field, "not a number")
        return None
    if not number.is_finite():
        errors.add(field, "not a number")
        return None
    return number


def _or(value: Any, default: Any) -> Any:
    return default if value is None or value == "" else value


def line_amount(quantity: Decimal, price_minor: int, discount: Decimal) -> int:
    """quantity × price less discount percent, in minor units rounded half up."""
    exact = quantity * Decimal(price_minor) * (_HUNDRED - discount) / _HUNDRED
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def clean_lines(raw: Any, errors: FieldErrors) -> list[DealLine]:
    """Product lines from input; the price defaults to the product's."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.add("lines", "must be a list")
        return []
    if len(raw) > MAX_LINES:
        errors.add("lines", f"at most {MAX_LINES} lines")
        return []
    wanted: list[tuple[int, dict[str, Any], ObjectId]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.add(f"lines.{i}", "must be an object")
            continue
        oid = reference_id(item.get("product"), f"lines.{i}.product", errors)
        if oid is not None:
            wanted.append((i, item, oid))
    products = {p.id: p for p in Product.objects(id__in=[o for _, _, o in wanted])}
    lines: list[DealLine] = []
    for i, item, oid in wanted:
        product = products.get(oid)
        if product is None or product.archived:
            errors.add(f"lines.{i}.product", "no such product")
            continue
        quantity = _decimal(_or(item.get("quantity"), 1), f"lines.{i}.quantity", errors)
        if quantity is not None and (
            quantity <= 0 or quantity != quantity.quantize(Decimal("0.001"))
        ):
            errors.add(f"lines.{i}.quantity", "more than 0, at most 3 decimal places")
        discount = _decimal(_or(item.get("discount"), 0), f"lines.{i}.discount", errors)
        if discount is not None and not 0 <= discount <= 100:
            errors.add(f"lines.{i}.discount", "a percent from 0 to 100")
        price = item.get("price")
        price_minor = (
            product.price_minor
            if price is None
            else to_minor(price, f"lines.{i}.price", errors, required=True)
        )
        if quantity is None or discount is None or f"lines.{i}.quantity" in errors:
            continue
        if f"lines.{i}.discount" in errors or f"lines.{i}.price" in errors:
            continue
        lines.append(
            DealLine(
                product=oid,
                name=product.name,
                quantity=str(quantity.normalize()),
                price_minor=price_minor,
                discount=str(discount.normalize()),
                amount_minor=line_amount(quantity, price_minor, discount),
            )
        )
    return lines


def _contacts(raw: Any, organization: ObjectId, errors: FieldErrors) -> list[ObjectId]:
    ids: list[ObjectId] = []
    for i, value in enumerate(raw or []):
        oid = reference_id(value, f"contacts.{i}", errors)
        if oid is not None and oid not in ids:
            ids.append(oid)
    if ids:
        known = {c.id for c in Contact.objects(id__in=ids, organization=organization).only("id")}
        for i, oid in enumerate(ids):
            if oid not in known:
                errors.add(f"contacts.{i}", "no such contact of the deal's organization")
    return ids


def _campaign(raw: Any, errors: FieldErrors) -> ObjectId | None:
    if raw in (None, ""):
        return None
    oid = reference_id(raw, "campaign", errors)
    if oid is not None and not Campaign.objects(id=oid).only("id").first():
        errors.add("campaign", "no such campaign")
    return oid


def clean(
    values: dict[str, Any], organization: ObjectId, actor: Actor
) -> tuple[dict[str, Any], FieldErrors]:
    """Normalized deal fields and the field errors found."""
    errors = FieldErrors()
    out: dict[str, Any] = {
        k: text(values.get(k)) for k in ("title", "responsible", "source", "currency", "notes")
    }
    if not out["title"]:
        errors.add("title", "is required")
    check_length(errors, "title", out["title"], 300)
    check_length(errors, "source", out["source"], 200)
    check_length(errors, "notes", out["notes"])
    out["responsible"] = out["responsible"] or actor.username
    check_length(errors, "responsible", out["responsible"], 64)
    out["currency"] = out["currency"] or "RUB"
    check_currency(errors, "currency", out["currency"])
    out["contacts"] = _contacts(values.get("contacts"), organization, errors)
    out["campaign"] = _campaign(values.get("campaign"), errors)
    if out["campaign"] is not None and not out["source"]:
        out["source"] = CAMPAIGN_SOURCE
    out["lines"] = clean_lines(values.get("lines"), errors)
    if out["lines"]:
        # With product lines the amount is theirs; a sent amount must agree.
        out["amount_minor"] = sum(line.amount_minor for line in out["lines"])
    else:
        out["amount_minor"] = to_minor(values.get("amount"), "amount", errors)
    close = values.get("expected_close")
    if close is not None and (isinstance(close, datetime) or not isinstance(close, date)):
        errors.add("expected_close", "must be a date")
        close = None
    out["expected_close"] = close
    probability = values.get("probability")
    if probability is not None and (
        isinstance(probability, bool)
        or not isinstance(probability, int)
        or not 0 <= probability <= 100
    ):
        errors.add("probability", "a whole percent from 0 to 100")
        probability = None
    out["probability"] = probability
    return out, errors


def _pipeline(actor: Actor, value: Any) -> Pipeline:
    try:
        return pipelines.get(actor, value)
    except PipelineNotFound as exc:
        raise RegistryInvalid("unknown pipeline", {"pipeline": ["no such pipeline"]}) from exc


def _first_open(pipeline: Pipeline) -> Stage:
    return next(s for s in pipeline.ordered() if s.kind == "open")


def create(actor: Actor, values: dict[str, Any]) -> Deal:
    """Open a deal with an organization the actor may change, in the pipeline's first stage
    (or the `stage` given, which must be open)."""
    pipeline = _pipeline(actor, values.get("pipeline"))
    org = organizations.parent(actor, values.get("organization"))
    cleaned, errors = clean(values, org.id, actor)
    stage_key = text(values.get("stage"))
    stage = pipeline.stage(stage_key) if stage_key else _first_open(pipeline)
    if stage is None:
        errors.add("stage", f"one of: {', '.join(s.key for s in pipeline.ordered())}")
    elif stage.kind != "open":
        errors.add("stage", "a new deal starts in an open stage; move it to win or lose it")
    errors.raise_if_any("the deal has invalid fields")
    assert stage is not None
    now = utcnow()
    if cleaned["probability"] is None:
        cleaned["probability"] = stage.probability
    deal = Deal(
        pipeline=pipeline.id,
        stage=stage.key,
        stage_kind=stage.kind,
        stage_entered_at=now,
        organization=org.id,
        access=org.access,
        stage_log=[StageEntry(stage=stage.key, at=now, by=actor.username)],
        **cleaned,
    )
    stamp_created(deal, actor)
    deal.save(force_insert=True)
    return deal


def get(actor: Actor, deal_id: Any) -> Deal:
    """A deal the actor may read."""
    oid = object_id(deal_id, DealNotFound, "deal")
    return load_readable(Deal, oid, actor, DealNotFound, "deal")


def _writable(actor: Actor, deal_id: Any) -> Deal:
    deal = get(actor, deal_id)
    ensure_writable(actor, deal.access, "deal")
    ensure_active(deal, "deal")
    if deal.stage_kind == "won":
        raise DealClosed("the deal is won; it changes no more")
    return deal


def update(
    actor: Actor, deal_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Deal:
    """Change the given fields of a deal (the stage changes with `move`)."""
    deal = _writable(actor, deal_id)
    current: dict[str, Any] = {
        "title": deal.title,
        "contacts": [str(c) for c in deal.contacts],
        "responsible": deal.responsible,
        "source": deal.source,
        "campaign": str(deal.campaign) if deal.campaign else None,
        "lines": [
            {
                "product": str(line.product),
                "quantity": line.quantity,
                "price": str(line.price),
                "discount": line.discount,
            }
            for line in deal.lines
        ],
        "amount": str(deal.amount),
        "currency": deal.currency,
        "probability": deal.probability,
        "expected_close": deal.expected_close,
        "notes": deal.notes,
    }
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise RegistryInvalid(
            "not editable", {k: ["cannot be changed here"] for k in sorted(unknown)}
        )
    cleaned, errors = clean({**current, **changes}, deal.organization, actor)
    errors.raise_if_any("the deal has invalid fields")
    for key, value in cleaned.items():
        setattr(deal, key, value)
    # The organization's access may have changed since the deal was made: take it again.
    deal.access = organizations.get(actor, deal.organization).access
    save_changed(deal, actor, expected_version)
    return deal


def move(
    actor: Actor,
    deal_id: Any,
    stage_key: str,
    expected_version: int | None = None,
    lost_reason: str | None = None,
    probability: int | None = None,
) -> Deal:
    """Move a deal to another stage of its pipeline; start the stage's procedure, if any.

    A lost stage needs a reason; a won deal is final. The probability becomes the stage's
    default unless one is given.
    """
    deal = get(actor, deal_id)
    ensure_writable(actor, deal.access, "deal")
    ensure_active(deal, "deal")
    pipeline = Pipeline.objects(id=deal.pipeline).first()
    assert pipeline is not None
    stage = pipeline.stage(text(stage_key))
    if stage is None:
        raise RegistryInvalid(
            "unknown stage", {"stage": [f"one of: {', '.join(s.key for s in pipeline.ordered())}"]}
        )
    if stage.key == deal.stage:
        # Moving to the stage it is in retries the stage's procedure if its start failed.
        start_procedure(actor, deal)
        return deal
    if deal.stage_kind == "won":
        raise DealClosed("the deal is won; it changes no more")
    errors = FieldErrors()
    reason = text(lost_reason)
    if stage.kind == "lost" and not reason:
        errors.add("lost_reason", "is required to lose a deal")
    check_length(errors, "lost_reason", reason, 1000)
    if probability is not None and (
        isinstance(probability, bool)
        or not isinstance(probability, int)
        or not 0 <= probability <= 100
    ):
        errors.add("probability", "a whole percent from 0 to 100")
    errors.raise_if_any("the stage change has invalid fields")
    now = utcnow()
    if deal.stage_log:
        deal.stage_log[-1].left_at = now
    entry = StageEntry(stage=stage.key, at=now, by=actor.username)
    if stage.process_key:
        entry.instance_id, entry.process_key = ObjectId(), stage.process_key
    deal.stage_log.append(entry)
    deal.stage, deal.stage_kind, deal.stage_entered_at = stage.key, stage.kind, now
    deal.probability = stage.probability if probability is None else probability
    deal.lost_reason = reason if stage.kind == "lost" else ""
    deal.closed_at = now if stage.kind != "open" else None
    save_changed(deal, actor, expected_version)
    if stage.process_key:
        start_procedure(actor, deal)
    return deal


def start_procedure(actor: Actor, deal: Deal) -> dict[str, Any] | None:
    """Start the procedure reserved by the deal's last stage entry, unless it runs already
    (None then). Won deals get a contract made from the deal first (one, even on retries)."""
    entry = deal.stage_log[-1] if deal.stage_log else None
    if entry is None or entry.instance_id is None or not entry.process_key:
        return None
    if ProcessInstance.objects(id=entry.instance_id).only("id").first() is not None:
        return None  # started already; starting again would rerun its first service tasks
    variables: dict[str, Any] = {
        "deal_id": str(deal.id),
        "deal_title": deal.title,
        "amount_minor": deal.amount_minor,
        "currency": deal.currency,
        "organization_id": str(deal.organization),
        "stage": deal.stage,
    }
    subject: dict[str, Any]
    if deal.stage_kind == "won":
        if deal.contract is None:
            contract = contracts.create(
                actor,
                {
                    "organization": str(deal.organization),
                    "role": "executor",
                    "number": f"S-{str(deal.id)[-8:].upper()}",
                    "subject": deal.title,
                    "amount": deal.amount,
                    "currency": deal.currency,
                    "responsible": deal.responsible,
                },
            )
            # Written with a condition on the field, so a concurrent retry keeps one contract.
            Deal._get_collection().update_one(
                {"_id": deal.id, "contract": None}, {"$set": {"contract": contract.id}}
            )
            deal.reload("contract")
        subject = {"type": "contract", "id": str(deal.contract), "title": deal.title[:200]}
        variables["contract_id"] = str(deal.contract)
    else:
        subject = {"type": "organization", "id": str(deal.organization)}
    return instances.start(
        entry.process_key, actor, variables, subject=subject, instance_id=entry.instance_id
    )


def find(
    actor: Actor,
    *,
    pipeline: str | None = None,
    stage: str | None = None,
    stage_kind: str | None = None,
    organization: str | None = None,
    responsible: str | None = None,
    source: str | None = None,
    campaign: str | None = None,
    archived: bool | None = False,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Deal]:
    """Deals the actor may read that match the filters, newest first."""
    parts: list[dict[str, Any]] = []
    if pipeline:
        parts.append({"pipeline": pipelines.get(actor, pipeline).id})
    if organization:
        parts.append({"organization": filter_id(organization, "organization")})
    if campaign:
        parts.append({"campaign": filter_id(campaign, "campaign")})
    for key, value in (
        ("stage", stage),
        ("stage_kind", stage_kind),
        ("responsible", responsible),
        ("source", source),
    ):
        if value:
            parts.append({key: value})
    if archived is not None:
        parts.append({"archived": archived})
    parts.append(read_filter(actor))
    where = merge_filters(*parts)
    return paginate(Deal, where, pick_sort(SORTS, sort, "-created"), limit, cursor)


def board(actor: Actor, pipeline_id: Any, per_stage: int = 100) -> dict[str, Any]:
    """A pipeline's stages in order, each with the deals the actor may read in it."""
    pipeline = pipelines.get(actor, pipeline_id)
    columns = []
    for stage in pipeline.ordered():
        where = merge_filters(
            {"pipeline": pipeline.id, "stage": stage.key, "archived": False}, read_filter(actor)
        )
        deals = list(Deal.objects(__raw__=where).order_by("-id").limit(per_stage))
        columns.append({"stage": stage, "deals": deals})
    return {"pipeline": pipeline, "columns": columns}
