"""The workpage: each user's start page with the widgets they chose, in their order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from accounts import delegation, org, workpage
from documents import appeals
from engine import queries
from engine.actor import Actor
from engine.errors import InvalidInput
from mail import orders
from registry import organizations
from sales import deals

from .blueprint import bp
from .security import current_actor

SHOWN = 5  # rows per widget


def _my_tasks(actor: Actor) -> list[dict[str, Any]]:
    # The inbox is ordered by due date, earliest first: overdue tasks come first.
    return queries.inbox(actor, queries.TaskFilter(), limit=SHOWN).items


def _my_processes(actor: Actor) -> list[dict[str, Any]]:
    where = queries.InstanceFilter(started_by=actor.username, status="active")
    return queries.list_instances(actor, where, limit=SHOWN).items


def _my_orders(actor: Actor) -> list[dict[str, Any]]:
    # The top-level orders the user takes part in, each with its sub-orders (a tree).
    roots = orders.list_for(actor, involved=True, top_level=True, limit=SHOWN).items
    return [orders.tree(actor, str(root["_id"])) for root in roots]


def _my_deals(actor: Actor) -> list[Any]:
    return deals.find(actor, responsible=actor.username, stage_kind="open", limit=SHOWN).items


def _department_tasks(actor: Actor) -> list[dict[str, Any]]:
    # For heads: their members' open tasks, each with the members it may go to.
    return [
        {"task": task, "department": d.name, "members": list(d.members)}
        for d in org.headed_by(actor.username)
        for task in delegation.department_tasks(actor, d.name, limit=SHOWN)
    ]


def _delegated_tasks(actor: Actor) -> list[dict[str, Any]]:
    return delegation.listed(actor, "delegator", limit=SHOWN)


def _appeals_overdue(actor: Actor) -> list[Any]:
    return appeals.list_appeals(actor, overdue=True, limit=SHOWN)


def _recent_organizations(actor: Actor) -> list[Any]:
    return organizations.find(actor, sort="-created", limit=SHOWN).items


DATA: dict[str, Callable[[Actor], list[Any]]] = {
    "my_tasks": _my_tasks,
    "my_processes": _my_processes,
    "my_orders": _my_orders,
    "my_deals": _my_deals,
    "appeals_overdue": _appeals_overdue,
    "recent_organizations": _recent_organizations,
    "department_tasks": _department_tasks,
    "delegated_tasks": _delegated_tasks,
}


def titles() -> dict[str, str]:
    return {
        "my_tasks": _("My tasks"),
        "my_processes": _("My processes"),
        "my_orders": _("My orders"),
        "my_deals": _("My deals"),
        "appeals_overdue": _("Overdue appeals"),
        "recent_organizations": _("Recent organizations"),
        "department_tasks": _("My department's tasks"),
        "delegated_tasks": _("Tasks I delegated"),
    }


def _submitted_layout() -> list[str]:
    """The shown widgets in the submitted order; a Move button (no script) moves one."""
    order = [n for n in request.form.getlist("order") if n in workpage.WIDGETS]
    order += [n for n in workpage.WIDGETS if n not in order]
    direction, _sep, name = request.form.get("move", "").partition(":")
    if direction in ("up", "down"):
        order = workpage.move(order, name, -1 if direction == "up" else 1)
    shown = set(request.form.getlist("show"))
    return [n for n in order if n in shown]


@bp.route("/workpage", methods=["GET", "POST"])
def workpage_page() -> str | Response | tuple[str, int]:
    """Show the user's widgets; POST saves which are shown and in which order."""
    actor = current_actor()
    if request.method == "POST":
        try:
            workpage.save_layout(actor, _submitted_layout())
        except (InvalidInput, ValueError):
            flash(_("The layout could not be saved."), "error")
            return redirect(url_for("ui.workpage_page"))
        if request.form.get("move"):  # arranging without the script: stay in the form
            return redirect(url_for("ui.workpage_page", arrange=1, _anchor="arrange"))
        flash(_("Layout saved."), "success")
        return redirect(url_for("ui.workpage_page"))
    widgets = workpage.layout(actor)
    return render_template(
        "workpage.html",
        widgets=[(name, DATA[name](actor)) for name in widgets if name in DATA],
        layout=widgets,
        arrangement=[*widgets, *(n for n in workpage.WIDGETS if n not in widgets)],
        arranging=bool(request.args.get("arrange")),
        titles=titles(),
    )
