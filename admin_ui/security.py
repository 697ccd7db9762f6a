"""Signing in with a session cookie, CSRF tokens on every form, and who may see a page.

The session is Flask's signed cookie: HttpOnly, SameSite=Lax, and Secure whenever the
request came over HTTPS (or SESSION_COOKIE_SECURE is set). It holds only the user name,
the CSRF token and the chosen language.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.wrappers import Response

from accounts import service as accounts
from accounts.errors import UserNotFound
from accounts.models import User
from engine.access import DESIGNERS
from engine.actor import Actor
from mail.text import sanitize_html

from .blueprint import bp

F = TypeVar("F", bound=Callable[..., Any])
USER_KEY = "ui_user"
CSRF_KEY = "ui_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PUBLIC_ENDPOINTS = {"ui.login", "ui.static", "ui.set_language"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class UiSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session whose cookie is Secure on every HTTPS request."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_app(app: Flask) -> None:
    """Configure the session cookie of the app."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Flask pre-sets the name to "session", so setdefault would never apply ours.
    if app.config.get("SESSION_COOKIE_NAME") in (None, "session"):
        app.config["SESSION_COOKIE_NAME"] = "crm_session"
    app.session_interface = UiSessionInterface()
    app.jinja_env.filters["rich"] = rich_text


def rich_text(value: str | None) -> Markup:
    """Stored rich text (mail bodies, comments, reports) sanitized again as it is shown:
    every write path sanitizes it, but a page must not depend on that (a restore, an old
    record, a procedure's operator writing straight to the database)."""
    return Markup(sanitize_html(value or ""))  # noqa: S704 - whitelist-sanitized just now


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return str(token)


def _csrf_valid() -> bool:
    expected = session.get(CSRF_KEY)
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return bool(expected) and hmac.compare_digest(str(expected), sent)


def sign_in(user: User) -> None:
    """Start a fresh session for the user (a new CSRF token too)."""
    lang = session.get("lang")
    session.clear()
    session[USER_KEY] = user.username
    session[CSRF_KEY] = secrets.token_urlsafe(32)
    if lang:
        session["lang"] = lang


def sign_out() -> None:
    """End the session, keeping only the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def current_user() -> User:
    """The signed-in user of this request."""
    return g.ui_user


def current_actor() -> Actor:
    """The engine's view of the signed-in user."""
    return accounts.actor_of(g.ui_user)


def is_designer(user: User | None = None) -> bool:
    """Admins and members of `designers` upload, deploy and control procedures."""
    user = user or g.ui_user
    return bool(user.is_admin or DESIGNERS in user.groups)


def designer_required(view: F) -> F:
    """Only designers and admins may open the view."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_designer():
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _login_redirect() -> Response:
    target = url_for("ui.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request"):
        response = Response(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.before_request
def _guard() -> Response | None:
    """Check the CSRF token of every unsafe request, then who is signed in."""
    if request.method in UNSAFE_METHODS and not _csrf_valid():
        abort(400, description="csrf")
    g.ui_user = None
    username = session.get(USER_KEY)
    if username:
        try:
            g.ui_user = accounts.get_user(username)
        except UserNotFound:
            sign_out()
    if g.ui_user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        return _login_redirect()
    return None
