"""Creating users, checking passwords, issuing and verifying bearer tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from mongoengine.errors import NotUniqueError

from engine.actor import Actor
from engine.models import utcnow

from .errors import InvalidAccountData, InvalidCredentials, InvalidToken, UserExists, UserNotFound
from .models import ApiToken, Group, User
from .substitutes import absent_users

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_GROUP = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD = 8
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("not a real password")


def actor_of(user: User) -> Actor:
    """The engine's view of a user (with the users they substitute right now)."""
    return Actor(
        user.username,
        frozenset(user.groups),
        bool(user.is_admin),
        on_behalf_of=frozenset(absent_users(user.username)),
    )


def create_user(
    username: str,
    password: str | None,
    groups: list[str] | tuple[str, ...] = (),
    is_admin: bool = False,
    full_name: str = "",
    email: str = "",
    is_machine: bool = False,
    locale: str = "ru",
) -> User:
    """Create a user (and the groups it names)."""
    errors: dict[str, list[str]] = {}
    if not _USERNAME.match(username or ""):
        errors["username"] = ["1 to 64 letters, digits or _.@-"]
    if not is_machine and (not password or len(password) < MIN_PASSWORD):
        errors["password"] = [f"at least {MIN_PASSWORD} characters"]
    bad_groups = [g for g in groups if not _GROUP.match(g)]
    if bad_groups:
        errors["groups"] = [f"bad group name {g!r}" for g in bad_groups]
    if errors:
        raise InvalidAccountData("invalid user", errors)
    for name in groups:
        Group.objects(name=name).update_one(set_on_insert__title=name, upsert=True)
    user = User(
        username=username,
        groups=sorted(set(groups)),
        is_admin=is_admin,
        full_name=full_name,
        email=email,
        is_machine=is_machine,
        locale=locale,
        password_hash=_hasher.hash(password) if password else "",
    )
    try:
        user.save(force_insert=True)
    except NotUniqueError as exc:
        raise UserExists(f"user {username} exists already", {"username": ["taken"]}) from exc
    return user


def get_user(username: str) -> User:
    """An active user by name."""
    user = User.objects(username=str(username), active=True).first()
    if user is None:
        raise UserNotFound(f"no user {username}")
    return user


def authenticate(username: str, password: str) -> User:
    """The user whose password this is, or InvalidCredentials."""
    user = User.objects(username=str(username), active=True).first()
    try:
        _hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError) as exc:
        raise InvalidCredentials("wrong username or password") from exc
    if user is None or not user.password_hash:
        raise InvalidCredentials("wrong username or password")
    return user


def _digest(token: str) -> str:
    # Tokens are 256 random bits: a fast hash is enough, and lookups stay indexed.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(username: str, ttl_seconds: int | None, name: str = "") -> tuple[str, ApiToken]:
    """A new bearer token for the user; `ttl_seconds=None` means valid until revoked."""
    user = get_user(username)
    token = "crm_" + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=ttl_seconds) if ttl_seconds else None
    record = ApiToken(
        token_hash=_digest(token), username=user.username, name=name, expires_at=expires
    )
    record.save(force_insert=True)
    return token, record


def verify_token(token: str, now: datetime | None = None) -> User:
    """The user a valid, unexpired, unrevoked token belongs to, or InvalidToken."""
    record = ApiToken.objects(token_hash=_digest(token or "")).first()
    now = now or utcnow()
    if record is None or record.revoked or (record.expires_at and record.expires_at <= now):
        raise InvalidToken("the token is invalid, expired or revoked")
    user = User.objects(username=record.username, active=True).first()
    if user is None:
        raise InvalidToken("the token's user is disabled")
    return user


def revoke_token(token: str) -> bool:
    """Revoke a token; return whether it existed."""
    return bool(ApiToken.objects(token_hash=_digest(token)).update_one(set__revoked=True))
