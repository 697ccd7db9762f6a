"""Signing in for a bearer token, with a rate limit kept in the database.

The limit counts attempts per user name and per client address in one-minute windows.
The counters live in the database, not in process memory, so every web process behind a
load balancer shares them; a TTL index removes old windows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mongoengine import DateTimeField, Document, IntField, StringField
from pymongo.collection import Collection

from engine.models import utcnow

from . import service
from .errors import TooManyAttempts
from .models import ApiToken

WINDOW_SECONDS = 60
# Offices sign in from behind one address: allow it many times one user's limit.
ADDRESS_FACTOR = 10
_EPOCH = datetime(1970, 1, 1)  # the database's datetimes are naive UTC


class LoginWindow(Document):
    """Attempts of one user name or one address within one minute."""

    id = StringField(primary_key=True)  # "<user|addr>:<value>:<minute>"
    count = IntField(default=0)
    expires_at = DateTimeField(required=True)

    meta = {
        "collection": "login_windows",
        "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}],
    }


MODELS = (LoginWindow,)


def _windows() -> Collection:
    return LoginWindow._get_collection()


def _hit(scope: str, limit: int, now: datetime) -> int | None:
    """Count one attempt; return seconds to wait if the scope is over its limit."""
    seconds = int((now - _EPOCH).total_seconds())
    minute = seconds // WINDOW_SECONDS
    key = f"{scope}:{minute}"
    expires = now + timedelta(seconds=2 * WINDOW_SECONDS)
    windows = _windows()
    windows.update_one(
        {"_id": key}, {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": expires}}, upsert=True
    )
    doc = windows.find_one({"_id": key}, {"count": 1})
    if doc is not None and doc["count"] > limit:
        return (minute + 1) * WINDOW_SECONDS - seconds
    return None


def sign_in(
    username: str, password: str, client: str, ttl_seconds: int, limit_per_minute: int
) -> tuple[str, ApiToken]:
    """A new bearer token for valid credentials, unless the attempts are over the limit."""
    now = utcnow()
    waits = [
        w
        for w in (
            _hit(f"user:{username.lower()[:64]}", limit_per_minute, now),
            _hit(f"addr:{client[:64]}", limit_per_minute * ADDRESS_FACTOR, now),
        )
        if w is not None
    ]
    if waits:
        raise TooManyAttempts("too many sign-in attempts; wait and try again", max(waits))
    user = service.authenticate(username, password)
    return service.issue_token(user.username, ttl_seconds, name="sign-in")
