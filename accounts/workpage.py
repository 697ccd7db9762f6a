"""Each user's workpage layout: which widgets, in which order (the UI renders them)."""

from __future__ import annotations

from engine.actor import Actor
from engine.models import utcnow

from .errors import InvalidAccountData
from .models import Workpage

# Widget names the UI knows how to draw (admin_ui/workpage.py).
WIDGETS = (
    "my_tasks",
    "my_processes",
    "my_orders",
    "my_deals",
    "appeals_overdue",
    "recent_organizations",
    "department_tasks",
    "delegated_tasks",
)
DEFAULT = ["my_tasks", "my_processes"]


def layout(actor: Actor) -> list[str]:
    """The actor's widgets in order (the default until they save one)."""
    found = Workpage.objects(username=actor.username).only("widgets").first()
    return list(found.widgets) if found is not None else list(DEFAULT)


def save_layout(actor: Actor, widgets: list[str]) -> list[str]:
    """Store the actor's widgets in this order; unknown or repeated names are refused."""
    unknown = [w for w in widgets if w not in WIDGETS]
    repeated = sorted({w for w in widgets if widgets.count(w) > 1})
    if unknown or repeated:
        problems = [f"unknown widget {w!r}" for w in unknown]
        problems += [f"{w!r} given twice" for w in repeated]
        raise InvalidAccountData("invalid workpage", {"widgets": problems})
    Workpage.objects(username=actor.username).update_one(
        set__widgets=list(widgets), set__updated_at=utcnow(), upsert=True
    )
    return list(widgets)


def move(widgets: list[str], name: str, step: int) -> list[str]:
    """`widgets` with `name` moved `step` places (-1 up, +1 down), bounded by the ends."""
    if name not in widgets:
        return list(widgets)
    order = [w for w in widgets if w != name]
    index = max(0, min(len(order), widgets.index(name) + step))
    order.insert(index, name)
    return order
