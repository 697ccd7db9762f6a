"""Security headers on every response, the session cookie's flags, and a refusal to run
in production with a secret key someone could guess."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from flask import Flask, g, has_app_context
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

# Scripts come from this site only: no inline <script>, no on…= handlers, no eval (so no
# htmx hx-on). A page that cannot move a script to a file marks it
# `<script nonce="{{ csp_nonce() }}">`; the nonce is made per response and named in the
# policy only when a page asked for one. Styles may still be inline (style="…" attributes,
# htmx's indicator style). Nothing may frame the pages; forms post only here.
SCRIPT_SRC = "script-src 'self'"
POLICY = (
    "default-src 'self'",
    SCRIPT_SRC,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CSP = "; ".join(POLICY)
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


def csp_nonce() -> str:
    """This response's script nonce, for an inline <script> that cannot be a file."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def policy() -> str:
    """The Content-Security-Policy of this response: CSP, plus the nonce if one was used."""
    nonce = g.get("csp_nonce") if has_app_context() else None
    if not nonce:
        return CSP
    return CSP.replace(SCRIPT_SRC, f"{SCRIPT_SRC} 'nonce-{nonce}'", 1)


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # A view with a stricter policy of its own (downloads, the API reference) keeps it.
    response.headers.setdefault("Content-Security-Policy", policy())
    return response


def register(app: Flask, settings: Settings) -> None:
    """Check the secret, flag the session cookie, add the headers."""
    check_secret(settings, str(app.config["SECRET_KEY"]))
    app.config["SESSION_COOKIE_SECURE"] = secure_cookies(settings)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.after_request(add_headers)
    app.jinja_env.globals.update(csp_nonce=csp_nonce)
