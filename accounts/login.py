"""Signing in for a bearer token, with a rate limit and a failure backoff in the database.

The rate limit counts attempts per user name and per client address in one-minute windows.
The backoff counts a user name's failed sign-ins in a row (the API's and the sign-in form's
together): from the tenth on, the name is locked for 30 s, doubling with each further
failure up to an hour; while locked, even the right password is refused without being
checked, and a successful sign-in clears the count. An API attempt counts as a failure
before its password is checked (take_attempt), so parallel guesses cannot all slip past
the tenth. The counters live in the database, not
in process memory, so every web process behind a load balancer shares them; a TTL index
removes old ones. An unknown name counts like a known one (nothing tells them apart).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mongoengine import DateTimeField, Document, IntField, StringField
from pymongo import ReturnDocument
from pymongo.collection import Collection

from engine.models import utcnow

from . import service
from .errors import SignInLocked, TooManyAttempts
from .models import ApiToken

WINDOW_SECONDS = 60
# Offices sign in from behind one address: allow it many times one user's limit.
ADDRESS_FACTOR = 10
FAILURE_LIMIT = 10  # failed sign-ins in a row before a name is locked
FIRST_LOCK_SECONDS = 30  # the lock after the tenth failure; each further one doubles it
MAX_LOCK_SECONDS = 3600
FAILURES_KEPT = timedelta(hours=24)  # a streak with no failure for this long is forgotten
_EPOCH = datetime(1970, 1, 1)  # the database's datetimes are naive UTC


class LoginWindow(Document):
    """Attempts of one user name or one address within one window, or the failed sign-ins
    in a row of one user name (`failures:<name>`, with the end of its lock)."""

    id = StringField(primary_key=True)  # "<user|addr>:<value>:<minute>"
    count = IntField(default=0)
    expires_at = DateTimeField(required=True)
    locked_until = DateTimeField(null=True)

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


def _failures_key(username: str) -> str:
    return f"failures:{username.strip().lower()[:64]}"


def lock_seconds(failures: int) -> int:
    """How long a name stays locked after `failures` failed sign-ins in a row (0: not)."""
    if failures < FAILURE_LIMIT:
        return 0
    return min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2 ** min(failures - FAILURE_LIMIT, 20))


def locked_for(username: str, now: datetime | None = None) -> int | None:
    """Seconds until the name may try again after its failures, or None if it may now."""
    now = now or utcnow()
    doc = _windows().find_one({"_id": _failures_key(username)}, {"locked_until": 1})
    until = doc.get("locked_until") if doc else None
    if until is None or until <= now:
        return None
    return max(1, int((until - now).total_seconds() + 0.999))


def record_failed_sign_in(username: str, now: datetime | None = None) -> int:
    """Count one failed sign-in of the name; lock it from the tenth in a row. Returns the
    count."""
    now = now or utcnow()
    doc: dict[str, Any] | None = _windows().find_one_and_update(
        {"_id": _failures_key(username)},
        {"$inc": {"count": 1}, "$set": {"expires_at": now + FAILURES_KEPT}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:  # an upsert returning the document after: never None
        return 0
    failures = int(doc.get("count", 0))
    seconds = lock_seconds(failures)
    if seconds:
        # $max: two failures landing together never shorten the lock.
        _windows().update_one(
            {"_id": doc["_id"]},
            {"$max": {"locked_until": now + timedelta(seconds=seconds)}},
        )
    return failures


def take_attempt(username: str, now: datetime | None = None) -> int | None:
    """Count a sign-in attempt as a failure *before* its password is checked (a success
    clears the count), so that attempts running at once count too and a burst of parallel
    guesses cannot all pass the tenth. Returns seconds to wait if the name is locked (the
    attempt is then not counted), else None: go on and check the password."""
    now = now or utcnow()
    locked = locked_for(username, now)
    if locked is not None:
        return locked
    key = _failures_key(username)
    doc: dict[str, Any] | None = _windows().find_one_and_update(
        {"_id": key},
        {"$inc": {"count": 1}, "$set": {"expires_at": now + FAILURES_KEPT}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    failures = int(doc.get("count", 0)) if doc else 0
    if failures > FAILURE_LIMIT:
        # Ten attempts, failed or still running, came first; the one that reached ten has
        # locked the name for as long as it runs (and longer if it fails).
        locked = locked_for(username, now)
        if locked is not None:
            _windows().update_one({"_id": key}, {"$inc": {"count": -1}})
            return locked
    seconds = lock_seconds(failures)
    if seconds:
        _windows().update_one(
            {"_id": key}, {"$max": {"locked_until": now + timedelta(seconds=seconds)}}
        )
    return None


def clear_failures(username: str) -> None:
    """A successful sign-in: the name's failures in a row start from zero again."""
    _windows().delete_one({"_id": _failures_key(username)})


def sign_in(
    username: str, password: str, client: str, ttl_seconds: int, limit_per_minute: int
) -> tuple[str, ApiToken]:
    """A new bearer token for valid credentials, unless the attempts are over the limit or
    the name is locked after failed sign-ins."""
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
    locked = take_attempt(username, now)
    if locked is not None:
        raise SignInLocked(
            f"too many failed sign-ins for this name; try again in {locked} s", locked
        )
    # Counted as a failure already: a wrong password leaves it so, a right one clears it.
    user = service.authenticate(username, password)
    clear_failures(username)
    return service.issue_token(user.username, ttl_seconds, name="sign-in")
