"""One error body for every 4xx/5xx: {"code", "message", "errors"}.

Domain exceptions are mapped to HTTP statuses here and nowhere else.
"""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify
from pymongo.errors import ConnectionFailure
from werkzeug.exceptions import HTTPException

from accounts import errors as account_errors
from engine import errors as engine_errors

from .etags import etag_of

log = logging.getLogger(__name__)

STATUS: dict[type[Exception], int] = {
    engine_errors.NotFound: 404,
    engine_errors.Conflict: 409,
    engine_errors.InvalidInput: 422,
    engine_errors.PermissionDenied: 403,
    account_errors.InvalidCredentials: 401,
    account_errors.InvalidToken: 401,
    account_errors.TooManyAttempts: 429,
    engine_errors.PayloadTooLarge: 413,
}

# Codes for plain HTTP errors (werkzeug's), so clients can switch on `code` alone.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


class ErrorSchema(ma.Schema):
    """The error body (for OpenAPI)."""

    code = ma.fields.String(metadata={"description": "stable machine-readable error code"})
    message = ma.fields.String(metadata={"description": "what went wrong, for people"})
    errors = ma.fields.Dict(metadata={"description": "field → messages, or details"})


def error_response(
    status: int,
    code: str,
    message: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build the one error body."""
    response = jsonify({"code": code, "message": message, "errors": errors or {}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _status_of(exc: engine_errors.EngineError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def handle_domain_error(exc: engine_errors.EngineError) -> Response:
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    current = exc.errors.get("current_version") if isinstance(exc.errors, dict) else None
    if isinstance(current, int) and not isinstance(current, bool):
        headers["ETag"] = etag_of(current)  # so a client can retry without another GET
    return error_response(_status_of(exc), exc.code, exc.message, exc.errors, headers)


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = data.get("messages") or data.get("errors") or {}
    # webargs nests errors by location ("json", "query"): flatten to field → messages.
    if (
        isinstance(errors, dict)
        and set(errors) <= {"json", "query", "form", "files", "headers", "view_args", "path"}
        and errors
    ):
        flat: dict[str, Any] = {}
        for part in errors.values():
            flat.update(part if isinstance(part, dict) else {"_": part})
        errors = flat
    message = data.get("message") or exc.description or exc.name
    if status == 422 and not data.get("message"):
        message = "the request has invalid fields"
    code = HTTP_CODES.get(status, "error" if status < 500 else "internal_error")
    return error_response(status, code, message, errors, data.get("headers"))


def handle_database_down(exc: ConnectionFailure) -> Response:
    """The database does not answer (down, restarting, unreachable): the client may retry;
    the driver reconnects by itself once it is back."""
    log.warning("database unavailable: %s", exc)
    return error_response(
        503,
        "database_unavailable",
        "the database is not reachable; try again shortly",
        headers={"Retry-After": "5"},
    )


def handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error")
    return error_response(500, "internal_error", "an internal error occurred; it was logged")


def register(app: Flask) -> None:
    """Attach the handlers to the app."""
    app.register_error_handler(engine_errors.EngineError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ConnectionFailure, handle_database_down)
    app.register_error_handler(Exception, handle_unexpected)
