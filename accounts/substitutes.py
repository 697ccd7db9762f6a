"""Substitutes: a user names who stands in for them during a period (vacation, sick leave).

While the period runs, the substitute's Actor carries the absent user's name in
`on_behalf_of` (set by `accounts.service.actor_of`), so the absent user's personal tasks
reach the substitute's inbox and may be completed by them; the engine records the absent
user in the task's event. Outside the period nothing of the absent user is shown.
"""

from __future__ import annotations

from datetime import datetime

from engine.actor import Actor
from engine.clock import naive_utc
from engine.models import utcnow

from .errors import InvalidAccountData
from .models import Substitution, User


def _naive(value: datetime) -> datetime:
    # The database stores naive UTC.
    return naive_utc(value)


def set_substitute(
    actor: Actor, substitute: str, starts_at: datetime, ends_at: datetime
) -> Substitution:
    """Name the actor's substitute for [starts_at, ends_at); replaces an earlier one."""
    starts, ends = _naive(starts_at), _naive(ends_at)
    errors: dict[str, list[str]] = {}
    if substitute == actor.username:
        errors["user"] = ["one cannot substitute oneself"]
    elif not User.objects(username=str(substitute), active=True, is_machine=False).first():
        errors["user"] = ["no such active user"]
    if ends <= starts:
        errors["to"] = ["must be after 'from'"]
    elif ends <= utcnow():
        errors["to"] = ["the period is over already"]
    if errors:
        raise InvalidAccountData("invalid substitute", errors)
    Substitution.objects(username=actor.username).update_one(
        set__substitute=substitute,
        set__starts_at=starts,
        set__ends_at=ends,
        set__created_at=utcnow(),
        upsert=True,
    )
    return Substitution.objects.get(username=actor.username)


def clear_substitute(actor: Actor) -> bool:
    """Remove the actor's substitute; return whether there was one."""
    return bool(Substitution.objects(username=actor.username).delete())


def substitute_of(username: str) -> Substitution | None:
    return Substitution.objects(username=username).first()


def absent_users(substitute: str, now: datetime | None = None) -> list[str]:
    """The users `substitute` stands in for at `now` (one indexed lookup)."""
    at = _naive(now or utcnow())
    return [
        s.username
        for s in Substitution.objects(substitute=substitute).only(
            "username", "starts_at", "ends_at"
        )
        if s.starts_at <= at < s.ends_at
    ]
