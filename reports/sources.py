"""Data sources: named queries with declared parameters, each run in the database.

Every source is one aggregation pipeline (or a few) whose first stage is a `$match` on
flat top-level conditions (SecantusDB uses an index only for those), with the reader's
access rule inside that match, exactly as the domain services filter their lists. Only the
grouped result — a few dozen rows — comes back to Python; collections are never loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from accounts.access import read_filter
from documents.models import CitizenAppeal, RegistrationCard, RegistrationJournal
from engine import monitor
from engine.actor import Actor
from engine.models import utcnow
from mail import repository as mail_repository
from mail.models import EXECUTING, Assignment
from registry import action_counts
from registry.models import (
    CONTRACT_ROLES,
    CONTRACT_STAGES,
    Action,
    Contact,
    Contract,
    Delivery,
    Invoice,
    Organization,
)
from sales import analytics as sales_analytics
from sales import plans as sales_plans
from sales.models import Deal

from .errors import ReportInvalid, ReportNotFound

# ----------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Param:
    """A declared parameter of a source."""

    name: str
    kind: str  # date | id | text | choice
    title: str
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Column:
    """A column of a result table; `kind` tells renderers how to format it."""

    key: str
    title: str
    kind: str = "text"  # text | int | money | number | percent


@dataclass
class Section:
    """One table of a report."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReportData:
    """What a source returns: scalar fields and one or more tables."""

    source: str
    title: str
    params: dict[str, Any]
    fields: dict[str, Any]
    sections: list[Section]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows of the first table (what a template's data region repeats)."""
        return self.sections[0].rows if self.sections else []

    def context(self) -> dict[str, Any]:
        """Everything a template may use: fields, params, `rows`, `totals`, `sections`."""
        first = self.sections[0] if self.sections else None
        return {
            **{k: v for k, v in self.params.items() if v not in (None, "")},
            **self.fields,
            "title": self.title,
            "rows": first.rows if first else [],
            "totals": first.totals if first else {},
            "sections": {
                s.key: {"title": s.title, "rows": s.rows, "totals": s.totals} for s in self.sections
            },
        }


Query = Callable[[Actor, dict[str, Any]], ReportData]


@dataclass(frozen=True)
class Source:
    """A named query with its parameters and the fields its rows carry."""

    key: str
    title: str
    params: tuple[Param, ...]
    columns: tuple[Column, ...]
    query: Query
    fields: tuple[str, ...] = ()  # scalar fields beyond the parameters

    def names(self) -> set[str]:
        """Every top-level name a template of this source may use."""
        return {
            *(p.name for p in self.params),
            *self.fields,
            *BASE_FIELDS,
        }


MIN_YEAR, MAX_YEAR = 1900, 2999
BASE_FIELDS = ("title", "rows", "totals", "sections", "period", "as_of", "generated_at")

PERIOD = (
    Param("date_from", "date", "From"),
    Param("date_to", "date", "To"),
)
AS_OF = Param("as_of", "date", "Overdue as of")
ORGANIZATION = Param("organization", "id", "Organization")
MANAGER = Param("manager", "text", "Manager")
ROLE = Param("role", "choice", "Role", choices=CONTRACT_ROLES)

# ------------------------------------------------------------------------- parameters


def _date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ReportInvalid(f"{name} is not a date", {name: ["a date, YYYY-MM-DD"]}) from exc


def clean_params(source: Source, values: dict[str, Any]) -> dict[str, Any]:
    """The source's parameters from `values`, checked and normalized (dates as dates)."""
    errors: dict[str, list[str]] = {}
    declared = {p.name: p for p in source.params}
    for name in values:
        if name not in declared:
            errors.setdefault(name, []).append(f"not a parameter of {source.key}")
    out: dict[str, Any] = {}
    for param in source.params:
        raw = values.get(param.name)
        try:
            if param.kind == "date":
                out[param.name] = _date(raw, param.name)
            elif param.kind == "id":
                out[param.name] = ObjectId(str(raw)) if raw not in (None, "") else None
            else:
                out[param.name] = str(raw).strip() if raw not in (None, "") else ""
        except (ReportInvalid, InvalidId, TypeError):
            errors.setdefault(param.name, []).append(
                "a date, YYYY-MM-DD" if param.kind == "date" else "not a valid id"
            )
            continue
        value = out[param.name]
        if isinstance(value, date) and not MIN_YEAR <= value.year <= MAX_YEAR:
            errors.setdefault(param.name, []).append(f"a year from {MIN_YEAR} to {MAX_YEAR}")
        if param.required and out[param.name] in (None, ""):
            errors.setdefault(param.name, []).append("is required")
        if param.choices and out[param.name] and out[param.name] not in param.choices:
            errors.setdefault(param.name, []).append(f"one of: {', '.join(param.choices)}")
    start, end = out.get("date_from"), out.get("date_to")
    if start and end and start > end:
        errors.setdefault("date_to", []).append("before date_from")
    if errors:
        raise ReportInvalid("the report parameters are invalid", errors)
    return out


def _day(value: date) -> datetime:
    return datetime.combine(value, time.min)


def _range(params: dict[str, Any]) -> dict[str, Any] | None:
    """A `$gte/$lt` condition for the period (dates inclusive), or None for all time."""
    cond: dict[str, Any] = {}
    if params.get("date_from"):
        cond["$gte"] = _day(params["date_from"])
    if params.get("date_to"):
        cond["$lt"] = _day(params["date_to"] + timedelta(days=1))
    return cond or None


def _as_of(params: dict[str, Any]) -> datetime:
    """The day overdue is counted on: the parameter, else today (midnight, naive UTC)."""
    return _day(params.get("as_of") or utcnow().date())


def period_text(params: dict[str, Any]) -> str:
    """The period as people write it: "01.01.2026 – 31.03.2026" (or "all time")."""
    start, end = params.get("date_from"), params.get("date_to")
    if not start and not end:
        return "all time"
    left = start.strftime("%d.%m.%Y") if start else "…"
    right = end.strftime("%d.%m.%Y") if end else "…"
    return f"{left} – {right}"


def base_match(actor: Actor, params: dict[str, Any], date_field: str | None, **fixed: Any) -> dict:
    """The first `$match`: flat top-level conditions and the access rule."""
    match: dict[str, Any] = {k: v for k, v in fixed.items() if v not in (None, "")}
    period = _range(params) if date_field else None
    if period:
        match[date_field] = period  # type: ignore[index]
    match.update(read_filter(actor))
    return match


def money(minor: Any) -> Decimal:
    """Kopecks as rubles (two places)."""
    return (Decimal(int(minor or 0)) / 100).quantize(Decimal("0.01"))


def _data(
    source: str, params: dict[str, Any], sections: list[Section], **fields: Any
) -> ReportData:
    found = SOURCES[source]
    return ReportData(
        source=source,
        title=found.title,
        params=params,
        fields={
            "period": period_text(params),
            "generated_at": utcnow().strftime("%d.%m.%Y %H:%M"),
            **fields,
        },
        sections=sections,
    )


def _sum_rows(
    rows: list[dict[str, Any]], columns: tuple[Column, ...], skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    totals: dict[str, Any] = {}
    for column in columns:
        if column.kind in ("int", "money", "number") and column.key not in skip:
            zero: Any = Decimal("0.00") if column.kind == "money" else 0
            totals[column.key] = sum((r.get(column.key) or zero for r in rows), zero)
    return totals


def _cond(expr: Any) -> dict[str, Any]:
    """1 when `expr` holds, else 0 (summed in a `$group`)."""
    return {"$cond": [expr, 1, 0]}


def _org_names(ids: set[Any]) -> dict[Any, str]:
    """Display names of a few organizations (the ids of an already grouped result)."""
    if not ids:
        return {}
    found = Organization._get_collection().find(
        {"_id": {"$in": list(ids)}}, {"name": 1, "short_name": 1}
    )
    return {d["_id"]: d.get("short_name") or d.get("name", "") for d in found}


# --------------------------------------------------------------------- the reports


DOSSIER_CONTRACT_COLUMNS = (
    Column("number", "Number"),
    Column("date", "Date"),
    Column("role", "Role"),
    Column("stage", "Stage"),
    Column("subject", "Subject"),
    Column("amount", "Amount", "money"),
)
DOSSIER_CONTACT_COLUMNS = (
    Column("name", "Name"),
    Column("position", "Position"),
    Column("phones", "Phones"),
    Column("emails", "E-mails"),
)
DOSSIER_ACTION_COLUMNS = (
    Column("at", "When"),
    Column("kind", "Kind"),
    Column("by", "By"),
    Column("subject", "Subject"),
    Column("result", "Result"),
)


def _address(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    parts = ("index", "region", "city", "street", "house", "office")
    return ", ".join(str(value[p]) for p in parts if value.get(p))


def organization_dossier(actor: Actor, params: dict[str, Any]) -> ReportData:
    """The organization's card as a document: requisites, contacts, contracts, actions."""
    oid = params["organization"]
    org = Organization._get_collection().find_one({"_id": oid, **read_filter(actor)})
    if org is None:
        raise ReportInvalid("no such organization", {"organization": ["not found"]})
    access = read_filter(actor)
    contracts = list(
        Contract._get_collection().aggregate(
            [
                {"$match": {"organization": oid, "archived": False, **access}},
                {"$sort": {"date": -1}},
                {"$limit": 500},
            ]
        )
    )
    contacts = list(
        Contact._get_collection().aggregate(
            [{"$match": {"organization": oid, "archived": False, **access}}, {"$limit": 500}]
        )
    )
    actions = list(
        Action._get_collection().aggregate(
            [
                {"$match": {"organization": oid, "archived": False, **access}},
                {"$sort": {"at": -1}},
                {"$limit": 50},
            ]
        )
    )
    invoices = list(
        Invoice._get_collection().aggregate(
            [
                {"$match": {"organization": oid, **access}},
                {
                    "$group": {
                        "_id": None,
                        "n": {"$sum": 1},
                        "amount": {"$sum": "$amount_minor"},
                        "paid": {"$sum": "$paid_minor"},
                    }
                },
            ]
        )
    )
    inv = invoices[0] if invoices else {"n": 0, "amount": 0, "paid": 0}
    contract_rows = [
        {
            "number": c.get("number", ""),
            "date": c["date"].strftime("%d.%m.%Y") if c.get("date") else "",
            "role": c.get("role", ""),
            "stage": c.get("stage", ""),
            "subject": c.get("subject", ""),
            "amount": money(c.get("amount_minor")),
        }
        for c in contracts
    ]
    contact_rows = [
        {
            "name": c.get("name", ""),
            "position": c.get("position", ""),
            "phones": ", ".join(c.get("phones") or []),
            "emails": ", ".join(c.get("emails") or []),
        }
        for c in contacts
    ]
    action_rows = [
        {
            "at": a["at"].strftime("%d.%m.%Y %H:%M") if a.get("at") else "",
            "kind": a.get("kind", ""),
            "by": a.get("by", ""),
            "subject": a.get("subject", ""),
            "result": a.get("result", ""),
        }
        for a in actions
    ]
    banks = org.get("bank_accounts") or []
    bank = banks[0] if banks else {}
    return _data(
        "organization_dossier",
        params,
        [
            Section(
                "contracts",
                "Contracts",
                list(DOSSIER_CONTRACT_COLUMNS),
                contract_rows,
                _sum_rows(contract_rows, DOSSIER_CONTRACT_COLUMNS),
            ),
            Section("contacts", "Contacts", list(DOSSIER_CONTACT_COLUMNS), contact_rows),
            Section("actions", "Latest actions", list(DOSSIER_ACTION_COLUMNS), action_rows),
        ],
        name=org.get("name", ""),
        short_name=org.get("short_name", ""),
        inn=org.get("inn", ""),
        kpp=org.get("kpp", ""),
        ogrn=org.get("ogrn", ""),
        legal_address=_address(org.get("legal_address")),
        phones=", ".join(org.get("phones") or []),
        emails=", ".join(org.get("emails") or []),
        responsible=org.get("responsible", ""),
        bank=bank.get("bank_name", ""),
        settlement_account=bank.get("settlement_account", ""),
        invoices_count=inv["n"],
        invoices_amount=money(inv["amount"]),
        invoices_paid=money(inv["paid"]),
    )


CONTRACT_COLUMNS = (
    Column("stage", "Stage"),
    Column("executor_count", "Sales: contracts", "int"),
    Column("executor_sum", "Sales: amount", "money"),
    Column("customer_count", "Purchases: contracts", "int"),
    Column("customer_sum", "Purchases: amount", "money"),
    Column("total_count", "Total: contracts", "int"),
    Column("total_sum", "Total: amount", "money"),
)


def contract_stage_counts(actor: Actor, params: dict[str, Any]) -> dict[tuple[str, str], dict]:
    """(stage, role) → {n, amount} of the contracts dated in the period."""
    found = Contract._get_collection().aggregate(
        [
            {
                "$match": base_match(
                    actor,
                    params,
                    "date",
                    archived=False,
                    responsible=params.get("manager"),
                    organization=params.get("organization"),
                )
            },
            {
                "$group": {
                    "_id": {"stage": "$stage", "role": "$role"},
                    "n": {"$sum": 1},
                    "amount": {"$sum": "$amount_minor"},
                }
            },
        ]
    )
    return {(g["_id"]["stage"], g["_id"]["role"]): g for g in found}


def contracts_by_stage(actor: Actor, params: dict[str, Any]) -> ReportData:
    """Contracts by stage in the period, with sums, sales (executor) beside purchases."""
    groups = contract_stage_counts(actor, params)
    rows = []
    for stage in CONTRACT_STAGES:
        sale = groups.get((stage, "executor"), {"n": 0, "amount": 0})
        buy = groups.get((stage, "customer"), {"n": 0, "amount": 0})
        rows.append(
            {
                "stage": stage,
                "executor_count": sale["n"],
                "executor_sum": money(sale["amount"]),
                "customer_count": buy["n"],
                "customer_sum": money(buy["amount"]),
                "total_count": sale["n"] + buy["n"],
                "total_sum": money(sale["amount"] + buy["amount"]),
            }
        )
    return _data(
        "contracts_by_stage",
        params,
        [
            Section(
                "stages",
                "By stage",
                list(CONTRACT_COLUMNS),
                rows,
                _sum_rows(rows, CONTRACT_COLUMNS),
            )
        ],
    )


INVOICE_COLUMNS = (
    Column("role", "Role"),
    Column("issued_count", "Issued", "int"),
    Column("issued_sum", "Issued: amount", "money"),
    Column("paid_count", "Paid", "int"),
    Column("paid_sum", "Paid: amount", "money"),
    Column("overdue_count", "Overdue", "int"),
    Column("overdue_sum", "Overdue: unpaid", "money"),
)
UNPAID = ["issued", "partially_paid"]


def invoices(actor: Actor, params: dict[str, Any]) -> ReportData:
    """Invoices of the period by role: issued, paid, overdue (unpaid after the due date)."""
    as_of = _as_of(params)
    overdue = {
        "$and": [
            {"$in": ["$status", UNPAID]},
            {"$lt": ["$due_on", as_of]},
            {"$gt": ["$due_on", None]},
        ]
    }
    found = Invoice._get_collection().aggregate(
        [
            {
                "$match": base_match(
                    actor,
                    params,
                    "date",
                    archived=False,
                    organization=params.get("organization"),
                    status={"$ne": "cancelled"},
                )
            },
            {
                "$group": {
                    "_id": "$role",
                    "issued_n": {"$sum": 1},
                    "issued": {"$sum": "$amount_minor"},
                    "paid_n": {"$sum": _cond({"$eq": ["$status", "paid"]})},
                    "paid": {"$sum": "$paid_minor"},
                    "overdue_n": {"$sum": _cond(overdue)},
                    "overdue": {
                        "$sum": {
                            "$cond": [
                                overdue,
                                {"$subtract": ["$amount_minor", "$paid_minor"]},
                                0,
                            ]
                        }
                    },
                }
            },
        ]
    )
    groups = {g["_id"]: g for g in found}
    rows = []
    for role in CONTRACT_ROLES:
        g = groups.get(role, {})
        rows.append(
            {
                "role": role,
                "issued_count": g.get("issued_n", 0),
                "issued_sum": money(g.get("issued")),
                "paid_count": g.get("paid_n", 0),
                "paid_sum": money(g.get("paid")),
                "overdue_count": g.get("overdue_n", 0),
                "overdue_sum": money(g.get("overdue")),
            }
        )
    return _data(
        "invoices",
        params,
        [
            Section(
                "roles", "By role", list(INVOICE_COLUMNS), rows, _sum_rows(rows, INVOICE_COLUMNS)
            )
        ],
        as_of=as_of.strftime("%d.%m.%Y"),
    )


DELIVERY_COLUMNS = (
    Column("organization", "Supplier / customer"),
    Column("role", "Role"),
    Column("product", "Product"),
    Column("unit", "Unit"),
    Column("deliveries", "Deliveries", "int"),
    Column("quantity", "Quantity", "number"),
    Column("amount", "Amount", "money"),
)


def deliveries(actor: Actor, params: dict[str, Any]) -> ReportData:
    """Delivered and planned quantities and sums by counterparty and product."""
    found = list(
        Delivery._get_collection().aggregate(
            [
                {
                    "$match": base_match(
                        actor,
                        params,
                        "date",
                        archived=False,
                        organization=params.get("organization"),
                        role=params.get("role"),
                        status={"$ne": "cancelled"},
                    )
                },
                {"$unwind": "$items"},
                {
                    "$group": {
                        "_id": {
                            "org": "$organization",
                            "role": "$role",
                            "name": "$items.name",
                            "unit": "$items.unit",
                        },
                        "deliveries": {"$sum": 1},
                        "quantity": {"$sum": {"$toDouble": "$items.quantity"}},
                        "amount": {
                            "$sum": {
                                "$multiply": [
                                    {"$toDouble": "$items.quantity"},
                                    "$items.price_minor",
                                ]
                            }
                        },
                    }
                },
            ]
        )
    )
    names = _org_names({g["_id"]["org"] for g in found})
    rows = [
        {
            "organization": names.get(g["_id"]["org"], str(g["_id"]["org"])),
            "role": g["_id"]["role"],
            "product": g["_id"]["name"],
            "unit": g["_id"].get("unit") or "",
            "deliveries": g["deliveries"],
            "quantity": round(g["quantity"], 3),
            "amount": money(round(g["amount"])),
        }
        for g in found
    ]
    rows.sort(key=lambda r: (r["organization"], r["product"]))
    return _data(
        "deliveries",
        params,
        [
            Section(
                "products",
                "By counterparty and product",
                list(DELIVERY_COLUMNS),
                rows,
                _sum_rows(rows, DELIVERY_COLUMNS),
            )
        ],
    )


ACTION_COLUMNS = (
    Column("manager", "Manager"),
    Column("kind", "Kind"),
    Column("result", "Result"),
    Column("count", "Actions", "int"),
)
MANAGER_COLUMNS = (
    Column("manager", "Manager"),
    Column("calls", "Calls", "int"),
    Column("meetings", "Meetings and visits", "int"),
    Column("other", "Other", "int"),
    Column("count", "All actions", "int"),
)
CALLS = ("call_in", "call_out")


def actions(actor: Actor, params: dict[str, Any]) -> ReportData:
    """Calls and other actions in the period per manager, kind and result."""
    period = _range(params) or {}
    found = action_counts.counts(
        actor,
        period.get("$gte"),
        period.get("$lt"),
        by=params.get("manager") or None,
        organization=params.get("organization") or None,
    )
    rows: list[dict[str, Any]] = [
        {"manager": by, "kind": kind, "result": result, "count": n}
        for (by, kind, result), n in sorted(found.items())
    ]
    per_manager: dict[str, dict[str, Any]] = {}
    for row in rows:
        m = per_manager.setdefault(
            row["manager"],
            {"manager": row["manager"], "calls": 0, "meetings": 0, "other": 0, "count": 0},
        )
        bucket = (
            "calls"
            if row["kind"] in CALLS
            else "meetings"
            if row["kind"] in ("meeting", "visit")
            else "other"
        )
        m[bucket] += row["count"]
        m["count"] += row["count"]
    managers = list(per_manager.values())
    return _data(
        "actions",
        params,
        [
            Section(
                "results",
                "By manager, kind and result",
                list(ACTION_COLUMNS),
                rows,
                _sum_rows(rows, ACTION_COLUMNS),
            ),
            Section(
                "managers",
                "By manager",
                list(MANAGER_COLUMNS),
                managers,
                _sum_rows(managers, MANAGER_COLUMNS),
            ),
        ],
    )


FLOW_COLUMNS = (
    Column("journal", "Journal"),
    Column("registered", "Registered", "int"),
    Column("executed_on_time", "Executed on time", "int"),
    Column("executed_late", "Executed late", "int"),
    Column("overdue", "Overdue", "int"),
    Column("in_work", "In work", "int"),
)
EXECUTED = ["executed", "filed"]


def document_flow(actor: Actor, params: dict[str, Any]) -> ReportData:
    """Cards registered in the period per journal: executed on time, late, overdue."""
    as_of = _as_of(params)
    done = {"$in": ["$status", EXECUTED]}

    def ymd(path: Any) -> dict[str, Any]:
        # Executed on the deadline day is on time: compare days, not instants.
        return {"$dateToString": {"format": "%Y-%m-%d", "date": path}}

    in_time = {
        "$or": [
            {"$lte": ["$deadline", None]},
            {
                "$lte": [
                    ymd({"$ifNull": ["$executed_at", "$updated_at"]}),
                    ymd("$deadline"),
                ]
            },
        ]
    }
    late_open = {
        "$and": [{"$not": [done]}, {"$gt": ["$deadline", None]}, {"$lt": ["$deadline", as_of]}]
    }
    found = list(
        RegistrationCard._get_collection().aggregate(
            [
                {
                    "$match": base_match(
                        actor, params, "registered_on", journal_id=params.get("journal")
                    )
                },
                {
                    "$group": {
                        "_id": "$journal_id",
                        "registered": {"$sum": 1},
                        "on_time": {"$sum": _cond({"$and": [done, in_time]})},
                        "late": {"$sum": _cond({"$and": [done, {"$not": [in_time]}]})},
                        "overdue": {"$sum": _cond(late_open)},
                    }
                },
            ]
        )
    )
    journals = {
        j["_id"]: j
        for j in RegistrationJournal._get_collection().find(
            {"_id": {"$in": [g["_id"] for g in found]}}, {"code": 1, "name": 1}
        )
    }
    rows = []
    for g in found:
        journal = journals.get(g["_id"], {})
        rows.append(
            {
                "journal": f"{journal.get('code', '')} {journal.get('name', '')}".strip(),
                "registered": g["registered"],
                "executed_on_time": g["on_time"],
                "executed_late": g["late"],
                "overdue": g["overdue"],
                "in_work": g["registered"] - g["on_time"] - g["late"] - g["overdue"],
            }
        )
    rows.sort(key=lambda r: r["journal"])
    return _data(
        "document_flow",
        params,
        [
            Section(
                "journals", "By journal", list(FLOW_COLUMNS), rows, _sum_rows(rows, FLOW_COLUMNS)
            )
        ],
        as_of=as_of.strftime("%d.%m.%Y"),
    )


APPEAL_COLUMNS = (
    Column("topic", "Topic"),
    Column("channel", "Channel"),
    Column("received", "Received", "int"),
    Column("answered_on_time", "Answered on time", "int"),
    Column("answered_late", "Answered late", "int"),
    Column("redirected", "Redirected", "int"),
    Column("overdue", "Unanswered, overdue", "int"),
    Column("open", "Unanswered, in time", "int"),
)


def appeal_groups(actor: Actor, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Appeals registered in the period grouped by topic and channel, with 59-FZ figures."""
    as_of = _as_of(params)
    answered = {"$eq": ["$status", "answered"]}
    on_time = {"$and": [answered, {"$lte": ["$answered_on", "$deadline"]}]}
    return list(
        CitizenAppeal._get_collection().aggregate(
            [
                {
                    "$match": base_match(
                        actor, params, "registered_on", journal_id=params.get("journal")
                    )
                },
                {
                    "$group": {
                        "_id": {"topic": "$topic", "channel": "$channel"},
                        "received": {"$sum": 1},
                        "on_time": {"$sum": _cond(on_time)},
                        "late": {"$sum": _cond({"$and": [answered, {"$not": [on_time]}]})},
                        "redirected": {"$sum": _cond({"$eq": ["$status", "redirected"]})},
                        "overdue": {
                            "$sum": _cond(
                                {
                                    "$and": [
                                        {"$eq": ["$status", "registered"]},
                                        {"$lt": ["$deadline", as_of]},
                                    ]
                                }
                            )
                        },
                    }
                },
            ]
        )
    )


def appeals(actor: Actor, params: dict[str, Any]) -> ReportData:
    """Citizens' appeals (59-FZ) by topic and channel with deadline compliance."""
    rows = []
    for g in appeal_groups(actor, params):
        rows.append(
            {
                "topic": g["_id"]["topic"],
                "channel": g["_id"]["channel"],
                "received": g["received"],
                "answered_on_time": g["on_time"],
                "answered_late": g["late"],
                "redirected": g["redirected"],
                "overdue": g["overdue"],
                "open": g["received"] - g["on_time"] - g["late"] - g["redirected"] - g["overdue"],
            }
        )
    rows.sort(key=lambda r: (r["topic"], r["channel"]))
    totals = _sum_rows(rows, APPEAL_COLUMNS)
    answered = totals["answered_on_time"] + totals["answered_late"]
    compliance = round(100 * totals["answered_on_time"] / answered, 1) if answered else None
    return _data(
        "appeals",
        params,
        [Section("topics", "By topic and channel", list(APPEAL_COLUMNS), rows, totals)],
        as_of=_as_of(params).strftime("%d.%m.%Y"),
        compliance=compliance,
    )


ASSIGNMENT_COLUMNS = (
    Column("executor", "Executor"),
    Column("total", "Assignments", "int"),
    Column("done_on_time", "Done on time", "int"),
    Column("done_late", "Done late", "int"),
    Column("overdue", "Overdue", "int"),
    Column("in_work", "In work", "int"),
    Column("cancelled", "Cancelled", "int"),
)
DONE = ["done", "accepted"]


def assignment_groups(actor: Actor, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Assignments created in the period per executor: on time, late, overdue."""
    now = utcnow()
    match: dict[str, Any] = dict(mail_repository.assignment_filter(actor))
    if params.get("manager"):
        match["executor"] = params["manager"]
    period = _range(params)
    if period:
        match["created_at"] = period
    finished = {
        "$min": {
            "$map": {
                "input": {
                    "$filter": {
                        "input": "$history",
                        "as": "h",
                        "cond": {"$eq": ["$$h.status", "done"]},
                    }
                },
                "as": "h",
                "in": "$$h.at",
            }
        }
    }
    done = {"$in": ["$status", DONE]}
    on_time = {"$lte": [{"$ifNull": ["$finished", "$updated_at"]}, "$due_at"]}
    return list(
        Assignment._get_collection().aggregate(
            [
                {"$match": match},
                {
                    "$project": {
                        "executor": 1,
                        "status": 1,
                        "due_at": 1,
                        "updated_at": 1,
                        "finished": finished,
                    }
                },
                {
                    "$group": {
                        "_id": "$executor",
                        "total": {"$sum": 1},
                        "on_time": {"$sum": _cond({"$and": [done, on_time]})},
                        "late": {"$sum": _cond({"$and": [done, {"$not": [on_time]}]})},
                        "overdue": {
                            "$sum": _cond(
                                {
                                    "$and": [
                                        {"$in": ["$status", list(EXECUTING)]},
                                        {"$lt": ["$due_at", now]},
                                    ]
                                }
                            )
                        },
                        "cancelled": {"$sum": _cond({"$eq": ["$status", "cancelled"]})},
                    }
                },
            ]
        )
    )


def assignments(actor: Actor, params: dict[str, Any]) -> ReportData:
    """Assignments per executor: done on time, late, overdue, in work."""
    rows = []
    for g in assignment_groups(actor, params):
        rows.append(
            {
                "executor": g["_id"],
                "total": g["total"],
                "done_on_time": g["on_time"],
                "done_late": g["late"],
                "overdue": g["overdue"],
                "cancelled": g["cancelled"],
                "in_work": g["total"] - g["on_time"] - g["late"] - g["overdue"] - g["cancelled"],
            }
        )
    rows.sort(key=lambda r: r["executor"])
    return _data(
        "assignments",
        params,
        [
            Section(
                "executors",
                "By executor",
                list(ASSIGNMENT_COLUMNS),
                rows,
                _sum_rows(rows, ASSIGNMENT_COLUMNS),
            )
        ],
    )


PROCESS_COLUMNS = (
    Column("process_key", "Process"),
    Column("version", "Version", "int"),
    Column("started", "Started", "int"),
    Column("running", "Running", "int"),
    Column("completed", "Completed", "int"),
    Column("terminated", "Terminated", "int"),
    Column("incidents", "Incidents", "int"),
    Column("tasks_overdue", "Overdue tasks", "int"),
    Column("avg_hours", "Average duration, h", "number"),
)


def processes(actor: Actor, params: dict[str, Any]) -> ReportData:
    """Per process and version: started, running, completed, incidents, durations."""
    rows = []
    for stat in monitor.process_statistics(actor, params.get("process") or None):
        avg = stat.get("avg_duration_seconds")
        rows.append(
            {
                **{c.key: stat.get(c.key, 0) for c in PROCESS_COLUMNS},
                "avg_hours": round(avg / 3600, 2) if avg is not None else None,
            }
        )
    return _data(
        "processes",
        params,
        [
            Section(
                "processes",
                "By process",
                list(PROCESS_COLUMNS),
                rows,
                _sum_rows(rows, PROCESS_COLUMNS, skip=("version", "avg_hours")),
            )
        ],
    )


DEAL_FUNNEL_COLUMNS = (
    Column("name", "Stage"),
    Column("kind", "Kind"),
    Column("count", "Deals in the stage", "int"),
    Column("amount", "Amount", "money"),
    Column("reached", "Ever reached", "int"),
    Column("conversion", "Conversion to the next stage, %", "number"),
    Column("average_days_in_stage", "Average days in the stage", "number"),
)


def deal_funnel(actor: Actor, params: dict[str, Any]) -> ReportData:
    """A sales pipeline's funnel (sales.analytics): deals per stage, conversion, time in
    stage; win rate, average won deal, cycle time and forecast as fields."""
    figures = sales_analytics.summary(
        actor, params["pipeline"], responsible=params.get("manager") or None
    )
    rows = [
        {
            **row,
            "conversion": None if row["conversion"] is None else row["conversion"] * 100,
        }
        for row in figures["funnel"]
    ]
    return _data(
        "deal_funnel",
        params,
        [
            Section(
                "funnel",
                "By stage",
                list(DEAL_FUNNEL_COLUMNS),
                rows,
                _sum_rows(
                    rows,
                    DEAL_FUNNEL_COLUMNS,
                    skip=("reached", "conversion", "average_days_in_stage"),
                ),
            )
        ],
        **{k: v for k, v in figures.items() if k != "funnel"},
    )


DEAL_GROUP_COLUMNS = (
    Column("name", "Source or campaign"),
    Column("deals", "Deals", "int"),
    Column("open", "Open", "int"),
    Column("won", "Won", "int"),
    Column("lost", "Lost", "int"),
    Column("win_rate", "Win rate, %", "number"),
    Column("won_amount", "Won amount", "money"),
)


def deal_funnel_groups(actor: Actor, params: dict[str, Any]) -> ReportData:
    """A pipeline's deals per source or per campaign (sales.analytics.by_group)."""
    figures = sales_analytics.by_group(actor, params["pipeline"], params.get("by") or "source")
    rows = [
        {
            **{k: v for k, v in group.items() if k != "funnel"},
            "name": group["name"] or "—",
            "win_rate": None if group["win_rate"] is None else group["win_rate"] * 100,
        }
        for group in figures["groups"]
    ]
    return _data(
        "deal_funnel_groups",
        params,
        [
            Section(
                "groups",
                "By source or campaign",
                list(DEAL_GROUP_COLUMNS),
                rows,
                _sum_rows(rows, DEAL_GROUP_COLUMNS, skip=("win_rate",)),
            )
        ],
    )


PLAN_FACT_COLUMNS = (
    Column("manager", "Manager"),
    Column("month", "Month"),
    Column("plan", "Plan", "money"),
    Column("fact", "Fact (won)", "money"),
    Column("won_deals", "Deals won", "int"),
    Column("percent", "Done, %", "number"),
)


def sales_plan_fact(actor: Actor, params: dict[str, Any]) -> ReportData:
    """Sales plan versus fact per manager and month (sales.plans): the months of the
    period (default: this year), the fact being the deals won in each."""
    start, end = params.get("date_from"), params.get("date_to")
    figures = sales_plans.plan_versus_fact(
        actor,
        month_from=start.strftime("%Y-%m") if start else None,
        month_to=end.strftime("%Y-%m") if end else None,
        manager=params.get("manager") or None,
        pipeline=params.get("pipeline") or None,
    )
    rows = figures["rows"]
    return _data(
        "sales_plan_fact",
        params,
        [
            Section(
                "plan_fact",
                "By manager and month",
                list(PLAN_FACT_COLUMNS),
                rows,
                _sum_rows(rows, PLAN_FACT_COLUMNS, skip=("percent",)),
            )
        ],
        plan=figures["plan"],
        fact=figures["fact"],
        percent=figures["percent"],
    )


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            "organization_dossier",
            "Organization dossier",
            (Param("organization", "id", "Organization", required=True),),
            DOSSIER_CONTRACT_COLUMNS,
            organization_dossier,
            (
                "name",
                "short_name",
                "inn",
                "kpp",
                "ogrn",
                "legal_address",
                "phones",
                "emails",
                "responsible",
                "bank",
                "settlement_account",
                "invoices_count",
                "invoices_amount",
                "invoices_paid",
            ),
        ),
        Source(
            "contracts_by_stage",
            "Contracts by stage",
            (*PERIOD, ORGANIZATION, MANAGER),
            CONTRACT_COLUMNS,
            contracts_by_stage,
        ),
        Source(
            "invoices",
            "Invoices: issued, paid, overdue",
            (*PERIOD, AS_OF, ORGANIZATION),
            INVOICE_COLUMNS,
            invoices,
        ),
        Source(
            "deliveries",
            "Deliveries by product and counterparty",
            (*PERIOD, ORGANIZATION, ROLE),
            DELIVERY_COLUMNS,
            deliveries,
        ),
        Source(
            "actions",
            "Calls and other actions per manager and result",
            (*PERIOD, ORGANIZATION, MANAGER),
            ACTION_COLUMNS,
            actions,
        ),
        Source(
            "document_flow",
            "Document flow per journal",
            (*PERIOD, AS_OF, Param("journal", "id", "Journal")),
            FLOW_COLUMNS,
            document_flow,
        ),
        Source(
            "appeals",
            "Citizens' appeals (59-FZ)",
            (*PERIOD, AS_OF, Param("journal", "id", "Journal")),
            APPEAL_COLUMNS,
            appeals,
            ("compliance",),
        ),
        Source(
            "assignments",
            "Assignments per executor",
            (*PERIOD, Param("manager", "text", "Executor")),
            ASSIGNMENT_COLUMNS,
            assignments,
        ),
        Source(
            "processes",
            "Process statistics",
            (Param("process", "text", "Process"),),
            PROCESS_COLUMNS,
            processes,
        ),
        Source(
            "deal_funnel",
            "Sales funnel of a pipeline",
            (Param("pipeline", "text", "Pipeline", required=True), MANAGER),
            DEAL_FUNNEL_COLUMNS,
            deal_funnel,
            (
                "won",
                "lost",
                "open",
                "win_rate",
                "won_amount",
                "average_won_amount",
                "average_cycle_days",
                "forecast",
            ),
        ),
        Source(
            "deal_funnel_groups",
            "Deals per source or campaign",
            (
                Param("pipeline", "text", "Pipeline", required=True),
                Param("by", "choice", "Group by", choices=sales_analytics.GROUPINGS),
            ),
            DEAL_GROUP_COLUMNS,
            deal_funnel_groups,
        ),
        Source(
            "sales_plan_fact",
            "Sales plan versus fact",
            (*PERIOD, MANAGER, Param("pipeline", "text", "Pipeline")),
            PLAN_FACT_COLUMNS,
            sales_plan_fact,
            ("plan", "fact", "percent"),
        ),
    )
}


# The collection each source scans (the dossier and process statistics read a few documents).
SCANNED: dict[str, Any] = {
    "contracts_by_stage": Contract,
    "invoices": Invoice,
    "deliveries": Delivery,
    "actions": Action,
    "document_flow": RegistrationCard,
    "appeals": CitizenAppeal,
    "assignments": Assignment,
    "deal_funnel": Deal,
    "deal_funnel_groups": Deal,
    "sales_plan_fact": Deal,
}


def estimated_size(key: str) -> int:
    """How many documents the source may scan: the collection's size from its metadata."""
    model = SCANNED.get(key)
    return int(model._get_collection().estimated_document_count()) if model else 0


def get_source(key: str) -> Source:
    """A built-in source by key."""
    found = SOURCES.get(key)
    if found is None:
        raise ReportNotFound(f"no report {key}")
    return found


def run(actor: Actor, key: str, values: dict[str, Any]) -> ReportData:
    """Run a source with raw parameter values (checked here)."""
    source = get_source(key)
    return source.query(actor, clean_params(source, values))
