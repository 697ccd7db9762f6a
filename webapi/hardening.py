"""Security headers on every response, the session cookie's flags, and a refusal to run
in production with a secret key someone could guess."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.wrappers import Response

from .config import Settings

log = logging.getLogger(__name__)

# Placeholders seen in examples and compose files: a key equal to one of these is public.
KNOWN_DEFAULTS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "your-secret-key",
        "dev",
        "development",
        "default",
        "insecure",
        "test",
        "testing",
        "password",
        "crm",
    }
)
MIN_SECRET_LENGTH = 16
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# The pages use htmx's hx-on and a few inline handlers and <script> blocks, so scripts may
# be inline (moving them to nonces is on the list in docs/reliability.md); everything is
# loaded from this site only, nothing may frame the pages, forms post only here.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class InsecureSecretKey(RuntimeError):
    """CRM_SECRET_KEY is a well-known placeholder: sessions and signatures could be forged."""


def check_secret(settings: Settings, secret: str) -> None:
    """Refuse a guessable secret key outside testing and debug."""
    if settings.testing or settings.debug:
        return
    if secret.strip().lower() in KNOWN_DEFAULTS:
        raise InsecureSecretKey(
            "CRM_SECRET_KEY is a well-known placeholder; set a long random value "
            "(or unset it to have one generated under CRM_DATA_DIR)"
        )
    if len(secret) < MIN_SECRET_LENGTH:
        log.warning("CRM_SECRET_KEY is shorter than %d characters", MIN_SECRET_LENGTH)


def _local_http(settings: Settings) -> bool:
    """The site is plain HTTP on this machine (`crm serve` for one user): no network to
    protect the cookie from, and a Secure cookie would not come back over http."""
    parts = urlsplit(settings.base_url)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK


def secure_cookies(settings: Settings) -> bool:
    return not (settings.testing or settings.debug or _local_http(settings))


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # A view with a stricter policy of its own (downloads, the API reference) keeps it.
    response.headers.setdefault("Content-Security-Policy", CSP)
    return response


def register(app: Flask, settings: Settings) -> None:
    """Check the secret, flag the session cookie, add the headers."""
    check_secret(settings, str(app.config["SECRET_KEY"]))
    app.config["SESSION_COOKIE_SECURE"] = secure_cookies(settings)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.after_request(add_headers)
