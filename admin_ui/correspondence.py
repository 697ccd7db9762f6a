"""Correspondence: one list of messages, assignments, orders and tasks (mail.mailbox),
a message, an assignment and an order with its comments; compose a message."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from mail import assignments, messages, orders
from mail import mailbox as mail_mailbox
from mail.errors import MailInvalid

from .blueprint import bp
from .security import current_actor

KINDS = mail_mailbox.KINDS
FLAGS = mail_mailbox.FLAGS


@bp.route("/mail")
def correspondence() -> str:
    """The merged list, newest first, with counters by kind and flag."""
    kind = request.args.get("kind", "")
    flag = request.args.get("flag", "")
    page = mail_mailbox.view(
        current_actor(),
        kinds=[kind] if kind in KINDS else None,
        unread=flag == "unread",
        overdue=flag == "overdue",
        under_control=flag == "under_control",
        limit=50,
        cursor=request.args.get("cursor") or None,
    )
    return render_template(
        "mail/index.html", page=page, kind=kind, flag=flag, kinds=KINDS, flags=FLAGS
    )


@bp.route("/mail/message/<item_id>")
def message(item_id: str) -> str:
    """A message (reading it marks it read)."""
    return render_template("mail/message.html", item=messages.get(current_actor(), item_id))


@bp.route("/mail/assignment/<item_id>")
def assignment(item_id: str) -> str:
    """An assignment with its roles, deadlines and history."""
    item = assignments.get(current_actor(), item_id)
    return render_template("mail/work.html", item=item, kind="assignment", comments=[])


@bp.route("/mail/order/<item_id>", methods=["GET", "POST"])
def order(item_id: str) -> str | Response | tuple[str, int]:
    """An order with its comments; anyone who sees it may comment."""
    actor = current_actor()
    if request.method == "POST":
        try:
            orders.add_comment(actor, item_id, request.form.get("body", ""))
        except MailInvalid as exc:
            flash(exc.message, "error")
        return redirect(url_for("ui.order", item_id=item_id))
    item = orders.get(actor, item_id)
    return render_template(
        "mail/work.html", item=item, kind="order", comments=orders.list_comments(actor, item_id)
    )


@bp.route("/mail/new", methods=["GET", "POST"])
def compose() -> str | Response | tuple[str, int]:
    """Write a message to users and groups."""
    if request.method == "GET":
        return render_template("mail/compose.html", values={}, error=None)
    values = request.form.to_dict()
    to_users = [u.strip() for u in values.get("to", "").split(",") if u.strip()]
    to_groups = [g.strip() for g in values.get("groups", "").split(",") if g.strip()]
    try:
        messages.send(
            current_actor(),
            to_users,
            to_groups,
            values.get("subject", ""),
            values.get("body", ""),
        )
    except MailInvalid as exc:
        return render_template("mail/compose.html", values=values, error=exc), 422
    flash(_("Message sent."), "success")
    return redirect(url_for("ui.correspondence"))


@bp.route("/mail/open/<kind>/<item_id>")
def open_item(kind: str, item_id: str) -> Response:
    """Open an item of the list on its own page."""
    if kind == "task":
        return redirect(url_for("ui.task", guid=item_id))
    if kind not in ("message", "assignment", "order"):
        abort(404)
    return redirect(url_for(f"ui.{kind}", item_id=item_id))
