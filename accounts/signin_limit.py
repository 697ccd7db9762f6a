"""Failed sign-ins of the web UI's form, limited per user name and per client address.

Five failures for one user name within a five-minute window lock that name until the
window ends; an address gets ten times that (offices sign in from behind one address).
The counters live in the database (the `login_windows` collection of accounts.login, with
its TTL index), so every web process shares them. Windows are fixed, not sliding: at worst
twice the limit passes across a window's edge, which still stops guessing.
On top of that, the failures of a name in a row count together with the API's (see
accounts.login): from the tenth on the name is locked with a doubling backoff, so waiting
out the windows does not allow unbounded guessing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.models import utcnow

from .login import LoginWindow, clear_failures, locked_for, record_failed_sign_in

WINDOW_SECONDS = 300
USER_LIMIT = 5
ADDRESS_LIMIT = 50
_EPOCH = datetime(1970, 1, 1)  # the database's datetimes are naive UTC


def _keys(username: str, client: str, now: datetime) -> tuple[list[tuple[str, int]], int]:
    seconds = int((now - _EPOCH).total_seconds())
    window = seconds // WINDOW_SECONDS
    keys = [
        (f"uifail:user:{username.strip().lower()[:64]}:{window}", USER_LIMIT),
        (f"uifail:addr:{client[:64]}:{window}", ADDRESS_LIMIT),
    ]
    return keys, (window + 1) * WINDOW_SECONDS - seconds


def blocked(username: str, client: str, now: datetime | None = None) -> int | None:
    """Seconds until the user name or the address may try again, or None if they may now."""
    now = now or utcnow()
    keys, left = _keys(username, client, now)
    found = LoginWindow._get_collection().find({"_id": {"$in": [k for k, _ in keys]}})
    counts = {doc["_id"]: doc.get("count", 0) for doc in found}
    waits = [left] if any(counts.get(key, 0) >= limit for key, limit in keys) else []
    locked = locked_for(username, now)
    if locked is not None:
        waits.append(locked)
    return max(waits) if waits else None


def record_failure(username: str, client: str, now: datetime | None = None) -> None:
    """Count one failed sign-in for the user name and for the address."""
    now = now or utcnow()
    keys, left = _keys(username, client, now)
    expires = now + timedelta(seconds=left + WINDOW_SECONDS)
    windows = LoginWindow._get_collection()
    for key, _ in keys:
        windows.update_one(
            {"_id": key},
            {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": expires}},
            upsert=True,
        )
    record_failed_sign_in(username, now)


def record_success(username: str) -> None:
    """A successful sign-in: the name's failures in a row start from zero again."""
    clear_failures(username)
