"""What every blueprint needs: token checks that also document themselves in OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint

from webapi.auth import group_required, login_required
from webapi.errors import ErrorSchema

F = TypeVar("F", bound=Callable[..., Any])

_DESCRIPTIONS = {
    401: "Missing, invalid, expired or revoked token",
    403: "The caller may not do this",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state",
    413: "The upload is too large",
    422: "Invalid input; `errors` names the fields",
    429: "Too many attempts; see Retry-After",
}


def errors(blp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Document error responses (all with the one error body)."""

    def decorate(view: F) -> F:
        for status in statuses:
            view = blp.alt_response(
                status, schema=ErrorSchema, description=_DESCRIPTIONS.get(status, "Error")
            )(view)
        return view

    return decorate


def secured(blp: Blueprint, *groups: str) -> Callable[[F], F]:
    """The view needs a bearer token (of an admin or a member of `groups`, if given)."""

    def decorate(view: F) -> F:
        guarded = group_required(*groups)(view) if groups else login_required(view)
        documented = blp.doc(security=[{"bearerAuth": []}])(guarded)
        return errors(blp, 401, *((403,) if groups else ()))(documented)

    return decorate
