"""Sales: a pipeline's kanban board (drag a card to move the deal), the deal list, the
funnel figures, segments with a member preview, campaigns, call tasks, plan versus fact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from engine.clock import naive_utc
from engine.errors import EngineError, InvalidInput, NotFound, PermissionDenied
from engine.models import utcnow
from sales import analytics, campaigns, deals, pipelines, plans, segments

from .blueprint import bp
from .i18n import form_message
from .security import current_actor

PAGE = 50
FILTERS = ("pipeline", "stage", "stage_kind", "responsible", "source", "campaign")
SEGMENT_TEXTS = ("region", "industry", "responsible", "deal_pipeline", "deal_stage")
SEGMENT_DATES = ("last_action_before", "last_action_after")
PREVIEW = 50
OUTCOMES = {
    "reached": _l("reached"),
    "interested": _l("interested"),
    "callback": _l("call back later"),
    "refused": _l("refused"),
    "no_answer": _l("no answer"),
    "wrong_number": _l("wrong number"),
}


@bp.route("/sales")
def sales_index() -> Response | str:
    """The first pipeline's board, or a note that there is none."""
    found = pipelines.find(current_actor())
    if not found:
        return render_template("sales/empty.html")
    return redirect(url_for("ui.sales_board", pipeline=found[0].key))


@bp.route("/sales/<pipeline>/board")
def sales_board(pipeline: str) -> str:
    """A pipeline's stages as columns, the deals the user may read as cards."""
    actor = current_actor()
    board = deals.board(actor, pipeline)
    return render_template(
        "sales/board.html", board=board, pipelines=pipelines.find(actor), current=pipeline
    )


@bp.route("/sales/deals")
def sales_deals() -> str:
    """Deals the user may read, filtered by pipeline, stage, kind, manager and source."""
    actor = current_actor()
    args = {key: request.args.get(key, "").strip() or None for key in FILTERS}
    if args["stage_kind"] not in (None, "open", "won", "lost"):
        abort(404)
    page = deals.find(
        actor,
        pipeline=args["pipeline"],
        stage=args["stage"],
        stage_kind=args["stage_kind"],
        responsible=args["responsible"],
        source=args["source"],
        campaign=args["campaign"],
        limit=PAGE,
        cursor=request.args.get("cursor") or None,
    )
    return render_template("sales/list.html", page=page, args=args, pipelines=pipelines.find(actor))


def _status(error: EngineError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, InvalidInput):
        return 422
    return 409


@bp.route("/sales/deals/<deal_id>/move", methods=["POST"])
def sales_move(deal_id: str) -> tuple[Response, int]:
    """Move a dropped card's deal (the board's script posts here); JSON either way."""
    version = request.form.get("version", "")
    try:
        deal = deals.move(
            current_actor(),
            deal_id,
            request.form.get("stage", ""),
            int(version) if version.isdigit() else None,
            lost_reason=request.form.get("lost_reason") or None,
        )
    except EngineError as error:
        messages = [
            f"{field}: {'; '.join(map(str, texts))}"
            for field, texts in error.errors.items()
            if isinstance(texts, list)
        ]
        body = {"message": _("The deal was not moved: %(why)s", why=error.message)}
        return jsonify({**body, "errors": messages}), _status(error)
    return jsonify(
        {"stage": deal.stage, "version": deal.version, "probability": deal.probability}
    ), 200


def _field_errors(error: EngineError) -> dict[str, list[str]]:
    """Field errors keyed by form field (a segment's `conditions.x` is the field `x`)."""
    return {
        key.removeprefix("conditions."): [
            form_message(str(m)) for m in (msgs if isinstance(msgs, list) else [msgs])
        ]
        for key, msgs in error.errors.items()
    }


@bp.route("/sales/<pipeline>/analytics")
def sales_analytics(pipeline: str) -> str:
    """A pipeline's funnel (conversion, time in stage), outcomes and forecast, and the
    funnel per deal source and per campaign."""
    actor = current_actor()
    return render_template(
        "sales/analytics.html",
        figures=analytics.summary(actor, pipeline),
        by_source=analytics.by_group(actor, pipeline, "source"),
        by_campaign=analytics.by_group(actor, pipeline, "campaign"),
        pipelines=pipelines.find(actor),
        current=pipeline,
    )


# ----------------------------------------------------------------------------- segments


def _conditions(form: MultiDict[str, str]) -> dict[str, Any]:
    conditions: dict[str, Any] = {}
    tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    if tags:
        conditions["tags"] = tags
    for key in (*SEGMENT_TEXTS, *SEGMENT_DATES, "contracts_amount_min"):
        value = form.get(key, "").strip()
        if value:
            conditions[key] = value
    return conditions


def _segment_form(segment: segments.Segment | None) -> dict[str, Any]:
    if segment is None:
        return {"name": "", "target": "contacts"}
    values: dict[str, Any] = {"name": segment.name, "target": segment.target}
    values.update(segment.conditions or {})
    values["tags"] = ", ".join(values.get("tags") or [])
    if values.get("contracts_amount_min") is not None:
        values["contracts_amount_min"] = f"{values['contracts_amount_min'] / 100:.2f}"
    return values


@bp.route("/sales/segments")
def sales_segments() -> str:
    """Saved segments."""
    return render_template("sales/segments.html", items=segments.find(current_actor()))


@bp.route("/sales/segments/new", methods=["GET", "POST"])
@bp.route("/sales/segments/<segment_id>", methods=["GET", "POST"])
def sales_segment(segment_id: str | None = None) -> str | Response | tuple[str, int]:
    """Make or change a segment; the Preview button shows its members without saving."""
    actor = current_actor()
    segment = segments.get(actor, segment_id) if segment_id else None
    may_edit = segment is None or actor.is_admin or segment.owner == actor.username
    context: dict[str, Any] = {
        "segment": segment,
        "may_edit": may_edit,
        "pipelines": pipelines.find(actor),
        "errors": {},
        "preview": None,
    }
    if request.method == "GET":
        if segment is not None:
            context["preview"] = segments.evaluate(actor, segment.id, PREVIEW)
        return render_template("sales/segment.html", values=_segment_form(segment), **context)
    form = request.form
    values = {k: form.get(k, "").strip() for k in form if k != "csrf_token"}
    target = form.get("target", "contacts") if segment is None else segment.target
    values["target"] = target
    conditions = _conditions(form)
    try:
        if "preview" in form:
            context["preview"] = segments.members(actor, target, conditions, PREVIEW)
        elif segment is None:
            made = segments.create(
                actor, {"name": form.get("name", ""), "target": target, "conditions": conditions}
            )
            flash(_("Segment saved."), "success")
            return redirect(url_for("ui.sales_segment", segment_id=str(made.id)))
        else:
            segments.update(
                actor,
                segment.id,
                {"name": form.get("name", ""), "conditions": conditions},
                int(form.get("version") or segment.version),
            )
            flash(_("Segment saved."), "success")
            return redirect(url_for("ui.sales_segment", segment_id=str(segment.id)))
    except EngineError as error:
        context["errors"] = _field_errors(error)
        context["message"] = error.message
        return render_template("sales/segment.html", values=values, **context), _status(error)
    return render_template("sales/segment.html", values=values, **context)


# ---------------------------------------------------------------------------- campaigns


def _send_at(raw: str) -> datetime | None:
    """A datetime-local field in the user's time zone as naive UTC."""
    if not raw.strip():
        return None
    try:
        local = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    zone = get_timezone()
    aware = local.replace(tzinfo=zone) if local.tzinfo is None else local
    return naive_utc(aware)


@bp.route("/sales/campaigns", methods=["GET", "POST"])
def sales_campaigns() -> str | Response | tuple[str, int]:
    """Campaigns, and a form to make one (a draft until launched)."""
    actor = current_actor()
    context: dict[str, Any] = {
        "items": campaigns.find(actor),
        "segments": [s for s in segments.find(actor) if s.target == "contacts"],
        "may_manage": campaigns.may_manage(actor),
        "errors": {},
        "values": {"channel": "email"},
    }
    if request.method == "GET":
        return render_template("sales/campaigns.html", **context)
    form = request.form
    values = {k: form.get(k, "").strip() for k in form if k != "csrf_token"}
    body: dict[str, Any] = {
        k: values.get(k, "") for k in ("name", "segment", "channel", "subject", "template")
    }
    body["send_at"] = _send_at(values.get("send_at", ""))
    try:
        made = campaigns.create(actor, body)
    except EngineError as error:
        context.update(values=values, errors=_field_errors(error), message=error.message)
        return render_template("sales/campaigns.html", **context), _status(error)
    flash(_("Campaign created as a draft."), "success")
    return redirect(url_for("ui.sales_campaign", campaign_id=str(made.id)))


@bp.route("/sales/campaigns/<campaign_id>")
def sales_campaign(campaign_id: str) -> str:
    """A campaign: its figures, and each recipient's status (or each call task)."""
    actor = current_actor()
    campaign = campaigns.get(actor, campaign_id)
    manager = campaigns.may_manage(actor)
    status = request.args.get("status", "").strip() or None
    if campaign.channel == "call":
        recipients, calls = [], campaigns.calls(actor, status=None, campaign=campaign_id)
    else:
        recipients = campaigns.recipients(actor, campaign_id, status) if manager else []
        calls = []
    return render_template(
        "sales/campaign.html",
        campaign=campaign,
        stats=campaigns.statistics(actor, campaign_id),
        segment=segments.get(actor, campaign.segment),
        recipients=recipients,
        calls=calls,
        responses=campaigns.responses(actor, campaign_id) if manager else [],
        pipelines=pipelines.find(actor),
        may_manage=manager,
        status=status,
        outcomes=OUTCOMES,
    )


@bp.route("/sales/campaigns/<campaign_id>/launch", methods=["POST"])
def sales_campaign_launch(campaign_id: str) -> Response:
    """Launch a draft: queue its e-mails, or give the managers their calls."""
    try:
        launched = campaigns.launch(current_actor(), campaign_id)
    except EngineError as error:
        if isinstance(error, NotFound):
            abort(404)
        flash(_("The campaign was not launched: %(why)s", why=error.message), "error")
    else:
        flash(_("Campaign launched: %(n)s recipients.", n=launched.recipients), "success")
    return redirect(url_for("ui.sales_campaign", campaign_id=campaign_id))


@bp.route("/sales/campaigns/<campaign_id>/responses", methods=["POST"])
def sales_campaign_response(campaign_id: str) -> Response:
    """Record a reply someone received (logged as an e-mail action on the organization)."""
    try:
        campaigns.record_response(
            current_actor(),
            campaign_id,
            {"email": request.form.get("email", ""), "content": request.form.get("content", "")},
        )
    except EngineError as error:
        if isinstance(error, NotFound):
            abort(404)
        why = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in error.errors.items())
        flash(_("The reply was not recorded: %(why)s", why=why or error.message), "error")
    else:
        flash(_("Reply recorded."), "success")
    return redirect(url_for("ui.sales_campaign", campaign_id=campaign_id))


@bp.route("/sales/campaigns/<campaign_id>/deals", methods=["POST"])
def sales_campaign_deal(campaign_id: str) -> Response:
    """Open a deal from a reply: its organization and contact, the campaign as source."""
    actor = current_actor()
    campaign = campaigns.get(actor, campaign_id)
    reply = next(
        (
            r
            for r in campaigns.responses(actor, campaign.id)
            if str(r.id) == request.form.get("reply")
        ),
        None,
    )
    if reply is None:
        abort(404)
    try:
        made = deals.create(
            actor,
            {
                "pipeline": request.form.get("pipeline", ""),
                "organization": str(reply.organization),
                "contacts": [str(reply.contact)],
                "title": request.form.get("title", "").strip() or campaign.name,
                "amount": request.form.get("amount", "").strip() or None,
                "campaign": str(campaign.id),
            },
        )
    except EngineError as error:
        if isinstance(error, NotFound):
            abort(404)
        why = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in error.errors.items())
        flash(_("The deal was not opened: %(why)s", why=why or error.message), "error")
        return redirect(url_for("ui.sales_campaign", campaign_id=campaign_id))
    flash(_("Deal opened: %(title)s.", title=made.title), "success")
    return redirect(url_for("ui.sales_deals", campaign=campaign_id))


# -------------------------------------------------------------------------------- calls


@bp.route("/sales/calls")
def sales_calls() -> str:
    """The user's open call tasks (sales heads: everyone's, or one manager's)."""
    actor = current_actor()
    assignee = request.args.get("assignee", "").strip() or None
    done = request.args.get("done") == "1"
    items = campaigns.calls(actor, status="done" if done else "open", assignee=assignee)
    names = {c.id: c.name for c in campaigns.Campaign.objects(id__in=[i.campaign for i in items])}
    return render_template(
        "sales/calls.html",
        items=items,
        names=names,
        outcomes=OUTCOMES,
        assignee=assignee or "",
        done=done,
        heads=actor.is_admin or campaigns.HEADS in actor.groups,
    )


@bp.route("/sales/calls/<call_id>/outcome", methods=["POST"])
def sales_call_outcome(call_id: str) -> Response:
    """Record a call's outcome (logged as an outgoing call on the organization)."""
    try:
        campaigns.record_call(
            current_actor(),
            call_id,
            {"outcome": request.form.get("outcome", ""), "note": request.form.get("note", "")},
        )
    except EngineError as error:
        if isinstance(error, NotFound):
            abort(404)
        flash(_("The outcome was not recorded: %(why)s", why=error.message), "error")
    else:
        flash(_("Call outcome recorded."), "success")
    return redirect(url_for("ui.sales_calls"))


# -------------------------------------------------------------------------------- plans


@bp.route("/sales/plans", methods=["GET", "POST"])
def sales_plans() -> str | Response | tuple[str, int]:
    """Plan versus fact per manager and month of a year, and a form to set a plan."""
    actor = current_actor()
    year = request.args.get("year", "").strip()
    if not (year.isdigit() and 1900 <= int(year) <= 2999):
        year = str(utcnow().year)
    manager = request.args.get("manager", "").strip() or None
    pipeline = request.args.get("pipeline", "").strip() or None
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {"manager": actor.username, "month": utcnow().strftime("%Y-%m")}
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("manager", "month", "pipeline")}
        values["amount"] = request.form.get("amount", "").strip()
        try:
            plans.save(
                actor,
                values["manager"] or actor.username,
                values["month"],
                values["pipeline"] or None,
                values["amount"],
            )
        except EngineError as error:
            errors, status = _field_errors(error), _status(error)
            if not errors:
                errors = {"manager": [error.message]}
        else:
            flash(_("Plan saved."), "success")
            return redirect(url_for("ui.sales_plans", year=values["month"][:4]))
    figures = plans.plan_versus_fact(
        actor,
        month_from=f"{year}-01",
        month_to=f"{year}-12",
        manager=manager,
        pipeline=pipeline,
    )
    page = render_template(
        "sales/plans.html",
        figures=figures,
        year=year,
        manager=manager or "",
        pipeline=pipeline or "",
        pipelines=pipelines.find(actor),
        values=values,
        errors=errors,
    )
    return (page, status) if status != 200 else page
