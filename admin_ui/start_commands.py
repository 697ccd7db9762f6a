"""Start commands on object cards (contracts, registration cards, office documents): the
procedures that declare the object's type and that the user may start (docs/access.md).

The cards include `_start_commands.html`; its buttons post here. The same rule as the API's
`GET /definitions?startable_for=me&subject_type=…` decides what is offered and accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from documents import cards, office
from engine import instances, start_rights
from engine.actor import Actor
from engine.models import ProcessDefinition
from registry import contracts

from .blueprint import bp
from .security import current_actor


def _contract(actor: Actor, object_id: str) -> str:
    found = contracts.get(actor, object_id)
    return f"№ {found.number} {found.subject}".strip()


def _card(actor: Actor, object_id: str) -> str:
    found = cards.get_card(actor, object_id)
    return f"№ {found.number} {found.title}".strip()


def _document(actor: Actor, object_id: str) -> str:
    return str(office.get_document(actor, object_id).title or "")


# Subject type -> the title of an object the actor may read (its service refuses others).
SUBJECTS: dict[str, Callable[[Actor, str], str]] = {
    "contract": _contract,
    "card": _card,
    "document": _document,
}


@bp.app_template_global()
def start_commands(subject_type: str) -> list[ProcessDefinition]:
    """The procedures for `subject_type` the current user may start (once per request)."""
    cache: dict[str, list[ProcessDefinition]] = g.setdefault("start_commands", {})
    if subject_type not in cache:
        cache[subject_type] = start_rights.startable(current_actor(), subject_type)
    return cache[subject_type]


@bp.route("/start/<subject_type>/<object_id>/<key>", methods=["POST"])
def start_on_object(subject_type: str, object_id: str, key: str) -> Response:
    """Start a procedure on the object; 403 unless it is offered to the user for its type."""
    title_of = SUBJECTS.get(subject_type)
    if title_of is None:
        abort(404)
    actor = current_actor()
    title = title_of(actor, object_id)  # 404 when the user may not read the object
    if key not in {d.key for d in start_commands(subject_type)}:
        abort(403)
    subject: dict[str, Any] = {"type": subject_type, "id": object_id, "title": title[:200]}
    doc = instances.start(key, actor, subject=subject)
    mine = [t for t in doc.get("open_tasks", []) if t.get("assignee") == actor.username]
    if mine:
        return redirect(url_for("ui.task", guid=mine[0]["guid"]))
    flash(_("Process started."), "success")
    return redirect(url_for("ui.instance", instance_id=str(doc["_id"])))
