"""Sales figures of one pipeline, computed by aggregation pipelines in the database.

Every figure counts only the deals the actor may read (the access filter is the first
`$match`). Money stays in minor units until the end, so sums are exact.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from accounts.access import read_filter
from engine.actor import Actor
from registry.common import filter_id, merge_filters
from registry.errors import RegistryInvalid
from registry.models import to_money

from . import pipelines
from .campaigns import Campaign
from .models import Deal, Stage

GROUPINGS = ("source", "campaign")

_DAY_MS = 86_400_000


def _ratio(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _days(ms: float | None) -> Decimal | None:
    if ms is None:
        return None
    return (Decimal(str(ms)) / _DAY_MS).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _conversion(stages: list[Stage], stage: Stage, reached: dict[str, int]) -> Decimal | None:
    """Of the deals that reached an open stage, the share that reached the next open stage
    (or, from the last open stage, a won one); None for won and lost stages."""
    if stage.kind != "open":
        return None
    open_keys = [s.key for s in stages if s.kind == "open"]
    won_keys = [s.key for s in stages if s.kind == "won"]
    i = open_keys.index(stage.key)
    following = open_keys[i + 1 : i + 2] or won_keys
    return _ratio(sum(reached.get(k, 0) for k in following), reached.get(stage.key, 0))


def summary(
    actor: Actor,
    pipeline_id: Any,
    *,
    responsible: str | None = None,
    source: str | None = None,
    campaign: str | None = None,
) -> dict[str, Any]:
    """Funnel per stage (in it now, ever reached, conversion to the next open stage),
    win rate, average won deal, cycle time, average time in stage, and the forecast."""
    pipeline = pipelines.get(actor, pipeline_id)
    parts: list[dict[str, Any]] = [{"pipeline": pipeline.id}]
    for key, value in (("responsible", responsible), ("source", source)):
        if value:
            parts.append({key: value})
    if campaign:
        parts.append({"campaign": filter_id(campaign, "campaign")})
    parts += [{"archived": False}, read_filter(actor)]
    match = {"$match": merge_filters(*parts)}
    deals = Deal._get_collection()
    now_rows = deals.aggregate(
        [
            match,
            {
                "$group": {
                    "_id": "$stage",
                    "count": {"$sum": 1},
                    "amount_minor": {"$sum": "$amount_minor"},
                    "weighted": {"$sum": {"$multiply": ["$amount_minor", "$probability"]}},
                }
            },
        ]
    )
    current = {row["_id"]: row for row in now_rows}
    reached_rows = deals.aggregate(
        [
            match,
            {"$project": {"log": "$stage_log"}},
            {"$unwind": "$log"},
            # A deal that entered a stage twice counts once.
            {"$group": {"_id": {"deal": "$_id", "stage": "$log.stage"}}},
            {"$project": {"stage": "$_id.stage"}},
            {"$group": {"_id": "$stage", "reached": {"$sum": 1}}},
        ]
    )
    reached = {row["_id"]: row["reached"] for row in reached_rows}
    time_rows = deals.aggregate(
        [
            match,
            {"$project": {"log": "$stage_log"}},
            {"$unwind": "$log"},
            {"$match": {"log.left_at": {"$ne": None}}},
            {
                "$group": {
                    "_id": "$log.stage",
                    "ms": {"$avg": {"$subtract": ["$log.left_at", "$log.at"]}},
                }
            },
        ]
    )
    time_in = {row["_id"]: row["ms"] for row in time_rows}
    won_rows = list(
        deals.aggregate(
            [
                match,
                {"$match": {"stage_kind": "won"}},
                {
                    "$group": {
                        "_id": None,
                        "count": {"$sum": 1},
                        "amount_minor": {"$sum": "$amount_minor"},
                        "cycle_ms": {"$avg": {"$subtract": ["$closed_at", "$created_at"]}},
                    }
                },
            ]
        )
    )
    won: dict[str, Any] = (
        won_rows[0] if won_rows else {"count": 0, "amount_minor": 0, "cycle_ms": None}
    )
    stages = pipeline.ordered()
    open_keys = [s.key for s in stages if s.kind == "open"]
    funnel = []
    for stage in stages:
        row = current.get(stage.key, {})
        entered = reached.get(stage.key, 0)
        conversion = _conversion(stages, stage, reached)
        funnel.append(
            {
                "stage": stage.key,
                "name": stage.name,
                "kind": stage.kind,
                "count": row.get("count", 0),
                "amount": to_money(row.get("amount_minor", 0)),
                "reached": entered,
                "conversion": conversion,
                "average_days_in_stage": _days(time_in.get(stage.key)),
            }
        )
    lost_count = sum(current.get(s.key, {}).get("count", 0) for s in stages if s.kind == "lost")
    weighted = sum(current.get(k, {}).get("weighted", 0) for k in open_keys)
    return {
        "pipeline": pipeline.key,
        "funnel": funnel,
        "won": won["count"],
        "lost": lost_count,
        "open": sum(current.get(k, {}).get("count", 0) for k in open_keys),
        "win_rate": _ratio(won["count"], won["count"] + lost_count),
        "won_amount": to_money(won["amount_minor"]),
        "average_won_amount": (
            to_money(round(won["amount_minor"] / won["count"])) if won["count"] else None
        ),
        "average_cycle_days": _days(won["cycle_ms"]),
        # Σ amount × probability over open deals; the probability is a whole percent.
        "forecast": to_money(
            int((Decimal(weighted) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        ),
    }


def by_group(actor: Actor, pipeline_id: Any, by: str = "source") -> dict[str, Any]:
    """The funnel of a pipeline per deal source or per campaign: for each group its deals
    (open, won, lost), win rate, won amount, and per stage the deals that reached it and
    the conversion to the next stage, as in `summary`."""
    if by not in GROUPINGS:
        raise RegistryInvalid("unknown grouping", {"by": [f"one of: {', '.join(GROUPINGS)}"]})
    pipeline = pipelines.get(actor, pipeline_id)
    match = {
        "$match": merge_filters({"pipeline": pipeline.id}, {"archived": False}, read_filter(actor))
    }
    field = f"${by}"
    deals = Deal._get_collection()
    outcome_rows = deals.aggregate(
        [
            match,
            {"$project": {"group": field, "stage_kind": 1, "amount_minor": 1}},
            {
                "$group": {
                    "_id": {"group": "$group", "kind": "$stage_kind"},
                    "count": {"$sum": 1},
                    "amount_minor": {"$sum": "$amount_minor"},
                }
            },
        ]
    )
    groups: dict[Any, dict[str, Any]] = {}

    def group(key: Any) -> dict[str, Any]:
        return groups.setdefault(
            key if key not in (None, "") else None,
            {"open": 0, "won": 0, "lost": 0, "won_minor": 0, "reached": {}},
        )

    for row in outcome_rows:
        found = group(row["_id"].get("group"))
        found[row["_id"]["kind"]] = found.get(row["_id"]["kind"], 0) + row["count"]
        if row["_id"]["kind"] == "won":
            found["won_minor"] += row["amount_minor"]
    reached_rows = deals.aggregate(
        [
            match,
            {"$project": {"group": field, "log": "$stage_log"}},
            {"$unwind": "$log"},
            # A deal that entered a stage twice counts once (see summary's note).
            {"$group": {"_id": {"deal": "$_id", "group": "$group", "stage": "$log.stage"}}},
            {"$project": {"group": "$_id.group", "stage": "$_id.stage"}},
            {"$group": {"_id": {"group": "$group", "stage": "$stage"}, "n": {"$sum": 1}}},
        ]
    )
    for row in reached_rows:
        reached = group(row["_id"].get("group"))["reached"]
        stage_key = row["_id"]["stage"]
        reached[stage_key] = reached.get(stage_key, 0) + row["n"]
    names = _campaign_names([k for k in groups if k is not None]) if by == "campaign" else {}
    stages = pipeline.ordered()
    out = []
    for key, found in groups.items():
        closed = found["won"] + found["lost"]
        out.append(
            {
                "key": "" if key is None else str(key),
                "name": names.get(key, "") if by == "campaign" else (key or ""),
                "deals": found["open"] + closed,
                "open": found["open"],
                "won": found["won"],
                "lost": found["lost"],
                "win_rate": _ratio(found["won"], closed),
                "won_amount": to_money(found["won_minor"]),
                "funnel": [
                    {
                        "stage": stage.key,
                        "kind": stage.kind,
                        "reached": found["reached"].get(stage.key, 0),
                        "conversion": _conversion(stages, stage, found["reached"]),
                    }
                    for stage in stages
                ],
            }
        )
    out.sort(key=lambda g: (-g["deals"], g["key"]))
    return {"pipeline": pipeline.key, "by": by, "groups": out}


def _campaign_names(ids: list[Any]) -> dict[Any, str]:
    rows = Campaign._get_collection().find({"_id": {"$in": ids}}, {"name": 1})
    return {row["_id"]: row.get("name", "") for row in rows}
