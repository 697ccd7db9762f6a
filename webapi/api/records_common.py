"""What the records-office blueprints share: auth that documents itself, upload limits,
file download responses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Response, current_app, request, stream_with_context
from flask_smorest import Blueprint

from documents.files import DEFAULT_MAX_BYTES
from webapi.auth import group_required, login_required
from webapi.errors import ErrorSchema

F = TypeVar("F", bound=Callable[..., Any])
OFFICE = "office"  # the records clerks' group: journals, nomenclature, templates
_FORM_OVERHEAD = 64 * 1024


def secured(blp: Blueprint, *groups: str) -> Callable[[F], F]:
    """The view needs a bearer token (of an admin or a member of `groups`, if given)."""

    def decorate(view: F) -> F:
        guarded = group_required(*groups)(view) if groups else login_required(view)
        documented = blp.doc(security=[{"bearerAuth": []}])(guarded)
        for status in (401, 403, 404, 409, 422):
            documented = blp.alt_response(status, schema=ErrorSchema)(documented)
        return documented

    return decorate


def max_file_bytes() -> int:
    """The upload cap for stored files (setting `max_file_bytes`, default 50 MiB)."""
    return int(current_app.config["SETTINGS"].extra.get("max_file_bytes", DEFAULT_MAX_BYTES))


def max_template_bytes() -> int:
    """The upload cap for DOCX templates (setting `max_template_bytes`, default 5 MiB)."""
    return int(current_app.config["SETTINGS"].extra.get("max_template_bytes", 5 * 1024 * 1024))


def allow_uploads() -> None:
    """Raise this request's body limit to the file cap (the app's default fits BPMN only)."""
    request.max_content_length = max(max_file_bytes(), max_template_bytes()) + _FORM_OVERHEAD


def secret_key() -> str:
    """The app's secret: signing keys are encrypted with a key derived from it."""
    return str(current_app.config["SECRET_KEY"])


def content_disposition(filename: str, inline: bool = False) -> str:
    """An RFC 6266 header with an ASCII fallback and the UTF-8 name (RFC 5987)."""
    fallback = (
        "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename)
        or "file"
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download(
    chunks: Iterable[bytes], filename: str, mimetype: str, size: int | None = None, etag: str = ""
) -> Response:
    """A streamed file response that a browser saves and never renders as a page."""
    response = Response(
        stream_with_context(iter(chunks)), mimetype=mimetype, direct_passthrough=True
    )
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if size is not None:
        response.headers["Content-Length"] = str(size)
    if etag:
        response.set_etag(etag)
    return response
