"""The workpage: each user's start page with the widgets they chose, in their order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from accounts import workpage
from documents import appeals
from engine import queries
from engine.actor import Actor
from engine.errors import InvalidInput
from registry import organizations

from .blueprint import bp
from .security import current_actor

SHOWN = 5  # rows per widget


def _my_tasks(actor: Actor) -> list[dict[str, Any]]:
    # The inbox is ordered by due date, earliest first: overdue tasks come first.
    return queries.inbox(actor, queries.TaskFilter(), limit=SHOWN).items


def _my_processes(actor: Actor) -> list[dict[str, Any]]:
    where = queries.InstanceFilter(started_by=actor.username, status="active")
    return queries.list_instances(actor, where, limit=SHOWN).items


def _appeals_overdue(actor: Actor) -> list[Any]:
    return appeals.list_appeals(actor, overdue=True, limit=SHOWN)


def _recent_organizations(actor: Actor) -> list[Any]:
    return organizations.find(actor, sort="-created", limit=SHOWN).items


DATA: dict[str, Callable[[Actor], list[Any]]] = {
    "my_tasks": _my_tasks,
    "my_processes": _my_processes,
    "appeals_overdue": _appeals_overdue,
    "recent_organizations": _recent_organizations,
}


def titles() -> dict[str, str]:
    return {
        "my_tasks": _("My tasks"),
        "my_processes": _("My processes"),
        "appeals_overdue": _("Overdue appeals"),
        "recent_organizations": _("Recent organizations"),
    }


@bp.route("/workpage", methods=["GET", "POST"])
def workpage_page() -> str | Response | tuple[str, int]:
    """Show the user's widgets; POST saves which are shown and in which order."""
    actor = current_actor()
    if request.method == "POST":
        chosen = [
            (int(request.form.get(f"position.{name}") or 0), name)
            for name in workpage.WIDGETS
            if request.form.get(f"show.{name}")
        ]
        try:
            workpage.save_layout(actor, [name for _pos, name in sorted(chosen)])
        except (InvalidInput, ValueError):
            flash(_("The layout could not be saved."), "error")
            return redirect(url_for("ui.workpage_page"))
        flash(_("Layout saved."), "success")
        return redirect(url_for("ui.workpage_page"))
    widgets = workpage.layout(actor)
    return render_template(
        "workpage.html",
        widgets=[(name, DATA[name](actor)) for name in widgets if name in DATA],
        layout=widgets,
        available=workpage.WIDGETS,
        titles=titles(),
    )
