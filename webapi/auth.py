"""Bearer-token authentication for the API: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from accounts import service as accounts
from accounts.errors import Forbidden, InvalidToken
from accounts.models import User
from engine.actor import Actor

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> User:
    return g.user


def current_actor() -> Actor:
    return accounts.actor_of(g.user)


def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("missing bearer token: send 'Authorization: Bearer <token>'")
    g.user = accounts.verify_token(token.strip())
    g.token = token.strip()


def current_token() -> str:
    """The bearer token of this request (after authentication)."""
    return str(g.token)


def login_required(view: F) -> F:
    """The view needs a valid bearer token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _authenticate()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def group_required(*groups: str) -> Callable[[F], F]:
    """The view needs a token of an admin or of a member of one of `groups`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _authenticate()
            user = g.user
            if not user.is_admin and not set(groups) & set(user.groups):
                raise Forbidden(f"only members of {', '.join(groups)} may do this")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
