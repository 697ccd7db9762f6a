"""Sales: a pipeline's kanban board (drag a card to move the deal) and the deal list."""

from __future__ import annotations

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine.errors import EngineError, InvalidInput, NotFound, PermissionDenied
from sales import deals, pipelines

from .blueprint import bp
from .security import current_actor

PAGE = 50
FILTERS = ("pipeline", "stage", "stage_kind", "responsible", "source")


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
