"""Sales plans per manager and month, and the plan set against the fact.

A plan is an amount a manager means to win in a month, overall or in one pipeline. The
fact is the amount of the deals the manager (`responsible`) won in that month (by
`closed_at`), summed in the database. Who sees and changes plans: a manager their own;
the head of a department its members' (and those of its sub-departments); admins and
`sales_admins` everyone's. The rule is a condition of the plans query itself.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bson import ObjectId
from mongoengine import IntField, ObjectIdField, StringField
from pymongo.errors import DuplicateKeyError

from accounts.access import read_filter
from accounts.models import Department, User
from engine.actor import Actor
from engine.models import utcnow
from registry.common import (
    FieldErrors,
    check_currency,
    merge_filters,
    object_id,
    save_changed,
    stamp_created,
    text,
    to_minor,
)
from registry.errors import DuplicateObject, ObjectNotFound, RegistryForbidden, RegistryInvalid
from registry.models import Tracked, to_money

from . import pipelines
from .models import Deal

HEADS = "sales_admins"
MANAGERS = "sales"
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_DEPTH = 20  # department nesting followed downwards
MAX_MONTHS = 120


class PlanNotFound(ObjectNotFound):
    code = "plan_not_found"


class SalesPlan(Tracked):
    """What a manager means to win in a month (in one pipeline, or overall when None)."""

    manager = StringField(required=True)
    month = StringField(required=True)  # YYYY-MM: sorts and compares as text
    pipeline = ObjectIdField(null=True)
    amount_minor = IntField(default=0)
    currency = StringField(default="RUB")

    meta = {
        "collection": "sales_plans",
        "indexes": [
            {"fields": ["manager", "month", "pipeline"], "unique": True},
            {"fields": ["month"]},
        ],
    }

    @property
    def amount(self) -> Decimal:
        return to_money(self.amount_minor)


def month_start(month: str) -> datetime:
    """The first instant of a YYYY-MM month (naive UTC)."""
    year, number = int(month[:4]), int(month[5:7])
    return datetime(year, number, 1)


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def months(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`, both included."""
    out: list[str] = []
    current = first
    while current <= last and len(out) < MAX_MONTHS:
        out.append(current)
        current = next_month(current)
    return out


def check_month(value: Any, field: str, errors: FieldErrors) -> str:
    month = text(value)
    if not MONTH.match(month) or not 1900 <= int(month[:4]) <= 2999:
        errors.add(field, "a month YYYY-MM")
        return ""
    return month


def may_see_all(actor: Actor) -> bool:
    """Admins and sales heads see and change every manager's plans."""
    return actor.is_admin or HEADS in actor.groups


def headed_members(username: str) -> set[str]:
    """Members of the departments `username` heads and of their sub-departments."""
    found: set[str] = set()
    level = [d.name for d in Department.objects(head=username).only("name")]
    seen: set[str] = set()
    for _ in range(MAX_DEPTH):
        level = [name for name in level if name not in seen]
        if not level:
            break
        seen.update(level)
        for department in Department.objects(name__in=level).only("members"):
            found.update(department.members)
        level = [d.name for d in Department.objects(parent__in=level).only("name")]
    return found


def visible_managers(actor: Actor) -> set[str] | None:
    """Whose plans the actor reads and changes; None means everyone's."""
    if may_see_all(actor):
        return None
    return {actor.username, *headed_members(actor.username)}


def _ensure_may_plan(actor: Actor, manager: str) -> None:
    visible = visible_managers(actor)
    if visible is None:
        return
    if manager == actor.username and MANAGERS not in actor.groups:
        raise RegistryForbidden(f"only members of {MANAGERS} plan their own sales")
    if manager not in visible:
        raise RegistryForbidden("only the manager, their head or a sales head plans for them")


def _pipeline_id(actor: Actor, value: Any, errors: FieldErrors) -> ObjectId | None:
    if value in (None, ""):
        return None
    try:
        return pipelines.get(actor, value).id
    except ObjectNotFound:
        errors.add("pipeline", "no such pipeline")
        return None


def create(actor: Actor, values: dict[str, Any]) -> SalesPlan:
    """Enter a plan (409 `duplicate` if the manager has one for that month and pipeline)."""
    errors = FieldErrors()
    manager = text(values.get("manager")) or actor.username
    month = check_month(values.get("month"), "month", errors)
    pipeline = _pipeline_id(actor, values.get("pipeline"), errors)
    amount = to_minor(values.get("amount"), "amount", errors, required=True)
    currency = text(values.get("currency")) or "RUB"
    check_currency(errors, "currency", currency)
    if not User.objects(username=manager, active=True).only("id").first():
        errors.add("manager", f"no user {manager}")
    errors.raise_if_any("the plan has invalid fields")
    _ensure_may_plan(actor, manager)
    plan = SalesPlan(
        manager=manager, month=month, pipeline=pipeline, amount_minor=amount, currency=currency
    )
    plan.id = ObjectId()
    stamp_created(plan, actor)
    try:
        SalesPlan._get_collection().insert_one(plan.to_mongo().to_dict())
    except DuplicateKeyError as exc:
        raise DuplicateObject(f"{manager} has a plan for {month} already") from exc
    return get(actor, plan.id)


def get(actor: Actor, plan_id: Any) -> SalesPlan:
    """A plan the actor may see."""
    oid = object_id(plan_id, PlanNotFound, "plan")
    where: dict[str, Any] = {"_id": oid}
    visible = visible_managers(actor)
    if visible is not None:
        where["manager"] = {"$in": sorted(visible)}
    found = SalesPlan.objects(__raw__=where).first()
    if found is None:
        raise PlanNotFound(f"no plan {plan_id}")
    return found


def update(
    actor: Actor, plan_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> SalesPlan:
    """Change a plan's amount or currency."""
    plan = get(actor, plan_id)
    _ensure_may_plan(actor, plan.manager)
    unknown = set(changes) - {"amount", "currency"}
    if unknown:
        raise RegistryInvalid("not editable", {k: ["cannot be changed"] for k in sorted(unknown)})
    errors = FieldErrors()
    if "amount" in changes:
        plan.amount_minor = to_minor(changes["amount"], "amount", errors, required=True)
    if "currency" in changes:
        plan.currency = text(changes["currency"]) or "RUB"
        check_currency(errors, "currency", plan.currency)
    errors.raise_if_any("the plan has invalid fields")
    save_changed(plan, actor, expected_version)
    return plan


def save(
    actor: Actor, manager: str, month: str, pipeline: Any, amount: Any, currency: str = "RUB"
) -> SalesPlan:
    """Enter or change the plan of a manager, month and pipeline (what the UI form does)."""
    errors = FieldErrors()
    pipeline_id = _pipeline_id(actor, pipeline, errors)
    month = check_month(month, "month", errors)
    errors.raise_if_any("the plan has invalid fields")
    found = SalesPlan.objects(manager=text(manager), month=month, pipeline=pipeline_id).first()
    if found is None:
        return create(
            actor,
            {
                "manager": manager,
                "month": month,
                "pipeline": pipeline,
                "amount": amount,
                "currency": currency,
            },
        )
    return update(actor, found.id, {"amount": amount, "currency": currency})


def delete(actor: Actor, plan_id: Any) -> None:
    """Remove a plan (plans are figures, not records: nothing keeps it)."""
    plan = get(actor, plan_id)
    _ensure_may_plan(actor, plan.manager)
    SalesPlan._get_collection().delete_one({"_id": plan.id})


def _plan_filter(
    actor: Actor,
    first: str,
    last: str,
    manager: str | None,
    pipeline: ObjectId | None,
    currency: str,
) -> dict[str, Any]:
    where: dict[str, Any] = {"month": {"$gte": first, "$lte": last}, "currency": currency}
    visible = visible_managers(actor)
    if manager:
        if visible is not None and manager not in visible:
            where["manager"] = {"$in": []}
        else:
            where["manager"] = manager
    elif visible is not None:
        where["manager"] = {"$in": sorted(visible)}
    if pipeline is not None:
        where["pipeline"] = pipeline
    return where


def find(
    actor: Actor,
    *,
    month_from: str | None = None,
    month_to: str | None = None,
    manager: str | None = None,
    pipeline: str | None = None,
    currency: str = "RUB",
) -> list[SalesPlan]:
    """The plans the actor may see in the months given (default: this year)."""
    first, last, pipeline_id = _period(actor, month_from, month_to, pipeline)
    where = _plan_filter(actor, first, last, manager, pipeline_id, currency)
    return list(SalesPlan.objects(__raw__=where).order_by("month", "manager").limit(5000))


def _period(
    actor: Actor, month_from: str | None, month_to: str | None, pipeline: str | None
) -> tuple[str, str, ObjectId | None]:
    errors = FieldErrors()
    year = utcnow().year
    first = check_month(month_from, "month_from", errors) if month_from else f"{year}-01"
    last = check_month(month_to, "month_to", errors) if month_to else f"{year}-12"
    if first and last and first > last:
        errors.add("month_to", "before month_from")
    elif first and last and len(months(first, last)) >= MAX_MONTHS:
        errors.add("month_to", f"at most {MAX_MONTHS - 1} months")
    pipeline_id = _pipeline_id(actor, pipeline, errors)
    errors.raise_if_any("invalid period")
    return first, last, pipeline_id


def facts(
    actor: Actor,
    first: str,
    last: str,
    *,
    manager: str | None = None,
    managers: set[str] | None = None,
    pipeline: ObjectId | None = None,
    currency: str = "RUB",
) -> dict[tuple[str, str], dict[str, int]]:
    """(manager, month) → won deals and their amount, over the deals the actor may read
    (of `manager`, or of `managers` when given)."""
    parts: list[dict[str, Any]] = [
        {
            "closed_at": {"$gte": month_start(first), "$lt": month_start(next_month(last))},
            "stage_kind": "won",
            "currency": currency,
        }
    ]
    if manager:
        allowed = managers is None or manager in managers
        parts.append({"responsible": manager if allowed else {"$in": []}})
    elif managers is not None:
        parts.append({"responsible": {"$in": sorted(managers)}})
    if pipeline is not None:
        parts.append({"pipeline": pipeline})
    parts += [{"archived": False}, read_filter(actor)]
    rows = Deal._get_collection().aggregate(
        [
            {"$match": merge_filters(*parts)},
            {
                "$project": {
                    "manager": "$responsible",
                    "amount_minor": 1,
                    "month": {"$dateToString": {"format": "%Y-%m", "date": "$closed_at"}},
                }
            },
            {
                "$group": {
                    "_id": {"manager": "$manager", "month": "$month"},
                    "won": {"$sum": 1},
                    "amount_minor": {"$sum": "$amount_minor"},
                }
            },
        ]
    )
    return {
        (row["_id"]["manager"], row["_id"]["month"]): {
            "won": row["won"],
            "amount_minor": row["amount_minor"],
        }
        for row in rows
    }


def plan_versus_fact(
    actor: Actor,
    *,
    month_from: str | None = None,
    month_to: str | None = None,
    manager: str | None = None,
    pipeline: str | None = None,
    currency: str = "RUB",
) -> dict[str, Any]:
    """Per manager and month: the plan, the won amount (fact), won deals and fact ÷ plan.

    Without `pipeline` a manager's plan for the month is their overall plan if they have
    one, else the sum of their per-pipeline plans; with it, that pipeline's plan and its
    deals. Rows are the (manager, month) pairs with a plan or a fact; the managers are
    those whose plans the actor sees (their own, their departments', or everyone's).
    """
    first, last, pipeline_id = _period(actor, month_from, month_to, pipeline)
    where = _plan_filter(actor, first, last, manager, pipeline_id, currency)
    planned: dict[tuple[str, str], int] = {}
    overall: dict[tuple[str, str], int] = {}
    for doc in SalesPlan._get_collection().find(
        where, {"manager": 1, "month": 1, "pipeline": 1, "amount_minor": 1}
    ):
        key = (doc["manager"], doc["month"])
        if pipeline_id is None and doc.get("pipeline") is None:
            overall[key] = doc["amount_minor"]
        else:
            planned[key] = planned.get(key, 0) + doc["amount_minor"]
    planned.update(overall)
    fact = facts(
        actor,
        first,
        last,
        manager=manager,
        managers=visible_managers(actor),
        pipeline=pipeline_id,
        currency=currency,
    )
    rows = []
    for key in sorted(set(planned) | set(fact), key=lambda k: (k[1], k[0])):
        plan_minor = planned.get(key, 0)
        got = fact.get(key, {"won": 0, "amount_minor": 0})
        rows.append(
            {
                "manager": key[0],
                "month": key[1],
                "plan": to_money(plan_minor),
                "fact": to_money(got["amount_minor"]),
                "won_deals": got["won"],
                "percent": _percent(got["amount_minor"], plan_minor),
            }
        )
    total_plan = sum(planned.values())
    total_fact = sum(v["amount_minor"] for v in fact.values())
    return {
        "month_from": first,
        "month_to": last,
        "currency": currency,
        "pipeline": pipeline or None,
        "rows": rows,
        "plan": to_money(total_plan),
        "fact": to_money(total_fact),
        "percent": _percent(total_fact, total_plan),
    }


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
