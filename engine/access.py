"""Who may see and act on instances and tasks, as database filters.

Lists apply these rules inside the query itself, never by filtering results afterwards.
Admins and members of `designers` see every instance; anyone else sees the instances they
started or in which they have or had a task (as assignee, candidate or group member).
"""

from __future__ import annotations

from typing import Any

from .actor import Actor

DESIGNERS = "designers"


def sees_all_instances(actor: Actor) -> bool:
    """Admins and designers see (and may control) every instance."""
    return actor.is_admin or DESIGNERS in actor.groups


def instance_filter(actor: Actor) -> dict[str, Any]:
    """The condition an instance document must meet to be visible to `actor`."""
    if sees_all_instances(actor):
        return {}
    return {"$or": [{"started_by": actor.username}, {"participants": {"$in": actor.principals}}]}


def may_control(instance: dict[str, Any], actor: Actor) -> bool:
    """Suspend, resume and terminate: the starter, designers and admins."""
    return sees_all_instances(actor) or instance.get("started_by") == actor.username


def inbox_owners(actor: Actor) -> list[str]:
    """The `owners` entries that put a task in the actor's inbox (with the users the actor
    substitutes now: one more flat stream per absent user)."""
    return list(actor.task_principals)


def inbox_filter(actor: Actor) -> dict[str, Any]:
    """Tasks in the actor's inbox: assigned to them, or offered to them and unclaimed."""
    # `owners` is the assignee, or the candidates while nobody has claimed the task: one
    # multikey field, so the inbox is one index range instead of an $or of two.
    return {"owners": {"$in": actor.task_principals}}
