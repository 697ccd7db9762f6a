"""Optimistic locking over HTTP: the `ETag` of a versioned object and the `If-Match` header.

An object's entity tag is its version number in quotes (`"7"`): strong, because every
change of a versioned object raises its version by one (a compare-and-set in the service).
Office documents and registration cards have no counter; their token is `updated_at` in
whole milliseconds (documents.office.version_of), which every change of them moves.
A route answers an object with `tagged(obj)` and reads the version a write expects with
`expected_version(body)` (the `If-Match` header, or the older body field `version`) or
`if_match()` (the header alone). A stale version ends in the service's 409 whose body names
`current_version` and whose `ETag` header is the current tag (added in webapi.errors).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import request
from flask_smorest import Blueprint

from engine.errors import InvalidInput

# One entity tag, weak or strong; our tags are decimal versions.
_TAG = re.compile(r'\s*(W/)?"(\d{1,18})"\s*')


F = TypeVar("F", bound=Callable[..., Any])


class BadPrecondition(InvalidInput):
    """`If-Match` is not one of our entity tags, or contradicts the body's `version`."""

    code = "invalid_if_match"


def etag_of(version: int) -> str:
    """The entity tag of an object at `version`."""
    return f'"{int(version)}"'


def tagged(
    obj: Any, status: int = 200, version: int | None = None
) -> tuple[Any, int, dict[str, str]]:
    """A view's answer: `obj` with its `ETag` header (its `version`, unless another token
    is given: documents and cards use their `updated_at` in milliseconds)."""
    return obj, status, {"ETag": etag_of(obj.version if version is None else version)}


def if_match() -> int | None:
    """The version the `If-Match` header expects; None without the header or for `*`."""
    value = request.headers.get("If-Match")
    if value is None or value.strip() == "*":
        return None
    found = _TAG.fullmatch(value)
    if found is None:
        raise BadPrecondition(
            'If-Match must be one entity tag this API gave, e.g. "3"',
            {"If-Match": ['must be one entity tag from an ETag header, e.g. "3"']},
        )
    return int(found.group(2))


def expected_version(body: dict[str, Any] | None = None) -> int | None:
    """The version a write expects: `If-Match`, else the body's `version` (popped from it)."""
    from_body = body.pop("version", None) if body is not None else None
    from_header = if_match()
    if from_header is not None and from_body is not None and from_header != from_body:
        raise BadPrecondition(
            "If-Match and the body's version disagree",
            {"version": [f"is {from_body} while If-Match expects {from_header}"]},
        )
    return from_header if from_header is not None else from_body


_ETAG_HEADER = {
    "description": 'the object\'s version as an entity tag, e.g. "3"; send it back in '
    "If-Match to refuse overwriting someone else's change",
    "schema": {"type": "string"},
}
_IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "the ETag this change expects; a stale one answers 409 version_conflict "
    "with the current version (the body's `version` field works the same way)",
    "schema": {"type": "string"},
}


def etag_doc(blp: Blueprint, status: int = 200, write: bool = False) -> Callable[[F], F]:
    """Document the answer's `ETag` header (and, for a write, the `If-Match` header)."""
    doc: dict[str, Any] = {"responses": {status: {"headers": {"ETag": _ETAG_HEADER}}}}
    if write:
        doc["parameters"] = [_IF_MATCH]
        doc["responses"][409] = {"headers": {"ETag": _ETAG_HEADER}}
    return cast(Callable[[F], F], blp.doc(**doc))
