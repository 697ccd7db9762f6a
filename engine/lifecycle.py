"""Suspend, resume and terminate on behalf of a user, with the access rule applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import access, instances, queries
from .actor import Actor
from .errors import NotAllowed

_ACTIONS: dict[str, Callable[[str, Actor, str], dict[str, Any]]] = {
    "suspend": instances.suspend,
    "resume": instances.resume,
    "terminate": instances.terminate,
}


def change(instance_id: str, actor: Actor, action: str, reason: str = "") -> dict[str, Any]:
    """Apply `action` (suspend, resume, terminate) if the actor may; return the instance.

    The reason, when given, goes into the audit log with the event."""
    doc = queries.visible_instance(instance_id, actor)
    if not access.may_control(doc, actor):
        raise NotAllowed(f"only the starter, designers and admins may {action} this instance")
    return _ACTIONS[action](str(doc["_id"]), actor, reason)
